package dev.erofspipeline.publish;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TEST DOUBLE, not a registry: a JDK {@link HttpServer} in front of the real docker-registry that
 * adds the one thing docker-registry 2.8 lacks, {@code GET /v2/<name>/referrers/<digest>} (OCI
 * distribution 1.1), answered from the manifests with a {@code subject} that were PUT through it
 * (and not DELETEd since). Every other request is forwarded unchanged (redirects and upload
 * {@code Location}s rewritten to point back at the double). No registry with the referrers API can
 * be run here (INFRA.md section 3).
 */
final class ReferrersApiTestDouble implements AutoCloseable {

  private static final Pattern REFERRERS = Pattern.compile("^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$");
  private static final Pattern MANIFEST = Pattern.compile("^/v2/(.+)/manifests/([^/]+)$");
  private static final Set<String> HOP = Set.of("host", "content-length", "connection", "expect", "upgrade",
      "transfer-encoding", "date", "keep-alive");

  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(4);
  private final String upstream;
  private final HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  /** repository -> manifest digest -> manifest JSON (only manifests with a subject). */
  private final Map<String, Map<String, JsonNode>> withSubject = new ConcurrentHashMap<>();
  final AtomicInteger referrersRequests = new AtomicInteger();

  ReferrersApiTestDouble(String upstreamHost) throws IOException {
    this.upstream = "http://" + upstreamHost;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange ex) throws IOException {
    try {
      String path = ex.getRequestURI().getRawPath();
      String query = ex.getRequestURI().getRawQuery();
      Matcher ref = REFERRERS.matcher(path);
      if (ex.getRequestMethod().equals("GET") && ref.matches()) {
        referrers(ex, ref.group(1), ref.group(2), query);
        return;
      }
      byte[] body = ex.getRequestBody().readAllBytes();
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(upstream + path + (query == null ? "" : "?" + query)));
      ex.getRequestHeaders().forEach((k, vs) -> {
        if (!HOP.contains(k.toLowerCase())) {
          vs.forEach(v -> b.header(k, v));
        }
      });
      String method = ex.getRequestMethod();
      b.method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
      HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      Matcher m = MANIFEST.matcher(path);
      if (m.matches() && method.equals("PUT") && r.statusCode() == 201) {
        JsonNode doc = Http.JSON.readTree(body);
        if (doc.has("subject")) {
          withSubject.computeIfAbsent(m.group(1), k -> new ConcurrentHashMap<>())
              .put(r.headers().firstValue("Docker-Content-Digest").orElseThrow(), doc);
        }
      } else if (m.matches() && method.equals("DELETE") && r.statusCode() == 202) {
        withSubject.getOrDefault(m.group(1), Map.of()).remove(m.group(2));
      }
      r.headers().map().forEach((k, vs) -> {
        if (!HOP.contains(k.toLowerCase())) {
          vs.forEach(v -> ex.getResponseHeaders().add(k, k.equalsIgnoreCase("location") ? v.replace(upstream, "http://" + host()) : v));
        }
      });
      byte[] out = r.body();
      if (method.equals("HEAD") || out.length == 0) {
        ex.sendResponseHeaders(r.statusCode(), -1);
      } else {
        ex.sendResponseHeaders(r.statusCode(), out.length);
        try (OutputStream o = ex.getResponseBody()) {
          o.write(out);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ex.sendResponseHeaders(500, -1);
    } finally {
      ex.close();
    }
  }

  private void referrers(HttpExchange ex, String repo, String subject, String query) throws IOException {
    referrersRequests.incrementAndGet();
    String filter = query != null && query.startsWith("artifactType=")
        ? java.net.URLDecoder.decode(query.substring("artifactType=".length()), java.nio.charset.StandardCharsets.UTF_8)
        : null;
    ObjectNode index = Http.JSON.createObjectNode();
    index.put("schemaVersion", 2);
    index.put("mediaType", "application/vnd.oci.image.index.v1+json");
    ArrayNode list = index.putArray("manifests");
    Map<String, JsonNode> sorted = new TreeMap<>(withSubject.getOrDefault(repo, Map.of()));
    for (Map.Entry<String, JsonNode> e : sorted.entrySet()) {
      JsonNode doc = e.getValue();
      if (!subject.equals(doc.path("subject").path("digest").asText())) {
        continue;
      }
      String at = doc.hasNonNull("artifactType") ? doc.get("artifactType").asText() : doc.path("config").path("mediaType").asText();
      if (filter != null && !filter.equals(at)) {
        continue;
      }
      ObjectNode d = list.addObject();
      d.put("mediaType", doc.path("mediaType").asText());
      d.put("digest", e.getKey());
      d.put("size", Http.JSON.writeValueAsBytes(doc).length); // informative only; the client re-reads by digest
      d.put("artifactType", at);
      if (doc.has("annotations")) {
        d.set("annotations", doc.get("annotations"));
      }
    }
    byte[] out = Http.JSON.writeValueAsBytes(index);
    ex.getResponseHeaders().add("Content-Type", "application/vnd.oci.image.index.v1+json");
    if (filter != null) {
      ex.getResponseHeaders().add("OCI-Filters-Applied", "artifactType");
    }
    ex.sendResponseHeaders(200, out.length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(out);
    }
  }

  /** Digests of the manifests the double would list for {@code subject}. */
  List<String> referrersOf(String repo, String subject) {
    return withSubject.getOrDefault(repo, Map.of()).entrySet().stream()
        .filter(e -> subject.equals(e.getValue().path("subject").path("digest").asText())).map(Map.Entry::getKey).sorted()
        .toList();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}

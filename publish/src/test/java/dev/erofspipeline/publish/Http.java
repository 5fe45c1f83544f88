package dev.erofspipeline.publish;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.TreeMap;

/** Plain HTTP GETs against a registry, independent of the product's client (the "curl-level" checks). */
final class Http {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
      + "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  private Http() {}

  record Response(int status, String contentType, byte[] body) {
    JsonNode json() throws IOException {
      return JSON.readTree(body);
    }
  }

  static Response get(String host, String path) throws IOException, InterruptedException {
    HttpResponse<byte[]> r = CLIENT.send(HttpRequest.newBuilder(URI.create("http://" + host + path)).header("Accept", ACCEPT)
        .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    return new Response(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body());
  }

  static Response manifest(String host, String repo, String ref) throws IOException, InterruptedException {
    return get(host, "/v2/" + repo + "/manifests/" + ref);
  }

  static byte[] blob(String host, String repo, String digest) throws IOException, InterruptedException {
    Response r = get(host, "/v2/" + repo + "/blobs/" + digest);
    if (r.status() != 200) {
      throw new IOException("GET blob " + digest + ": " + r.status());
    }
    return r.body();
  }

  /** Every tag of the repository with its manifest bytes, plus every manifest those name as referrers. */
  static Map<String, String> snapshot(String host, String repo) throws IOException, InterruptedException {
    Map<String, String> out = new TreeMap<>();
    for (JsonNode t : get(host, "/v2/" + repo + "/tags/list").json().path("tags")) {
      Response m = manifest(host, repo, t.asText());
      out.put("tag " + t.asText(), new String(m.body(), java.nio.charset.StandardCharsets.UTF_8));
      if (t.asText().startsWith("sha256-")) {
        for (JsonNode e : m.json().path("manifests")) {
          String d = e.path("digest").asText();
          out.put("manifest " + d, new String(manifest(host, repo, d).body(), java.nio.charset.StandardCharsets.UTF_8));
        }
      }
    }
    return out;
  }
}

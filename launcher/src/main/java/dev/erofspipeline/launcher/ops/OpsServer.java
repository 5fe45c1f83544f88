package dev.erofspipeline.launcher.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.erofspipeline.launcher.status.StatusTopic;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.RecordValidator;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations endpoint of every role (JDK HTTP server): {@code GET /metrics} (Prometheus text
 * format), {@code GET /health/live} (200 while the process serves HTTP) and {@code GET
 * /health/ready} (200 when the role's services started and Kafka answers, else 503), both JSON;
 * with {@link #withStatus} also {@code GET /status} (every image's latest {@link ImageStatus}, a
 * JSON array) and {@code GET /status/<subject digest>} (one record, 404 when unknown).
 */
public final class OpsServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OpsServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  /** What {@code /health/ready} reports. */
  public record Readiness(boolean started, boolean kafka, String detail) {
    public boolean ready() {
      return started && kafka;
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;

  /**
   * @param beforeScrape run before each scrape (e.g. {@link ConsumerLag#refresh()})
   * @param readiness asked on each {@code /health/ready}
   * @param failure asked on each {@code /health/live} and {@code /health/ready}: why the role can no
   *     longer do its work (a stage died while running), so that the orchestrator restarts it
   */
  public OpsServer(InetSocketAddress bind, String role, PrometheusMeterRegistry meters, Runnable beforeScrape,
      Supplier<Readiness> readiness, Supplier<Optional<String>> failure) throws IOException {
    server = HttpServer.create(bind, 16);
    executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "ops-http");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/metrics", ex -> handle(ex, () -> {
      beforeScrape.run();
      send(ex, 200, PROMETHEUS_TEXT, meters.scrape().getBytes(StandardCharsets.UTF_8));
    }));
    server.createContext("/health/live", ex -> handle(ex, () -> {
      Optional<String> failed = failure.get();
      ObjectNode n = JSON.createObjectNode().put("status", failed.isEmpty() ? "UP" : "DOWN").put("role", role);
      failed.ifPresent(f -> n.put("detail", f));
      send(ex, failed.isEmpty() ? 200 : 503, "application/json", JSON.writeValueAsBytes(n));
    }));
    server.createContext("/health/ready", ex -> handle(ex, () -> {
      Readiness r = readiness.get();
      Optional<String> failed = failure.get();
      boolean up = r.ready() && failed.isEmpty();
      ObjectNode n = JSON.createObjectNode()
          .put("status", up ? "UP" : "DOWN")
          .put("role", role)
          .put("services", failed.isPresent() ? "failed" : r.started() ? "started" : "not started")
          .put("kafka", r.kafka() ? "reachable" : "unreachable");
      String detail = failed.orElse(r.detail());
      if (detail != null) {
        n.put("detail", detail);
      }
      send(ex, up ? 200 : 503, "application/json", JSON.writeValueAsBytes(n));
    }));
    server.createContext("/", ex -> handle(ex, () -> {
      ObjectNode n = JSON.createObjectNode().put("error", "not found: " + ex.getRequestURI().getPath());
      send(ex, 404, "application/json", JSON.writeValueAsBytes(n));
    }));
  }

  /** A {@code GET}/{@code HEAD}-only handler; a failing body is a 500 with the reason, logged. */
  private interface Body {
    void run() throws IOException;
  }

  private static void handle(HttpExchange ex, Body body) {
    try (ex) {
      String m = ex.getRequestMethod();
      if (!m.equals("GET") && !m.equals("HEAD")) {
        ex.getResponseHeaders().set("Allow", "GET, HEAD");
        send(ex, 405, "application/json", "{\"error\":\"method not allowed\"}".getBytes(StandardCharsets.UTF_8));
        return;
      }
      body.run();
    } catch (Exception e) {
      LOG.warn("ops endpoint {} failed: {}", ex.getRequestURI(), e.toString());
      try {
        send(ex, 500, "application/json", JSON.writeValueAsBytes(JSON.createObjectNode().put("error", e.toString())));
      } catch (IOException ignored) {
        // the client is gone
      }
    }
  }

  private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", contentType);
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = ex.getRequestMethod().equals("HEAD");
    ex.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** Serves {@code /status} and {@code /status/<subject digest>} from {@code view}. */
  public OpsServer withStatus(StatusTopic view) {
    ObjectMapper records = RecordValidator.objectMapper();
    server.createContext("/status", ex -> handle(ex, () -> {
      String path = ex.getRequestURI().getPath();
      String rest = path.length() > "/status".length() ? path.substring("/status".length()) : "";
      if (rest.isEmpty() || rest.equals("/")) {
        Map<String, ImageStatus> all = view.view();
        send(ex, 200, "application/json", records.writeValueAsBytes(all.values()));
        return;
      }
      String digest = rest.substring(1);
      ImageStatus s = rest.startsWith("/") && !digest.contains("/") ? view.get(digest) : null;
      if (s == null) {
        ObjectNode n = JSON.createObjectNode().put("error", "no status for " + digest);
        send(ex, 404, "application/json", JSON.writeValueAsBytes(n));
        return;
      }
      send(ex, 200, "application/json", records.writeValueAsBytes(s));
    }));
    return this;
  }

  public OpsServer start() {
    server.start();
    LOG.info("metrics and health on http://{}:{}/", server.getAddress().getHostString(), port());
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  /** A readiness check that is always the same (tests, roles without Kafka). */
  public static Supplier<Readiness> fixed(BooleanSupplier started, BooleanSupplier kafka) {
    return () -> new Readiness(started.getAsBoolean(), kafka.getAsBoolean(), null);
  }
}

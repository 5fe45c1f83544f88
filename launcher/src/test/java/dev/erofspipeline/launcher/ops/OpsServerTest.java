package dev.erofspipeline.launcher.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class OpsServerTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<String> send(int port, String method, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readinessFollowsTheServicesAndKafkaLivenessAFailedStageAndMetricsAreScrapedAfterTheHook() throws Exception {
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Counter.builder("erofs.test.things").register(meters).increment(3);
    AtomicBoolean started = new AtomicBoolean();
    AtomicBoolean kafka = new AtomicBoolean(true);
    AtomicInteger scrapes = new AtomicInteger();
    AtomicReference<Optional<String>> failure = new AtomicReference<>(Optional.empty());
    try (OpsServer ops = new OpsServer(new InetSocketAddress("127.0.0.1", 0), "worker", meters,
        scrapes::incrementAndGet, OpsServer.fixed(started::get, kafka::get), failure::get).start()) {
      int port = ops.port();
      HttpResponse<String> notReady = send(port, "GET", "/health/ready");
      assertEquals(503, notReady.statusCode());
      assertEquals("application/json", notReady.headers().firstValue("Content-Type").orElse(""));
      assertTrue(notReady.body().contains("\"status\":\"DOWN\"") && notReady.body().contains("\"services\":\"not started\""),
          notReady.body());
      started.set(true);
      assertEquals(200, send(port, "GET", "/health/ready").statusCode());
      kafka.set(false);
      HttpResponse<String> noKafka = send(port, "GET", "/health/ready");
      assertEquals(503, noKafka.statusCode());
      assertTrue(noKafka.body().contains("\"kafka\":\"unreachable\""), noKafka.body());
      assertEquals(200, send(port, "GET", "/health/live").statusCode());
      kafka.set(true);
      failure.set(Optional.of("the layer-jobs consumer failed: java.lang.IllegalStateException: x"));
      HttpResponse<String> dead = send(port, "GET", "/health/live");
      assertEquals(503, dead.statusCode(), "a stage that died while running asks for a restart");
      assertTrue(dead.body().contains("layer-jobs consumer failed"), dead.body());
      HttpResponse<String> failedReady = send(port, "GET", "/health/ready");
      assertEquals(503, failedReady.statusCode());
      assertTrue(failedReady.body().contains("\"services\":\"failed\""), failedReady.body());

      HttpResponse<String> metrics = send(port, "GET", "/metrics");
      assertEquals(200, metrics.statusCode());
      assertTrue(metrics.body().contains("erofs_test_things_total 3.0"), metrics.body());
      assertEquals(1, scrapes.get());
      assertEquals(405, send(port, "POST", "/metrics").statusCode());
      assertEquals(404, send(port, "GET", "/status").statusCode());
    }
  }
}

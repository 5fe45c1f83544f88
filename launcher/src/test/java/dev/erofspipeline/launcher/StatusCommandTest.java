package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.launcher.service.RoleServices;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.ImageStatus.Layer;
import dev.erofspipeline.schemas.ImageStatus.LayerState;
import dev.erofspipeline.schemas.ImageStatus.State;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code status} and the ops server's {@code /status} against a real broker (KRaft). */
class StatusCommandTest {
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final S3Fixture S3 = S3Fixture.create();

  @TempDir static Path dir;

  private static final RecordValidator V = RecordValidator.defaults();
  private static final ObjectMapper JSON = RecordValidator.objectMapper();
  private static final String PREFIX = "s" + UUID.randomUUID().toString().substring(0, 8) + ".";
  private static final String APP = "sha256:" + "a1".repeat(32);
  private static final String TOOL = "sha256:" + "b2".repeat(32);
  private static final String BROKEN = "sha256:" + "c3".repeat(32);
  private static final String LAYER = "sha256:" + "d4".repeat(32);
  private static Path config;

  private static ImageStatus status(String digest, String repo, String ref, State state, int done, String reason,
      LayerState layer, Instant at) {
    return new ImageStatus(digest, "registry.example:5000", repo, ref, "linux/amd64", state, 3, done, reason, null,
        List.of(new Layer(LAYER, layer, null)), List.of(), null, null, at);
  }

  @BeforeAll
  static void produceStatus() throws Exception {
    Topics topics = Topics.withPrefix(PREFIX);
    KAFKA.createTopic(topics.status(), 2);
    Instant t = Instant.parse("2026-01-02T03:04:05Z");
    List<ImageStatus> records = List.of(
        status(APP, "team/app", "registry.example:5000/team/app:1.0", State.CONVERTING, 1, null, LayerState.CONVERTING, t),
        status(TOOL, "other/tool", null, State.QUEUED, 0, null, LayerState.QUEUED, t),
        status(BROKEN, "team/broken", "registry.example:5000/team/broken:2", State.FAILED, 0,
            "layer sha256:d4d4 is not a tar archive", LayerState.FAILED, t),
        status(APP, "team/app", "registry.example:5000/team/app:1.0", State.PUBLISHED, 3, null, LayerState.PUBLISHED,
            t.plusSeconds(60)));
    try (KafkaProducer<byte[], byte[]> p = KAFKA.bytesProducer()) {
      for (ImageStatus s : records) {
        p.send(new ProducerRecord<>(topics.status(), s.key().getBytes(StandardCharsets.UTF_8), V.write(s)))
            .get(10, TimeUnit.SECONDS);
      }
    }
    config = FixtureConfig.write(dir, PREFIX, KAFKA, S3, List.of(
        "kafka.topicPartitions=2",
        "registry.allowlist=registry.example:5000",
        "worker.concurrency=1",
        "worker.shutdownGraceSeconds=5",
        "http.bind=127.0.0.1",
        "metrics.lagIntervalSeconds=0"));
  }

  @Test
  void statusPrintsTheLatestStateOfEveryImage() {
    CommandRun r = run("status", "--all", "--config", config.toString());
    assertEquals(0, r.exitCode(), r.err());
    List<String> lines = r.out().lines().toList();
    assertEquals(3, lines.size(), r.out());
    String app = lines.stream().filter(l -> l.contains("team/app:1.0")).findFirst().orElseThrow();
    assertTrue(app.contains("linux/amd64") && app.contains("sha256:a1a1a1a1a1a1 ") && app.endsWith("published"), app);
    assertFalse(r.out().contains("converting"), r.out());
    String tool = lines.stream().filter(l -> l.contains("registry.example:5000/other/tool")).findFirst().orElseThrow();
    assertTrue(tool.endsWith("queued"), tool);
    String broken = lines.stream().filter(l -> l.contains("team/broken:2")).findFirst().orElseThrow();
    assertTrue(broken.endsWith("failed: layer sha256:d4d4 is not a tar archive"), broken);
  }

  @Test
  void statusFiltersByReferenceOrDigestAndPrintsJson() throws Exception {
    CommandRun one = run("status", "registry.example:5000/team/app:1.0", "--config", config.toString());
    assertEquals(0, one.exitCode(), one.err());
    assertEquals(1, one.out().lines().count(), one.out());
    assertTrue(one.out().contains("published"), one.out());

    CommandRun byDigest = run("status", BROKEN.substring(0, 20), "--json", "--config", config.toString());
    assertEquals(0, byDigest.exitCode(), byDigest.err());
    List<ImageStatus> failed = parse(JSON.readTree(byDigest.out()));
    assertEquals(1, failed.size(), byDigest.out());
    assertEquals(State.FAILED, failed.get(0).state());
    assertEquals("layer sha256:d4d4 is not a tar archive", failed.get(0).reason());

    CommandRun all = run("status", "--json", "--config", config.toString());
    assertEquals(0, all.exitCode(), all.err());
    List<ImageStatus> records = parse(JSON.readTree(all.out()));
    assertEquals(3, records.size());
    ImageStatus app = records.stream().filter(s -> s.subjectDigest().equals(APP)).findFirst().orElseThrow();
    assertEquals(State.PUBLISHED, app.state());
    assertEquals(3, app.layersDone());
    assertEquals(Instant.parse("2026-01-02T03:05:05Z"), app.updatedAt());

    CommandRun none = run("status", "registry.example:5000/nothing:1", "--config", config.toString());
    assertEquals(0, none.exitCode(), none.err());
    assertTrue(none.out().startsWith("no image matches"), none.out());
  }

  @Test
  void statusFailsWithOneLineWithoutKafkaSettingsOrTopic() {
    CommandRun noBootstrap = run("status", "--all");
    assertEquals(1, noBootstrap.exitCode());
    assertTrue(noBootstrap.err().startsWith("erofs-pipeline: kafka.bootstrap is empty"), noBootstrap.err());
    assertEquals(1, noBootstrap.err().lines().count(), noBootstrap.err());

    CommandRun both = run("status", "x", "--all", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers());
    assertEquals(1, both.exitCode());
    assertTrue(both.err().contains("either REF or --all"), both.err());

    String other = "none" + UUID.randomUUID().toString().substring(0, 8) + ".";
    CommandRun noTopic = run("status", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers(),
        "--set", "kafka.topicPrefix=" + other);
    assertEquals(1, noTopic.exitCode(), noTopic.out());
    assertEquals(1, noTopic.err().lines().count(), noTopic.err());
    assertTrue(noTopic.err().contains("has no topic " + other + "erofs.status"), noTopic.err());
    assertTrue(KAFKA.admin().listTopics().names().toCompletionStage().toCompletableFuture().join().stream()
        .noneMatch(t -> t.startsWith(other)), "reading created the topic");
  }

  private static List<ImageStatus> parse(JsonNode array) {
    assertTrue(array.isArray(), array.toString());
    List<ImageStatus> out = new ArrayList<>();
    array.forEach(n -> out.add(V.read(ImageStatus.class, n)));
    return out;
  }

  @Test
  void runServesStatusNextToTheMetrics() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CompletableFuture<RoleServices> started = new CompletableFuture<>();
    RunCommand.onStarted = started::complete;
    CompletableFuture<CommandRun> running = CompletableFuture.supplyAsync(() ->
        run("run", "--role", "worker", "--config", config.toString(), "--set", "http.port=" + port));
    RoleServices services;
    try {
      CompletableFuture.anyOf(started, running).get(60, TimeUnit.SECONDS);
      if (!started.isDone()) {
        throw new AssertionError("run ended without starting: " + running.get());
      }
      services = started.get();
    } finally {
      RunCommand.onStarted = s -> { };
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try {
      List<ImageStatus> all = List.of();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (all.size() < 3 && System.nanoTime() < end) {
        HttpResponse<String> r = get(http, port, "/status");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        all = parse(JSON.readTree(r.body()));
        if (all.size() < 3) {
          Thread.sleep(200);
        }
      }
      assertEquals(3, all.size());
      HttpResponse<String> one = get(http, port, "/status/" + APP);
      assertEquals(200, one.statusCode(), one.body());
      ImageStatus app = V.read(ImageStatus.class, one.body());
      assertEquals(State.PUBLISHED, app.state());
      assertEquals(404, get(http, port, "/status/sha256:" + "e5".repeat(32)).statusCode());
    } finally {
      services.close();
    }
    CommandRun r = running.get(30, TimeUnit.SECONDS);
    assertEquals(0, r.exitCode(), r.err());
  }

  private static HttpResponse<String> get(HttpClient http, int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }
}

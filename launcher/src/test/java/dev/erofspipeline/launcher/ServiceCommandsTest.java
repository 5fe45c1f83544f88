package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.launcher.service.RoleServices;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import dev.erofspipeline.testkit.TarLayer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run}, {@code submit} and {@code backfill} in-process against a real broker (KRaft), S3
 * (S3Proxy) and registry (docker-registry seeded with skopeo).
 */
class ServiceCommandsTest {
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final S3Fixture S3 = S3Fixture.create();
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.create();

  @TempDir static Path dir;

  private static final RecordValidator V = RecordValidator.defaults();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static OciLayoutBuilder.Image image;

  @BeforeAll
  static void seedRegistry() {
    TarLayer base = TarLayer.builder().dir("etc").file("etc/os-release", "ID=launcher-test\n")
        .randomFile("usr/lib/lib.so", 200_000, 7).build();
    TarLayer app = TarLayer.builder().dir("app").file("app/run.sh", "#!/bin/sh\necho hi\n").build();
    OciLayoutBuilder b = new OciLayoutBuilder(dir.resolve("layout"));
    image = b.addImage("one", ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(app, Compression.GZIP));
    REGISTRY.seed(dir.resolve("layout"), "one", "team/app:1.0");
    REGISTRY.seed(dir.resolve("layout"), "one", "team/app:1.1");
    REGISTRY.seed(dir.resolve("layout"), "one", "team/app:dev");
    REGISTRY.seed(dir.resolve("layout"), "one", "other/tool:2");
    REGISTRY.seed(dir.resolve("layout"), "one", "pub/app:1"); // published by the role-all test
  }

  private static String prefix() {
    return "t" + UUID.randomUUID().toString().substring(0, 8) + ".";
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A configuration file for the fixtures, as an operator would write it. */
  private static Path configFile(String prefix, int httpPort) throws Exception {
    return FixtureConfig.write(dir, prefix, KAFKA, S3, List.of(
        "kafka.topicPartitions=2",
        "registry.insecure=" + REGISTRY.host(),
        "registry.allowlist=" + REGISTRY.host(),
        "worker.concurrency=1",
        "worker.shutdownGraceSeconds=5",
        "http.port=" + httpPort,
        "http.bind=127.0.0.1",
        "metrics.lagIntervalSeconds=0"));
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void await(String what, Duration timeout, Supplier<Boolean> condition) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (!condition.get()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(100);
    }
  }

  @Test
  void runRoleWorkerConvertsAJobAndServesMetricsHealthAndLag() throws Exception {
    String prefix = prefix();
    Topics topics = Topics.withPrefix(prefix);
    int port = freePort();
    Path config = configFile(prefix, port);

    CompletableFuture<RoleServices> started = new CompletableFuture<>();
    RunCommand.onStarted = started::complete;
    CompletableFuture<CommandRun> running =
        CompletableFuture.supplyAsync(() -> run("run", "--role", "worker", "--config", config.toString()));
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
    try {
      assertEquals(port, services.httpPort());
      HttpResponse<String> live = get(port, "/health/live");
      assertEquals(200, live.statusCode());
      assertTrue(live.body().contains("\"status\":\"UP\""), live.body());
      await("ready", Duration.ofSeconds(20), () -> {
        try {
          return get(port, "/health/ready").statusCode() == 200;
        } catch (Exception e) {
          return false;
        }
      });
      assertTrue(get(port, "/health/ready").body().contains("\"kafka\":\"reachable\""));

      // the topics were created: two partitions, status compacted
      Map<String, org.apache.kafka.clients.admin.TopicDescription> described =
          KAFKA.admin().describeTopics(topics.all()).allTopicNames().get(10, TimeUnit.SECONDS);
      assertEquals(Topics.ALL.size(), described.size());
      assertEquals(2, described.get(topics.layerJobs()).partitions().size());
      ConfigResource status = new ConfigResource(ConfigResource.Type.TOPIC, topics.status());
      ConfigEntry policy = KAFKA.admin().describeConfigs(List.of(status)).all().get(10, TimeUnit.SECONDS)
          .get(status).get("cleanup.policy");
      assertEquals("compact", policy.value());

      // one layer job, converted by the worker
      OciLayoutBuilder.Layer layer = image.layers().get(0);
      LayerJob job = new LayerJob(REGISTRY.host(), "team/app",
          new LayerJob.Descriptor(layer.digest(), layer.descriptor().size(), layer.descriptor().mediaType()),
          layer.diffId(), ConversionProfile.TAR_INDEX,
          List.of(new LayerJob.Subject("team/app", image.digest(), "linux/amd64")), null, false, "launcher-test-1");
      try (KafkaProducer<byte[], byte[]> p = KAFKA.bytesProducer()) {
        p.send(new ProducerRecord<>(topics.layerJobs(), job.key().getBytes(StandardCharsets.UTF_8), V.write(job)))
            .get(10, TimeUnit.SECONDS);
      }
      try (KafkaConsumer<byte[], byte[]> c = KAFKA.bytesConsumer("check-" + prefix)) {
        c.subscribe(List.of(topics.layerResults()));
        List<ConsumerRecord<byte[], byte[]>> results = KafkaFixture.poll(c, 1, Duration.ofSeconds(60));
        assertEquals(1, results.size());
        LayerResult r = V.read(LayerResult.class, results.get(0).value());
        assertEquals(layer.digest(), r.result().layerDigest());
      }

      // metrics: the worker's counter and the lag of its group (0 once the job is committed)
      String group = prefix + RoleServices.WORKER_GROUP;
      await("lag 0 after the commit", Duration.ofSeconds(20), () -> {
        try {
          String m = get(port, "/metrics").body();
          return m.contains("erofs_worker_jobs_completed_total 1.0")
              && lagLines(m, group, topics.layerJobs()).size() == 2
              && lagLines(m, group, topics.layerJobs()).stream().allMatch(l -> l.endsWith(" 0.0"));
        } catch (Exception e) {
          return false;
        }
      });
      HttpResponse<String> metrics = get(port, "/metrics");
      assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
      assertTrue(metrics.body().contains("# TYPE erofs_kafka_consumer_lag gauge"), metrics.body());
      assertTrue(metrics.body().contains("jvm_memory_used_bytes"));
      assertEquals(404, get(port, "/nope").statusCode());
    } finally {
      services.close();
    }
    CommandRun r = running.get(30, TimeUnit.SECONDS);
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.err().contains("role worker running"), r.err());
  }

  @Test
  void runRoleAllConvertsAndPublishesASubmittedImageThatVerifies() throws Exception {
    String prefix = prefix();
    Topics topics = Topics.withPrefix(prefix);
    Path config = configFile(prefix, 0);
    TestSigningKeys keys = TestSigningKeys.create(Files.createDirectories(dir.resolve(prefix + "pki")));
    Path hookSecret = Files.writeString(dir.resolve(prefix + "hook-secret"), "a-webhook-secret-of-some-length\n");
    int hookPort = freePort();
    Files.writeString(config, "signing.keyFile=" + keys.key() + "\nsigning.certFile=" + keys.chain()
        + "\npublish.retrySeconds=2\ningest.webhookPort=" + hookPort + "\ningest.webhookSecretFile=" + hookSecret + "\n",
        java.nio.file.StandardOpenOption.APPEND);

    CompletableFuture<RoleServices> started = new CompletableFuture<>();
    RunCommand.onStarted = started::complete;
    CompletableFuture<CommandRun> running =
        CompletableFuture.supplyAsync(() -> run("run", "--role", "all", "--config", config.toString()));
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
    String ref = REGISTRY.host() + "/pub/app:1";
    try {
      // the webhook endpoint is up and wants the secret
      HttpResponse<String> hook = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hookPort + "/webhooks/distribution"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"events\":[]}")).header("Content-Type", "application/json").build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(401, hook.statusCode(), hook.body());
      CommandRun submitted = run("submit", "--config", config.toString(), ref);
      assertEquals(0, submitted.exitCode(), submitted.err());
      try (KafkaConsumer<String, byte[]> c = KAFKA.consumer("check-" + prefix,
          new org.apache.kafka.common.serialization.StringDeserializer(),
          new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
        c.subscribe(List.of(topics.status()));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        ImageStatus last = null;
        while (System.nanoTime() < end && (last == null || last.state() != ImageStatus.State.PUBLISHED)) {
          for (ConsumerRecord<String, byte[]> rec : c.poll(Duration.ofMillis(500))) {
            last = V.read(ImageStatus.class, rec.value());
            assertTrue(last.state() != ImageStatus.State.FAILED, "failed: " + last.reason());
          }
        }
        if (last == null || last.state() != ImageStatus.State.PUBLISHED) {
          throw new AssertionError("not published; last status " + last + "; dead letters: " + deadLetters(topics));
        }
        assertEquals(image.digest(), last.subjectDigest());
        assertEquals(2, last.layersDone());
      }
    } finally {
      services.close();
    }
    assertEquals(0, running.get(30, TimeUnit.SECONDS).exitCode());
    CommandRun verified = run("verify", ref, "--ca", keys.ca().toString(), "--insecure-registry", REGISTRY.host());
    assertEquals(0, verified.exitCode(), verified.out() + verified.err());
  }

  @Test
  void runRoleAllWithoutKafkaOrS3StartsTheEmbeddedOnes() throws Exception {
    String prefix = prefix();
    TestSigningKeys keys = TestSigningKeys.create(Files.createDirectories(dir.resolve(prefix + "pki")));
    int port = freePort();
    CompletableFuture<RoleServices> started = new CompletableFuture<>();
    RunCommand.onStarted = started::complete;
    CompletableFuture<CommandRun> running = CompletableFuture.supplyAsync(() -> run("run", "--role", "all",
        "--set", "kafka.dataDir=" + dir.resolve(prefix + "kafka"), "--set", "s3.dataDir=" + dir.resolve(prefix + "s3"),
        "--signing-key", keys.key().toString(), "--signing-cert", keys.chain().toString(), "--profile", "layer",
        "--set", "http.bind=127.0.0.1", "--set", "http.port=" + port, "--set", "worker.concurrency=1",
        "--set", "registry.allowlist=*"));
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
    try {
      assertTrue(!services.bootstrapServers().equals(KAFKA.bootstrapServers()));
      await("ready", Duration.ofSeconds(20), () -> {
        try {
          return get(port, "/health/ready").statusCode() == 200;
        } catch (Exception e) {
          return false;
        }
      });
      assertTrue(Files.isDirectory(dir.resolve(prefix + "s3").resolve("erofs-pipeline")), "bucket directory");
      String metrics = get(port, "/metrics").body();
      assertTrue(metrics.contains("erofs_publish_waiting_images 0.0"), "the publisher's index of waiting images, empty");
    } finally {
      services.close();
    }
    assertEquals(0, running.get(30, TimeUnit.SECONDS).exitCode());
  }

  /** What the stages gave up on, for a failure message. */
  private static List<String> deadLetters(Topics topics) {
    try (KafkaConsumer<String, String> c = KAFKA.stringConsumer("dead-" + UUID.randomUUID())) {
      c.subscribe(List.of(topics.deadLetters()));
      return KafkaFixture.poll(c, 100, Duration.ofSeconds(3)).stream().map(ConsumerRecord::value).toList();
    }
  }

  private static List<String> lagLines(String metrics, String group, String topic) {
    return metrics.lines()
        .filter(l -> l.startsWith("erofs_kafka_consumer_lag{") && l.contains("group=\"" + group + "\"")
            && l.contains("topic=\"" + topic + "\""))
        .collect(Collectors.toList());
  }

  @Test
  void lagCountsRecordsNoConsumerHasCommitted() throws Exception {
    String prefix = prefix();
    Topics topics = Topics.withPrefix(prefix);
    KAFKA.createTopic(topics.layerJobs(), 1);
    try (KafkaProducer<String, String> p = KAFKA.stringProducer()) {
      for (int i = 0; i < 3; i++) {
        p.send(new ProducerRecord<>(topics.layerJobs(), "k", "v" + i)).get(10, TimeUnit.SECONDS);
      }
    }
    io.micrometer.core.instrument.simple.SimpleMeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    var lag = new dev.erofspipeline.launcher.ops.ConsumerLag(KAFKA.admin(),
        List.of(new dev.erofspipeline.launcher.ops.ConsumerLag.Subscription("g-" + prefix, topics.layerJobs())),
        meters, Duration.ZERO);
    lag.refresh();
    assertEquals(3, lag.lag("g-" + prefix, topics.layerJobs(), 0));
    assertEquals(3.0, meters.get("erofs.kafka.consumer.lag").tag("topic", topics.layerJobs()).gauge().value());
  }

  @Test
  void submitQueuesValidImageRequests() throws Exception {
    String prefix = prefix();
    Topics topics = Topics.withPrefix(prefix);
    KAFKA.createTopic(topics.imageRequests(), 1);
    String ref = REGISTRY.host() + "/team/app:1.0";
    CommandRun r = run("submit", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers(), "--set", "kafka.topicPrefix=" + prefix,
        "--force", "--platform", "linux/amd64", ref, "oci:/tmp/layout:v1");
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(2, r.out().lines().count(), r.out());
    assertTrue(r.out().startsWith("queued " + ref + " correlationId=submit-"), r.out());
    try (KafkaConsumer<String, byte[]> c = KAFKA.consumer("check-" + prefix,
        new org.apache.kafka.common.serialization.StringDeserializer(),
        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      c.subscribe(List.of(topics.imageRequests()));
      List<ConsumerRecord<String, byte[]>> records = KafkaFixture.poll(c, 2, Duration.ofSeconds(20));
      assertEquals(2, records.size());
      ImageRequest req = V.read(ImageRequest.class, records.get(0).value());
      assertEquals(ref, req.reference());
      assertEquals(ref, records.get(0).key());
      assertTrue(req.force());
      assertEquals(List.of("linux/amd64"), req.platforms());
      assertNotNull(req.submittedAt());
      assertEquals("oci:/tmp/layout:v1", V.read(ImageRequest.class, records.get(1).value()).reference());
    }
  }

  @Test
  void submitRefusesABadReferenceBeforeQueueingAnything() {
    CommandRun r = run("submit", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers(), "registry.example/Bad Repo:1");
    assertEquals(1, r.exitCode());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().startsWith("erofs-pipeline: "), r.err());
  }

  @Test
  void backfillQueuesEveryMatchingTagAndResumesFromItsCheckpoint() throws Exception {
    String prefix = prefix();
    Topics topics = Topics.withPrefix(prefix);
    KAFKA.createTopic(topics.imageRequests(), 1);
    Path checkpoint = dir.resolve(prefix + "checkpoint.json");
    String[] args = {"backfill", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers(),
        "--set", "kafka.topicPrefix=" + prefix, "--insecure-registry", REGISTRY.host(),
        "--registry", REGISTRY.host(), "--repo", "team/*", "--tag", "1.*", "--rate", "50/s",
        "--checkpoint", checkpoint.toString()};
    BackfillCommand.terminal = false;
    CommandRun r;
    try {
      r = run(args);
    } finally {
      BackfillCommand.terminal = null;
    }
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().contains("1/1 repos"), r.out());
    assertTrue(r.out().strip().endsWith("1/1 repositories, 3 tags, 2 requests queued"), r.out());
    assertTrue(Files.exists(checkpoint));
    try (KafkaConsumer<String, byte[]> c = KAFKA.consumer("check-" + prefix,
        new org.apache.kafka.common.serialization.StringDeserializer(),
        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      c.subscribe(List.of(topics.imageRequests()));
      List<ConsumerRecord<String, byte[]>> records = KafkaFixture.poll(c, 2, Duration.ofSeconds(20));
      assertEquals(
          List.of(REGISTRY.host() + "/team/app:1.0", REGISTRY.host() + "/team/app:1.1"),
          records.stream().map(x -> V.read(ImageRequest.class, x.value()).reference()).toList());
    }
    // again with the checkpoint: the finished repository is skipped
    CommandRun again = run(args);
    assertEquals(0, again.exitCode(), again.err());
    assertTrue(again.out().contains("(1 from the checkpoint), 0 tags, 0 requests queued"), again.out());
  }

  @Test
  void aBadConfigurationValueFailsWithOneLineNamingTheKey() throws Exception {
    Path file = Files.writeString(dir.resolve("bad.properties"),
        "kafka.bootstrap=" + KAFKA.bootstrapServers() + "\nworker.concurrency=lots\n");
    CommandRun r = run("run", "--role", "worker", "--config", file.toString());
    assertEquals(1, r.exitCode());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().startsWith("erofs-pipeline: worker.concurrency must be an integer, got 'lots'"), r.err());

    CommandRun noKafka = run("run", "--role", "ingest", "--set", "http.port=0", "--set", "registry.allowlist=*");
    assertEquals(1, noKafka.exitCode());
    assertTrue(noKafka.err().startsWith("erofs-pipeline: kafka.bootstrap is empty"), noKafka.err());

    CommandRun typo = run("run", "--role", "worker", "--set", "worker.concurency=2");
    assertEquals(1, typo.exitCode());
    assertTrue(typo.err().contains("unknown configuration key 'worker.concurency'"), typo.err());

    CommandRun role = run("run", "--role", "everything");
    assertEquals(1, role.exitCode());
    assertTrue(role.err().startsWith("erofs-pipeline: --role must be ingest, worker, publish or all"), role.err());

    CommandRun publish = run("run", "--role", "publish", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers());
    assertEquals(1, publish.exitCode());
    assertTrue(publish.err().startsWith("erofs-pipeline: signing.keyFile is empty"), publish.err());

    CommandRun profile = run("run", "--role", "publish", "--profile", "bundle");
    assertEquals(1, profile.exitCode());
    assertTrue(profile.err().startsWith("erofs-pipeline: profile: unknown profile 'bundle'"), profile.err());

    CommandRun secret = run("run", "--role", "ingest", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers(),
        "--set", "s3.endpoint=" + S3.endpoint(), "--set", "ingest.webhookPort=8089", "--set", "http.port=0");
    assertEquals(1, secret.exitCode());
    assertTrue(secret.err().startsWith("erofs-pipeline: ingest.webhookSecretFile is empty"), secret.err());

    CommandRun open = run("run", "--role", "worker", "--set", "kafka.bootstrap=" + KAFKA.bootstrapServers(),
        "--set", "s3.endpoint=" + S3.endpoint(), "--set", "http.port=0");
    assertEquals(1, open.exitCode());
    assertTrue(open.err().startsWith("erofs-pipeline: registry.allowlist is empty"), open.err());
  }
}

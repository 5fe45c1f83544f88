package dev.erofspipeline.convert.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.NativeConversionResult;
import dev.erofspipeline.convert.NativeLayerConverter;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.ResultDocument;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.FaultInjectingProxy;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.OciLayoutBuilder.Layer;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import dev.erofspipeline.testkit.TarLayer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker end to end against a real broker (KRaft in-process), a real S3 server (S3Proxy) and a
 * real registry (Debian's docker-registry, seeded with skopeo).
 */
class ConvertWorkerTest {
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final S3Fixture S3 = S3Fixture.create();
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.create();

  @TempDir static Path layoutDir;

  private static final RecordValidator V = RecordValidator.defaults();
  private static final ConversionProfile PROFILE = ConversionProfile.TAR_INDEX;

  private static final String GROUP = "erofs-worker";

  private static OciLayoutBuilder.Image imageA;
  private static OciLayoutBuilder.Image imageB;
  /** Six small gzip layers of their own (distinct keys), pushed to test/a: quick jobs next to a slow one. */
  private static List<LayerJob> smallJobs;

  @BeforeAll
  static void seedRegistry() {
    TarLayer shared =
        TarLayer.builder().dir("etc").file("etc/os-release", "ID=test\n").randomFile("usr/lib/libshared.so", 300_000, 1).build();
    TarLayer second =
        TarLayer.builder().dir("app").randomFile("app/bin", 1_200_000, 2).symlink("app/current", "bin").hardlink("app/bin2", "app/bin").build();
    TarLayer third = TarLayer.builder().dir("etc").whiteout("etc/os-release").file("etc/motd", "hello\n").build();
    OciLayoutBuilder b = new OciLayoutBuilder(layoutDir);
    imageA = b.addImage("a", ImageSpec.linux("amd64").layer(shared, Compression.GZIP).layer(second, Compression.ZSTD));
    imageB = b.addImage("b", ImageSpec.linux("amd64").layer(shared, Compression.GZIP).layer(third, Compression.GZIP));
    REGISTRY.seed(layoutDir, "a", "test/a:1");
    REGISTRY.seed(layoutDir, "b", "test/b:1");
    smallJobs = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      byte[] tar = TarLayer.builder().dir("small").file("small/id", "small layer " + i + "\n").build().tar();
      byte[] blob = Compression.GZIP.compress(tar);
      String digest = REGISTRY.http().pushBlob("test/a", blob);
      smallJobs.add(job(REGISTRY.host(), "test/a", digest, blob.length, MediaTypes.OCI_LAYER_TAR_GZIP, sha256(tar)));
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private record Run(Topics topics, ConvertWorker worker, SimpleMeterRegistry meters) implements AutoCloseable {
    @Override
    public void close() {
      worker.close();
    }
  }

  private static Topics newTopics() {
    Topics topics = Topics.withPrefix("t" + UUID.randomUUID().toString().substring(0, 8) + ".");
    KAFKA.createTopic(topics.layerJobs(), 2);
    KAFKA.createTopic(topics.layerResults(), 1);
    KAFKA.createTopic(topics.deadLetters(), 1);
    return topics;
  }

  private static Run startWorker(int concurrency) throws Exception {
    return startWorker(newTopics(), concurrency, Duration.ofSeconds(10), REGISTRY.host());
  }

  private static Run startWorker(Topics topics, int concurrency, Duration shutdownTimeout, String... insecureHosts)
      throws Exception {
    return startWorker(topics, concurrency, shutdownTimeout, RegistryOptions.builder().insecureHosts(List.of(insecureHosts)).build());
  }

  private static Run startWorker(Topics topics, int concurrency, Duration shutdownTimeout, RegistryOptions registryOptions)
      throws Exception {
    return startWorker(topics, concurrency, shutdownTimeout, registryOptions, null);
  }

  private static Run startWorker(Topics topics, int concurrency, Duration shutdownTimeout, RegistryOptions registryOptions,
      Path tempDir) throws Exception {
    ConvertWorker.Config config =
        new ConvertWorker.Config(
            KAFKA.bootstrapServers(),
            topics,
            GROUP,
            concurrency,
            Duration.ofMinutes(5),
            shutdownTimeout,
            S3.client(),
            S3.bucket(),
            topics.layerJobs(), // a prefix of its own per test: no result leaks between tests
            MultipartUploadOutputStream.MIN_PART_SIZE,
            registryOptions,
            ConversionLimits.DEFAULT,
            new RetryPolicy(3, Duration.ofMillis(50), Duration.ofMillis(200)),
            "test",
            Duration.ofSeconds(6), // the broker's least: a joining worker's rebalance starts within 2 s (a heartbeat)
            tempDir);
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    return new Run(topics, new ConvertWorker(config, meters).start(), meters);
  }

  private static LayerJob job(String registry, String repository, Layer layer) {
    return job(registry, repository, layer.digest(), layer.descriptor().size(), layer.descriptor().mediaType(), layer.diffId());
  }

  private static LayerJob job(String registry, String repository, String digest, long size, String mediaType, String diffId) {
    return new LayerJob(
        registry,
        repository,
        new LayerJob.Descriptor(digest, size, mediaType),
        diffId,
        PROFILE,
        List.of(new LayerJob.Subject(repository, imageA.digest(), "linux/amd64")),
        null,
        false,
        "corr-" + digest.substring(7, 15));
  }

  private static void send(Topics topics, String key, byte[] value) throws Exception {
    try (KafkaProducer<byte[], byte[]> p = KAFKA.bytesProducer()) {
      p.send(new ProducerRecord<>(topics.layerJobs(), key == null ? null : key.getBytes(StandardCharsets.UTF_8), value)).get();
    }
  }

  private static void send(Topics topics, LayerJob job) throws Exception {
    send(topics, job.key(), V.write(job));
  }

  /** To a chosen partition, whatever its key: jobs of different layers in one partition. */
  private static void send(Topics topics, int partition, LayerJob job) throws Exception {
    try (KafkaProducer<byte[], byte[]> p = KAFKA.bytesProducer()) {
      p.send(new ProducerRecord<>(topics.layerJobs(), partition, job.key().getBytes(StandardCharsets.UTF_8), V.write(job))).get();
    }
  }

  /** The worker group's committed offset of one partition of the job topic, -1 when nothing is committed. */
  private static long committed(Topics topics, int partition) {
    TopicPartition tp = new TopicPartition(topics.layerJobs(), partition);
    try (KafkaConsumer<byte[], byte[]> c = KAFKA.bytesConsumer(GROUP)) {
      OffsetAndMetadata o = c.committed(Set.of(tp)).get(tp);
      return o == null ? -1 : o.offset();
    }
  }

  private static void awaitCommitted(Topics topics, int partition, long offset) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (committed(topics, partition) != offset) {
      assertTrue(System.nanoTime() < deadline, "partition " + partition + " committed at " + committed(topics, partition)
          + ", expected " + offset);
      Thread.sleep(100);
    }
  }

  private static void awaitInFlight(Run run) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (run.meters().get("erofs.worker.jobs.in.flight").gauge().value() < 1) {
      assertTrue(System.nanoTime() < deadline, "the job never started");
      Thread.sleep(20);
    }
  }

  private static List<ConsumerRecord<byte[], byte[]>> read(String topic, int n) {
    try (KafkaConsumer<byte[], byte[]> c = KAFKA.bytesConsumer("reader-" + UUID.randomUUID())) {
      c.subscribe(List.of(topic));
      return KafkaFixture.poll(c, n, Duration.ofSeconds(90));
    }
  }

  private static byte[] s3(String key) {
    return S3.client().getObjectAsBytes(r -> r.bucket(S3.bucket()).key(key)).asByteArray();
  }

  private static ConversionResult convertLocally(Layer layer, ByteArrayOutputStream index, ByteArrayOutputStream tree) throws Exception {
    byte[] blob = Files.readAllBytes(layoutDir.resolve("blobs/sha256/" + layer.digest().substring(7)));
    return new LayerConverter(ConversionLimits.DEFAULT)
        .convert(new ByteArrayInputStream(blob), layer.digest(), true, layer.diffId(), index, tree);
  }

  @Test
  void jobsFromKafkaBecomeArtifactsInS3IdenticalToTheCoreAndResultsOnKafka() throws Exception {
    try (Run run = startWorker(2)) {
      List<Layer> layers = List.of(imageA.layers().get(0), imageA.layers().get(1), imageB.layers().get(1));
      for (Layer l : layers) {
        send(run.topics(), job(REGISTRY.host(), "test/" + (l == imageB.layers().get(1) ? "b" : "a"), l));
      }
      Map<String, LayerResult> results = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : read(run.topics().layerResults(), 3)) {
        LayerResult res = V.read(LayerResult.class, r.value());
        assertEquals(res.result().layerDigest(), new String(r.key(), StandardCharsets.UTF_8), "keyed by layer digest");
        results.put(res.result().layerDigest(), res);
      }
      assertEquals(3, results.size());
      for (Layer l : layers) {
        LayerResult res = results.get(l.digest());
        ByteArrayOutputStream index = new ByteArrayOutputStream();
        ByteArrayOutputStream tree = new ByteArrayOutputStream();
        ConversionResult local = convertLocally(l, index, tree);
        assertArrayEquals(index.toByteArray(), s3(res.staging().indexKey()), "index of " + l.digest());
        assertArrayEquals(tree.toByteArray(), s3(res.staging().treeKey()), "tree of " + l.digest());
        assertEquals(local.rootHash(), res.result().rootHash());
        assertEquals(l.diffId(), res.result().diffId());
        assertEquals(PROFILE, res.result().profile());
        assertFalse(res.reused());
        assertTrue(res.staging().resultKey().contains("/layers/sha256/" + l.digest().substring(7) + "/" + PROFILE.fingerprint() + "/"));
      }
      assertEquals(3.0, completed(run), "three conversions");

      // the same job again: nothing converted, an equivalent result re-emitted
      Layer first = layers.get(0);
      send(run.topics(), job(REGISTRY.host(), "test/a", first));
      LayerResult again = V.read(LayerResult.class, read(run.topics().layerResults(), 4).get(3).value());
      assertTrue(again.reused());
      assertEquals(results.get(first.digest()).result(), again.result());
      assertEquals(3.0, completed(run), "a redelivered job converts nothing");
    }
  }

  @Test
  void nativeJobsBecomeOneLayerErofsIdenticalToTheCoreAndAStaleNativeFingerprintIsRefused() throws Exception {
    Layer l = imageA.layers().get(0);
    LayerJob plain = job(REGISTRY.host(), "test/a", l);
    LayerJob nativeJob = new LayerJob(plain.registry(), plain.repository(), plain.layer(), plain.diffId(),
        ConversionProfile.NATIVE, plain.subjects(), null, false, plain.correlationId());
    LayerJob stale = new LayerJob(plain.registry(), plain.repository(), plain.layer(), plain.diffId(),
        new ConversionProfile(ConversionProfile.NATIVE.name(), "0123456789abcdef"), plain.subjects(), null, false,
        plain.correlationId());
    try (Run run = startWorker(1)) {
      send(run.topics(), nativeJob);
      send(run.topics(), stale);
      LayerResult res = V.read(LayerResult.class, read(run.topics().layerResults(), 1).get(0).value());
      DeadLetter refused = V.read(DeadLetter.class, read(run.topics().deadLetters(), 1).get(0).value());
      assertEquals("profile.unsupported", refused.reasonCode());

      byte[] blob = Files.readAllBytes(layoutDir.resolve("blobs/sha256/" + l.digest().substring(7)));
      ByteArrayOutputStream image = new ByteArrayOutputStream();
      NativeConversionResult local = new NativeLayerConverter(ConversionLimits.DEFAULT)
          .convert(new ByteArrayInputStream(blob), l.digest(), true, l.diffId(), image);
      assertTrue(res.result().isNative());
      assertEquals(ConversionProfile.NATIVE, res.result().profile());
      assertArrayEquals(image.toByteArray(), s3(res.staging().blobKey()), "layer.erofs of " + l.digest());
      assertEquals(new ResultDocument.NativeBlob(local.blobSize(), local.blobSha256(), local.imageSize()), res.result().blob());
      assertEquals(local.rootHash(), res.result().rootHash());
      assertEquals(4096, res.result().dataBlockSize());
      assertEquals(l.diffId(), res.result().diffId());
      assertEquals(null, res.staging().indexKey());
      assertTrue(res.staging().blobKey().endsWith("/" + ConversionProfile.NATIVE.fingerprint() + "/layer.erofs"));
      assertEquals(List.of(res.staging().blobKey(), res.staging().resultKey()),
          keysUnder(res.staging().resultKey().substring(0, res.staging().resultKey().lastIndexOf('/') + 1)));
    }
  }

  @Test
  void aNativeJobSpoolsItsTarUnderTheConfiguredDirectoryAndLeavesNothingThere(@TempDir Path scratch) throws Exception {
    Layer l = imageA.layers().get(1); // 1.2 MB of random data: over a second when throttled
    Path tempDir = scratch.resolve("worker-tmp");
    Files.createDirectories(tempDir);
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host())) {
      proxy.throttle(1_000_000);
      try (Run run = startWorker(newTopics(), 1, Duration.ofSeconds(10),
          RegistryOptions.builder().insecureHost(proxy.host()).build(), tempDir)) {
        LayerJob plain = job(proxy.host(), "test/a", l);
        send(run.topics(), new LayerJob(plain.registry(), plain.repository(), plain.layer(), plain.diffId(),
            ConversionProfile.NATIVE, plain.subjects(), null, false, plain.correlationId()));
        // the spool is unlinked as soon as it is open: it shows only among this process's open files
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<String> spools = List.of();
        while (spools.isEmpty() && completed(run) < 1) {
          assertTrue(System.nanoTime() < deadline, "the native job never started");
          spools = openFilesUnder(tempDir);
          Thread.sleep(5);
        }
        assertFalse(spools.isEmpty(), "the tar was not spooled under " + tempDir);
        assertTrue(spools.get(0).startsWith(tempDir.resolve("erofs-native-").toString()), spools.toString());
        LayerResult res = V.read(LayerResult.class, read(run.topics().layerResults(), 1).get(0).value());
        assertTrue(res.result().isNative());
        assertEquals(List.of(), openFilesUnder(tempDir), "no spool open after the job");
        try (var left = Files.list(tempDir)) {
          assertEquals(List.of(), left.toList(), "nothing left in the directory");
        }
      }
    }
  }

  /** Targets of this process's open file descriptors under {@code dir} (deleted files included). */
  private static List<String> openFilesUnder(Path dir) throws Exception {
    List<String> open = new ArrayList<>();
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith(dir + "/")) {
            open.add(target);
          }
        } catch (java.io.IOException closedMeanwhile) {
          // the descriptor went away while listing
        }
      }
    }
    return open;
  }

  private static double completed(Run run) {
    return run.meters().get("erofs.worker.jobs.completed").counter().count();
  }

  @Test
  void jobsNamingARegistryOrALayoutOutsideTheAllowlistAreDeadLettered() throws Exception {
    RegistryOptions listed = RegistryOptions.builder().insecureHost(REGISTRY.host()).allowedHost("registry.example").build();
    try (Run run = startWorker(newTopics(), 1, Duration.ofSeconds(10), listed)) {
      Topics t = run.topics();
      Layer good = imageA.layers().get(0);
      send(t, job(REGISTRY.host(), "test/a", good));
      send(t, job("oci:/etc", "x", good));
      for (ConsumerRecord<byte[], byte[]> r : read(t.deadLetters(), 2)) {
        DeadLetter d = V.read(DeadLetter.class, r.value());
        assertEquals("registry.not-allowed", d.reasonCode(), d.message());
      }
    }
  }

  @Test
  void badJobsAreDeadLetteredWithAReasonWhileTheRestOfThePartitionCompletes() throws Exception {
    // a blob with gzip magic and garbage after it, pushed to the real registry
    byte[] corrupt = new byte[4096];
    new Random(7).nextBytes(corrupt);
    corrupt[0] = 0x1f;
    corrupt[1] = (byte) 0x8b;
    corrupt[2] = 8;
    corrupt[3] = 0;
    String corruptDigest = REGISTRY.http().pushBlob("test/a", corrupt);
    // a layout whose blob file was tampered with after it was written
    Path tampered = Files.createTempDirectory("tampered");
    OciLayoutBuilder tb = new OciLayoutBuilder(tampered);
    Layer victim = tb.addImage("x", ImageSpec.linux("amd64").layer(TarLayer.builder().file("f", "original\n").build(), Compression.GZIP)).layers().get(0);
    Files.write(tb.blobPath(victim.digest()), Compression.GZIP.compress(TarLayer.builder().file("f", "tampered\n").build().tar()));
    Layer good = imageA.layers().get(0);
    String missing = sha256("never pushed".getBytes(StandardCharsets.UTF_8));

    try (Run run = startWorker(1)) {
      Topics t = run.topics();
      String gz = MediaTypes.OCI_LAYER_TAR_GZIP;
      List<String> expectedReasons = new ArrayList<>();
      send(t, job(REGISTRY.host(), "test/a", corruptDigest, corrupt.length, gz, good.diffId()));
      expectedReasons.add("compression.corrupt");
      send(t, job(REGISTRY.host(), "test/a", good.digest(), good.descriptor().size(), gz, imageB.layers().get(1).diffId()));
      expectedReasons.add("diffid.mismatch");
      send(t, job(REGISTRY.host(), "test/a", missing, 10, gz, good.diffId()));
      expectedReasons.add("registry.not-found");
      send(t, job("oci:" + tampered, "x", victim));
      expectedReasons.add("digest.mismatch");
      send(t, "junk", "{not json".getBytes(StandardCharsets.UTF_8));
      expectedReasons.add("not-json");
      send(t, job(REGISTRY.host(), "test/a", good));

      List<String> reasons = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> r : read(t.deadLetters(), expectedReasons.size())) {
        DeadLetter d = V.read(DeadLetter.class, r.value());
        assertEquals(DeadLetter.Stage.CONVERT, d.stage());
        assertFalse(d.message().isBlank());
        reasons.add(d.reasonCode());
      }
      assertEquals(expectedReasons.stream().sorted().toList(), reasons.stream().sorted().toList());
      LayerResult ok = V.read(LayerResult.class, read(t.layerResults(), 1).get(0).value());
      assertEquals(good.digest(), ok.result().layerDigest());
    }
  }

  @Test
  void registryAnswering503And429BeforeSucceedingStillYieldsTheResult() throws Exception {
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host());
        Run run = startWorker(newTopics(), 1, Duration.ofSeconds(10), REGISTRY.host(), proxy.host())) {
      proxy.inject(
          new FaultInjectingProxy.Fault(503, null),
          new FaultInjectingProxy.Fault(429, "1"),
          new FaultInjectingProxy.Fault(503, null));
      Layer layer = imageB.layers().get(1);
      send(run.topics(), job(proxy.host(), "test/b", layer));
      LayerResult res = V.read(LayerResult.class, read(run.topics().layerResults(), 1).get(0).value());
      assertEquals(layer.digest(), res.result().layerDigest());
      assertEquals(3, proxy.injected(), "every injected fault was met and retried");
    }
  }

  @Test
  void everyKindOfRegistryFaultIsRetriedAndCountedInTheMetrics() throws Exception {
    Pattern blob = Pattern.compile("/v2/test/a/blobs/sha256:[0-9a-f]{64}");
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host());
        Run run = startWorker(newTopics(), 1, Duration.ofSeconds(10), REGISTRY.host(), proxy.host())) {
      proxy.inject(
          new FaultInjectingProxy.Fault(500, null, "GET", blob),
          new FaultInjectingProxy.Fault(502, null, "GET", blob),
          new FaultInjectingProxy.Fault(503, "1", "GET", blob),
          new FaultInjectingProxy.Fault(429, null, "GET", blob),
          new FaultInjectingProxy.Fault(429, "1", "GET", blob),
          FaultInjectingProxy.Fault.dropMidBody("GET", blob));
      Layer layer = imageA.layers().get(1); // 1.2 MB: the dropped connection breaks off mid-blob
      send(run.topics(), job(proxy.host(), "test/a", layer));
      LayerResult res = V.read(LayerResult.class, read(run.topics().layerResults(), 1).get(0).value());
      assertEquals(layer.digest(), res.result().layerDigest());
      assertEquals(6, proxy.injected(), "every injected fault was met");
      double registryRetries = run.meters().get("erofs.worker.registry.retries").functionCounter().count();
      double resumes = run.meters().get("erofs.worker.registry.resumes").functionCounter().count();
      double jobRetries = run.meters().get("erofs.worker.jobs.retries").counter().count();
      // the registry client retries four times per request, the job's next attempt takes the fifth error answer,
      // the broken body is resumed (or the job tried again): each fault was answered by one retry of some kind
      String counts = "registry retries " + registryRetries + ", resumes " + resumes + ", job retries " + jobRetries;
      assertTrue(registryRetries >= 4, counts);
      assertTrue(registryRetries + resumes + jobRetries >= 6, counts);
    }
  }

  @Test
  void aRegistryFaultOutlastingTheRetryBudgetEndsInADeadLetterThatKeepsTheJob() throws Exception {
    Pattern blob = Pattern.compile("/v2/test/b/blobs/sha256:[0-9a-f]{64}");
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host());
        Run run = startWorker(newTopics(), 1, Duration.ofSeconds(10), REGISTRY.host(), proxy.host())) {
      for (int i = 0; i < 200; i++) {
        proxy.inject(new FaultInjectingProxy.Fault(503, null, "GET", blob));
      }
      Layer layer = imageB.layers().get(1);
      LayerJob job = job(proxy.host(), "test/b", layer);
      send(run.topics(), job);
      DeadLetter d = V.read(DeadLetter.class, read(run.topics().deadLetters(), 1).get(0).value());
      assertEquals("transient.exhausted", d.reasonCode());
      assertEquals(3, d.attempts(), "the worker's retry policy allows three attempts");
      assertEquals(layer.digest(), d.layerDigest());
      assertEquals(job, V.read(LayerJob.class, d.input().text().getBytes(StandardCharsets.UTF_8)), "the job is kept whole");
      assertEquals(1.0, run.meters().get("erofs.worker.jobs.failed").tag("reason", "transient.exhausted").counter().count());
      int injected = proxy.injected();
      assertTrue(injected >= 3, "faults met " + injected);
    }
  }

  @Test
  void unfinishedUploadsOfAKilledAttemptAreAbortedBeforeTheLayerIsConvertedAgain() throws Exception {
    Layer layer = imageA.layers().get(0);
    Topics topics = newTopics();
    String folder = topics.layerJobs() + "/layers/sha256/" + layer.digest().substring(7) + "/" + PROFILE.fingerprint() + "/";
    // what a worker killed mid-upload leaves: open multipart uploads with a part each, under the final keys
    for (String name : List.of("index.erofs", "tree.verity")) {
      String uploadId = S3.client().createMultipartUpload(r -> r.bucket(S3.bucket()).key(folder + name)).uploadId();
      S3.client().uploadPart(r -> r.bucket(S3.bucket()).key(folder + name).uploadId(uploadId).partNumber(1),
          software.amazon.awssdk.core.sync.RequestBody.fromBytes(new byte[MultipartUploadOutputStream.MIN_PART_SIZE]));
    }
    assertEquals(2, S3.client().listMultipartUploads(r -> r.bucket(S3.bucket()).prefix(folder)).uploads().size());
    try (Run run = startWorker(topics, 1, Duration.ofSeconds(10), REGISTRY.host())) {
      send(topics, job(REGISTRY.host(), "test/a", layer));
      LayerResult res = V.read(LayerResult.class, read(topics.layerResults(), 1).get(0).value());
      assertEquals(layer.digest(), res.result().layerDigest());
      assertEquals(List.of(), S3.client().listMultipartUploads(r -> r.bucket(S3.bucket()).prefix(folder)).uploads());
      assertEquals(2.0, run.meters().get("erofs.worker.uploads.aborted").counter().count());
      assertEquals(3, keysUnder(folder).size(), "index, tree and result.json");
    }
  }

  @Test
  void aWorkerStoppedMidLayerLeavesNothingUnderTheFinalKeysAndTheJobCompletesOnRestart() throws Exception {
    Layer layer = imageA.layers().get(1); // 1.2 MB of random data: slow enough when throttled
    Topics topics = newTopics();
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host())) {
      proxy.throttle(200_000);
      Run first = startWorker(topics, 1, Duration.ofSeconds(1), proxy.host());
      try {
        send(topics, job(proxy.host(), "test/a", layer));
        awaitInFlight(first);
      } finally {
        first.close(); // mid-download: the layer is abandoned, its offset not committed
      }
      String folder = topics.layerJobs() + "/layers/sha256/" + layer.digest().substring(7) + "/";
      assertEquals(List.of(), keysUnder(folder), "nothing may be visible under the final keys");

      proxy.throttle(0);
      try (Run second = startWorker(topics, 1, Duration.ofSeconds(10), proxy.host())) {
        LayerResult res = V.read(LayerResult.class, read(topics.layerResults(), 1).get(0).value());
        assertEquals(layer.digest(), res.result().layerDigest());
        assertFalse(res.reused());
        assertEquals(3, keysUnder(folder).size(), "index, tree and result.json");
      }
    }
  }

  @Test
  void aSlowJobHoldsOneSlotWhileTheOtherTakesTheJobsOfBothPartitionsAndItsPartitionIsNotCommittedPastIt() throws Exception {
    Layer big = imageA.layers().get(1); // 1.2 MB of random data: about 24 s through the throttled proxy
    Topics topics = newTopics(); // two partitions
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host())) {
      proxy.throttle(50_000);
      Run first = startWorker(topics, 2, Duration.ofSeconds(1), REGISTRY.host(), proxy.host());
      try {
        send(topics, 0, job(proxy.host(), "test/a", big));
        awaitInFlight(first);
        for (int i = 0; i < smallJobs.size(); i++) {
          send(topics, i % 2, smallJobs.get(i)); // three behind the slow job in partition 0, three in partition 1
        }
        Set<String> small = new java.util.TreeSet<>();
        for (ConsumerRecord<byte[], byte[]> r : read(topics.layerResults(), smallJobs.size())) {
          small.add(V.read(LayerResult.class, r.value()).result().layerDigest());
        }
        assertEquals(smallJobs.stream().map(j -> j.layer().digest()).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new)),
            small, "the small jobs of both partitions finished while the slow one ran");
        assertEquals(1.0, first.meters().get("erofs.worker.jobs.in.flight").gauge().value(), "the slow job is still running");
        awaitCommitted(topics, 1, 3);
        assertEquals(0, committed(topics, 0), "partition 0 stays at its unfinished job although the three after it finished");
      } finally {
        Duration closed = timeToClose(first); // the slow job is abandoned after the 1 s grace period, uncommitted
        assertTrue(closed.compareTo(Duration.ofSeconds(15)) < 0, "close took " + closed);
      }
      assertEquals(0, committed(topics, 0));

      proxy.throttle(0);
      try (Run second = startWorker(topics, 2, Duration.ofSeconds(10), REGISTRY.host(), proxy.host())) {
        // partition 0 again from its unfinished job: the slow layer is converted, the three finished after it are
        // found in S3 and re-emitted
        Map<String, Boolean> reusedByLayer = new HashMap<>();
        List<ConsumerRecord<byte[], byte[]>> all = read(topics.layerResults(), smallJobs.size() + 4);
        for (ConsumerRecord<byte[], byte[]> r : all.subList(smallJobs.size(), all.size())) {
          LayerResult res = V.read(LayerResult.class, r.value());
          reusedByLayer.put(res.result().layerDigest(), res.reused());
        }
        assertEquals(Boolean.FALSE, reusedByLayer.get(big.digest()), "the slow layer converted by the next worker");
        for (int i = 0; i < smallJobs.size(); i += 2) {
          assertEquals(Boolean.TRUE, reusedByLayer.get(smallJobs.get(i).layer().digest()), "small job " + i + " re-emitted");
        }
        assertEquals(1.0, completed(second), "only the slow layer converted again");
        awaitCommitted(topics, 0, 4);
        assertEquals(3, committed(topics, 1));
      }
    }
  }

  @Test
  void twoWorkersInOneGroupShareThePartitionsAndARebalanceLetsTheJobsInFlightFinishFirst() throws Exception {
    Layer big = imageA.layers().get(1);
    Topics topics = newTopics();
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host())) {
      proxy.throttle(400_000); // about 3 s for the big layer: the rebalance waits for it
      try (Run a = startWorker(topics, 1, Duration.ofSeconds(10), REGISTRY.host(), proxy.host())) {
        send(topics, 0, job(proxy.host(), "test/a", big));
        awaitInFlight(a);
        try (Run b = startWorker(topics, 1, Duration.ofSeconds(10), REGISTRY.host(), proxy.host())) {
          awaitTwoMembersWithPartitions(topics);
          for (int i = 0; i < smallJobs.size(); i++) {
            send(topics, i % 2, smallJobs.get(i));
          }
          Set<String> layers = new java.util.HashSet<>();
          for (ConsumerRecord<byte[], byte[]> r : read(topics.layerResults(), smallJobs.size() + 1)) {
            layers.add(V.read(LayerResult.class, r.value()).result().layerDigest());
          }
          assertEquals(smallJobs.size() + 1, layers.size(), "one result per layer");
          awaitCommitted(topics, 0, 4);
          awaitCommitted(topics, 1, 3);
          assertEquals(smallJobs.size() + 1.0, completed(a) + completed(b), "every layer converted once");
          assertEquals(0.0, reused(a) + reused(b), "no job ran twice: the slow one finished before its partition moved");
          assertTrue(completed(a) >= 1 && completed(b) >= 1, "both workers converted: a " + completed(a) + ", b " + completed(b));
        }
      }
    }
  }

  @Test
  void twoJobsOfOneLayerRunOneAfterTheOtherAlthoughASlotIsFree() throws Exception {
    Layer big = imageA.layers().get(1);
    Topics topics = newTopics();
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host())) {
      proxy.throttle(400_000);
      try (Run run = startWorker(topics, 2, Duration.ofSeconds(10), REGISTRY.host(), proxy.host())) {
        LayerJob job = job(proxy.host(), "test/a", big);
        send(topics, job);
        awaitInFlight(run);
        send(topics, job); // the same key: the same partition, fetched while the first runs
        List<Boolean> reused = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : read(topics.layerResults(), 2)) {
          reused.add(V.read(LayerResult.class, r.value()).reused());
        }
        // side by side, the second would have aborted the first one's unfinished uploads and converted too
        assertEquals(List.of(false, true), reused, "the second found the first one's result");
        assertEquals(1.0, completed(run));
      }
    }
  }

  @Test
  void aStopWaitsForTheJobInFlightWithinTheGracePeriodAndCommitsIt() throws Exception {
    Layer big = imageA.layers().get(1);
    Topics topics = newTopics();
    try (FaultInjectingProxy proxy = new FaultInjectingProxy(REGISTRY.host())) {
      proxy.throttle(400_000);
      Run run = startWorker(topics, 2, Duration.ofSeconds(60), REGISTRY.host(), proxy.host());
      try {
        send(topics, 0, job(proxy.host(), "test/a", big));
        awaitInFlight(run);
      } finally {
        Duration closed = timeToClose(run);
        assertTrue(closed.compareTo(Duration.ofSeconds(60)) < 0, "close returned when the job finished, not after the grace period: " + closed);
      }
      LayerResult res = V.read(LayerResult.class, read(topics.layerResults(), 1).get(0).value());
      assertEquals(big.digest(), res.result().layerDigest());
      assertEquals(1.0, completed(run));
      assertEquals(1, committed(topics, 0), "committed before the consumer closed");
    }
  }

  /** Until the group is stable with two members, each owning a partition of the job topic. */
  private static void awaitTwoMembersWithPartitions(Topics topics) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      var group = KAFKA.admin().describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP);
      long owners = group.members().stream()
          .filter(m -> m.assignment().topicPartitions().stream().anyMatch(tp -> tp.topic().equals(topics.layerJobs())))
          .count();
      if (owners == 2 && group.groupState() == org.apache.kafka.common.GroupState.STABLE) {
        return;
      }
      assertTrue(System.nanoTime() < deadline, "group " + group);
      Thread.sleep(100);
    }
  }

  private static Duration timeToClose(Run run) {
    long closing = System.nanoTime();
    run.close();
    return Duration.ofNanos(System.nanoTime() - closing);
  }

  private static double reused(Run run) {
    return run.meters().get("erofs.worker.jobs.reused").counter().count();
  }

  private static List<String> keysUnder(String prefix) {
    return S3.client().listObjectsV2(r -> r.bucket(S3.bucket()).prefix(prefix)).contents().stream()
        .map(o -> o.key())
        .toList();
  }
}

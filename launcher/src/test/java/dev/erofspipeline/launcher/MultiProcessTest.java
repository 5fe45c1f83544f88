package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static dev.erofspipeline.launcher.OpsEndpoint.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.MediaTypes;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The multi-process case: ingest, two workers and a publisher as separate JVMs against one broker,
 * S3 and registry; one worker is killed with SIGKILL while it converts a layer, and every image still
 * ends published exactly once.
 */
class MultiProcessTest {
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final S3Fixture S3 = S3Fixture.create();
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.create();

  private static final RecordValidator V = RecordValidator.defaults();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern IN_FLIGHT = Pattern.compile("(?m)^erofs_worker_jobs_in_flight ([0-9.]+)$");

  @TempDir Path dir;

  private final Map<String, Process> processes = new LinkedHashMap<>();
  private final Map<String, Path> logs = new LinkedHashMap<>();

  @AfterEach
  void destroyEveryJvmThisTestStarted() throws Exception {
    for (Process p : processes.values()) {
      p.destroyForcibly();
    }
    for (Process p : processes.values()) {
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Process start(String name, String role, Path config, int port) throws Exception {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path log = dir.resolve(name + ".log");
    Process p = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-XX:TieredStopAtLevel=1",
            "-cp", classpath, Main.class.getName(), "run", "--role", role, "--config", config.toString(),
            "--set", "http.port=" + port))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    processes.put(name, p);
    logs.put(name, log);
    return p;
  }

  private String logsText() {
    StringBuilder b = new StringBuilder();
    logs.forEach((name, log) -> {
      try {
        List<String> lines = Files.readAllLines(log);
        b.append("\n----- ").append(name).append(" (last 80 lines) -----\n");
        lines.subList(Math.max(0, lines.size() - 80), lines.size()).forEach(l -> b.append(l).append('\n'));
      } catch (Exception e) {
        b.append("\n----- ").append(name).append(": ").append(e).append('\n');
      }
    });
    return b.toString();
  }

  private static double inFlight(int port) {
    String m = get(port, "/metrics");
    if (m == null) {
      return -1;
    }
    Matcher x = IN_FLIGHT.matcher(m);
    return x.find() ? Double.parseDouble(x.group(1)) : -1;
  }

  @Test
  @Timeout(value = 200, unit = TimeUnit.SECONDS)
  void aWorkerKilledMidBatchLeavesEveryImagePublishedExactlyOnce() throws Exception {
    long t0 = System.nanoTime();
    String prefix = "mp" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Topics topics = Topics.withPrefix(prefix);

    // five images, 2-3 layers each: a base shared by all, two large random layers shared by two images each
    TarLayer base = TarLayer.builder().dir("etc").file("etc/os-release", "ID=multi-process\n")
        .randomFile("usr/lib/libbase.so", 300_000, 1).build();
    TarLayer big1 = TarLayer.builder().dir("opt").randomFile("opt/big1.bin", 8_000_000, 2).build();
    TarLayer big2 = TarLayer.builder().dir("opt").randomFile("opt/big2.bin", 8_000_000, 3).build();
    List<TarLayer> own = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      own.add(TarLayer.builder().dir("app").file("app/id", "image " + i + "\n")
          .randomFile("app/data.bin", 50_000 + i * 10_000, 10 + i).build());
    }
    OciLayoutBuilder b = new OciLayoutBuilder(dir.resolve("layout"));
    List<OciLayoutBuilder.Image> images = List.of(
        b.addImage("i0", ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(big1, Compression.GZIP)
            .layer(own.get(0), Compression.GZIP)),
        b.addImage("i1", ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(big1, Compression.GZIP)
            .layer(own.get(1), Compression.GZIP)),
        b.addImage("i2", ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(big2, Compression.GZIP)
            .layer(own.get(2), Compression.GZIP)),
        b.addImage("i3", ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(own.get(3), Compression.GZIP)),
        b.addImage("i4", ImageSpec.linux("amd64").layer(big2, Compression.GZIP).layer(own.get(4), Compression.GZIP)));
    List<String> refs = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      String repo = "mp/" + prefix.replace(".", "") + "-app" + i;
      REGISTRY.seed(dir.resolve("layout"), "i" + i, repo + ":1");
      refs.add(REGISTRY.host() + "/" + repo + ":1");
    }
    Set<String> layerHexes = images.stream().flatMap(i -> i.layers().stream())
        .map(l -> l.digest().substring("sha256:".length())).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(8, layerHexes.size());

    // one configuration file for every role, as an operator would write it
    Path access = Files.writeString(dir.resolve("access"), S3.accessKey() + "\n");
    Path secret = Files.writeString(dir.resolve("secret"), S3.secretKey() + "\n");
    TestSigningKeys keys = TestSigningKeys.create(Files.createDirectories(dir.resolve("pki")));
    Path config = Files.writeString(dir.resolve("erofs.properties"), String.join("\n",
        "kafka.bootstrap=" + KAFKA.bootstrapServers(),
        "kafka.topicPrefix=" + prefix,
        "kafka.topicPartitions=4",
        "s3.endpoint=" + S3.endpoint(),
        "s3.bucket=" + S3.bucket(),
        "s3.prefix=" + prefix,
        "s3.accessKeyFile=" + access,
        "s3.secretKeyFile=" + secret,
        "registry.insecure=" + REGISTRY.host(),
        "registry.allowlist=" + REGISTRY.host(),
        "worker.concurrency=1",
        "worker.shutdownGraceSeconds=2",
        "worker.maxPollIntervalSeconds=60",
        "signing.keyFile=" + keys.key(),
        "signing.certFile=" + keys.chain(),
        "publish.retrySeconds=2",
        "http.bind=127.0.0.1",
        "metrics.lagIntervalSeconds=0",
        ""));
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (String name : List.of("ingest", "worker-a", "worker-b", "publish")) {
      ports.put(name, freePort());
    }
    start("ingest", "ingest", config, ports.get("ingest"));
    start("worker-a", "worker", config, ports.get("worker-a"));
    start("worker-b", "worker", config, ports.get("worker-b"));
    start("publish", "publish", config, ports.get("publish"));
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (Map.Entry<String, Integer> e : ports.entrySet()) {
      while (get(e.getValue(), "/health/ready") == null) {
        if (System.nanoTime() > end || !processes.get(e.getKey()).isAlive()) {
          throw new AssertionError(e.getKey() + " not ready" + logsText());
        }
        Thread.sleep(200);
      }
    }
    long ready = System.nanoTime();

    CommandRun submitted = run(concat(List.of("submit", "--config", config.toString()), refs));
    assertEquals(0, submitted.exitCode(), submitted.err());

    // SIGKILL the first worker seen converting a layer
    String victim = null;
    end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (victim == null) {
      for (String w : List.of("worker-a", "worker-b")) {
        if (inFlight(ports.get(w)) >= 1) {
          victim = w;
          break;
        }
      }
      if (victim == null) {
        if (System.nanoTime() > end) {
          throw new AssertionError("no worker had a layer in flight" + logsText());
        }
        Thread.sleep(20);
      }
    }
    Process killed = processes.get(victim);
    killed.destroyForcibly(); // SIGKILL
    assertTrue(killed.waitFor(10, TimeUnit.SECONDS), victim + " survived SIGKILL");
    assertEquals(137, killed.exitValue());
    long killedAt = System.nanoTime();
    String survivor = victim.equals("worker-a") ? "worker-b" : "worker-a";

    // every image ends published; count the published records of each
    Map<String, ImageStatus> latest = new HashMap<>();
    Map<String, Integer> publishedRecords = new TreeMap<>();
    List<String> statusRecords = new ArrayList<>();
    Set<String> digests = images.stream().map(OciLayoutBuilder.Image::digest).collect(Collectors.toSet());
    try (KafkaConsumer<String, byte[]> c = KAFKA.consumer("check-" + prefix, new StringDeserializer(),
        new ByteArrayDeserializer())) {
      c.subscribe(List.of(topics.status()));
      end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      long quietUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(end, quietUntil)) {
        for (ConsumerRecord<String, byte[]> rec : c.poll(Duration.ofMillis(300))) {
          ImageStatus s = V.read(ImageStatus.class, rec.value());
          assertTrue(s.state() != ImageStatus.State.FAILED, "failed: " + s + logsText());
          latest.put(s.subjectDigest(), s);
          statusRecords.add(String.format("%.1fs %s", (System.nanoTime() - killedAt) / 1e9, new String(rec.value())));
          if (s.state() == ImageStatus.State.PUBLISHED) {
            publishedRecords.merge(s.subjectDigest(), 1, Integer::sum);
          }
        }
        boolean all = digests.stream().allMatch(d -> latest.containsKey(d)
            && latest.get(d).state() == ImageStatus.State.PUBLISHED);
        if (all && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // a late duplicate would show up here
        }
      }
    }
    long publishedAt = System.nanoTime();
    for (String d : digests) {
      ImageStatus s = latest.get(d);
      if (s == null || s.state() != ImageStatus.State.PUBLISHED) {
        throw new AssertionError("not published: " + d + " last " + s + "; all " + latest.values() + logsText());
      }
    }
    assertEquals(digests, latest.keySet());
    // each image is published exactly once (layer results arriving together used to requeue an image
    // once per result), and no publication replaced a referrer
    for (String d : digests) {
      assertEquals(1, publishedRecords.getOrDefault(d, 0), "published records of " + d + ": " + statusRecords);
    }
    for (String r : statusRecords) {
      assertFalse(r.contains("replaced referrer"), r);
    }

    // exactly one image-bundle referrer per image, no duplicate referrers
    for (int i = 0; i < images.size(); i++) {
      String repo = refs.get(i).substring(REGISTRY.host().length() + 1, refs.get(i).lastIndexOf(':'));
      String hex = images.get(i).digest().substring("sha256:".length());
      JsonNode index = JSON.readTree(REGISTRY.http().getManifest(repo, "sha256-" + hex).bytes());
      List<String> artifactTypes = new ArrayList<>();
      List<String> referrerDigests = new ArrayList<>();
      for (JsonNode m : index.path("manifests")) {
        artifactTypes.add(m.path("artifactType").asText());
        referrerDigests.add(m.path("digest").asText());
      }
      assertEquals(1, artifactTypes.stream().filter(MediaTypes.EROFS_DMVERITY_BUNDLE::equals).count(),
          repo + ": " + index);
      assertEquals(referrerDigests.size(), new TreeSet<>(referrerDigests).size(), repo + ": " + index);
      assertEquals(artifactTypes.size(), new TreeSet<>(artifactTypes).size(), repo + ": " + index);
    }

    // S3: exactly index.erofs, tree.verity, result.json per layer under the staging prefix
    List<String> keysInS3 = S3.client().listObjectsV2Paginator(r -> r.bucket(S3.bucket()).prefix(prefix)).contents()
        .stream().map(S3Object::key).sorted().toList();
    Map<String, List<String>> perLayer = new TreeMap<>();
    Pattern staged = Pattern.compile(Pattern.quote(prefix) + "/?layers/sha256/([0-9a-f]{64})/[^/]+/([^/]+)");
    for (String k : keysInS3) {
      Matcher x = staged.matcher(k);
      assertTrue(x.matches(), "unexpected object " + k + " in " + keysInS3);
      perLayer.computeIfAbsent(x.group(1), h -> new ArrayList<>()).add(x.group(2));
    }
    assertEquals(layerHexes, perLayer.keySet(), keysInS3.toString());
    perLayer.forEach((h, names) -> assertEquals(List.of("index.erofs", "result.json", "tree.verity"),
        names.stream().sorted().toList(), h + ": " + keysInS3));

    // incomplete multipart uploads: only the killed worker's (at most its one layer's index and tree)
    List<String> incomplete = S3.client().listMultipartUploads(r -> r.bucket(S3.bucket()).prefix(prefix)).uploads()
        .stream().map(MultipartUpload::key).sorted().toList();
    Set<String> incompleteLayers = incomplete.stream().map(k -> {
      Matcher x = staged.matcher(k);
      assertTrue(x.matches(), "unexpected upload " + k);
      return x.group(1);
    }).collect(Collectors.toSet());
    assertTrue(incompleteLayers.size() <= 1 && incomplete.size() <= 2, "incomplete uploads " + incomplete);
    assertTrue(processes.get(survivor).isAlive(), survivor + " died" + logsText());

    for (String ref : refs) {
      CommandRun verified = run("verify", ref, "--ca", keys.ca().toString(), "--insecure-registry", REGISTRY.host());
      assertEquals(0, verified.exitCode(), ref + ": " + verified.out() + verified.err());
    }
    System.out.printf("MultiProcessTest: killed %s; ready %.1fs, published %.1fs after the kill, total %.1fs;"
            + " published records per image %s; incomplete uploads left by the killed worker: %s%n", victim,
        (ready - t0) / 1e9, (publishedAt - killedAt) / 1e9, (System.nanoTime() - t0) / 1e9, publishedRecords.values(), incomplete);
    assertFalse(killed.isAlive());
  }

  private static String[] concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all.toArray(String[]::new);
  }
}

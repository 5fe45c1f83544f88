package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.FaultInjectingProxy;
import dev.erofspipeline.testkit.FaultInjectingProxy.Fault;
import dev.erofspipeline.testkit.HeldRequest;
import dev.erofspipeline.testkit.HttpTap;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import dev.erofspipeline.testkit.TarLayer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8, faults: ingest, two workers and a publisher as separate JVMs on one broker, S3 and registry, while the
 * test injects faults on a seeded plan. Workers are SIGKILLed in each phase of a layer job (conversion, upload,
 * result emission), the publisher between its blob pushes and its first manifest push and between a manifest push
 * and a referrers-index update, the broker and the S3 server are stopped and started again, and the registry
 * answers 500/502/503/429 and drops a blob mid-body. Every kill is placed on an observed event: S3 requests seen by
 * an {@link HttpTap} in front of each worker's S3 endpoint (held until the kill), registry requests held by the
 * {@link FaultInjectingProxy}, and the worker's in-flight gauge while blob downloads are throttled. Killed JVMs are
 * started again at once; session timeouts of 6 s hand their partitions over.
 *
 * <p>Then: every image published exactly once, one referrer per profile, exactly three staged objects per layer and
 * no incomplete multipart upload, no dead letter, {@code verify} passes. The default run is compact (3 worker kills);
 * {@code -Derofs.faults.workerKills=21} (scripts/fault-run.sh) is the full run; {@code -Derofs.faults.seed} picks
 * another plan. The figures are printed as one {@code FAULTS} line.
 */
class FaultsTest {
  private static final Path S3_DIR = tempDir();
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final S3Fixture S3 = S3Fixture.onDirectory(S3_DIR, "erofs-faults");
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.create();

  private static final RecordValidator V = RecordValidator.defaults();
  private static final long SEED = Long.getLong("erofs.faults.seed", 8);
  private static final int WORKER_KILLS = Integer.getInteger("erofs.faults.workerKills", 3);
  private static final boolean FULL = WORKER_KILLS > 3;
  /** Layers of 136 MB of zeros: trees over 8 MiB, so they go up as multipart uploads (parts of 8 MiB). */
  private static final int BIG_FILE = 136_000_000;
  /** How long to wait for a kill's event before queueing reserve images (the batch may have drained). */
  private static final Duration EVENT_WAIT = Duration.ofSeconds(15);
  private static final List<String> WORKERS = List.of("worker-a", "worker-b");

  @TempDir Path dir;

  private static Path tempDir() {
    try {
      return Files.createTempDirectory("erofs-faults-s3");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @AfterAll
  static void deleteS3Directory() throws IOException {
    try (var files = Files.walk(S3_DIR)) {
      files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private enum Phase { CONVERSION, UPLOAD, MULTIPART_UPLOAD, EMISSION }

  private final long t0 = System.nanoTime();

  /** One line per injected fault, with the time since the start: the figures of docs/faults.md come from these. */
  private void event(String what) {
    System.out.printf("FAULTS %.1fs %s%n", (System.nanoTime() - t0) / 1e9, what);
  }

  @Test
  @Timeout(value = 1500, unit = TimeUnit.SECONDS)
  void theBatchSurvivesKilledWorkersAndPublisherRestartedBrokerAndS3AndRegistryErrors() throws Exception {
    Random random = new Random(SEED);
    String prefix = "f" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Topics topics = Topics.withPrefix(prefix);

    // images: a shared base, a layer of its own each (1.5 MB random: a download of seconds when throttled), a mid
    // layer shared by every third image, and big layers of zeros (multipart uploads) in a few
    int initialImages = FULL ? 10 : 6;
    int reserveImages = FULL ? 26 : 2;
    int bigEvery = FULL ? 6 : 8;
    byte[] zeros = new byte[BIG_FILE];
    TarLayer base = TarLayer.builder().dir("etc").file("etc/os-release", "ID=faults\n")
        .randomFile("usr/lib/libbase.so", 300_000, 1).build();
    List<TarLayer> mids = new ArrayList<>();
    List<TarLayer> bigs = new ArrayList<>();
    OciLayoutBuilder b = new OciLayoutBuilder(dir.resolve("layout"));
    List<OciLayoutBuilder.Image> images = new ArrayList<>();
    for (int i = 0; i < initialImages + reserveImages; i++) {
      ImageSpec spec = ImageSpec.linux("amd64").layer(base, Compression.GZIP);
      if (i % 3 == 1) {
        if (mids.size() <= i / 6) {
          mids.add(TarLayer.builder().dir("opt").randomFile("opt/mid.bin", 2_000_000, 100 + i).build());
        }
        spec.layer(mids.get(i / 6), Compression.GZIP);
      }
      if (i % bigEvery == 0) {
        bigs.add(TarLayer.builder().dir("data").file("data/id", "big " + i + "\n")
            .file("data/zeros.bin", zeros).build());
        spec.layer(bigs.get(bigs.size() - 1), Compression.GZIP);
      }
      spec.layer(TarLayer.builder().dir("app").file("app/id", "image " + i + "\n")
          .randomFile("app/data.bin", 1_500_000, 10 + i).build(), i % 2 == 0 ? Compression.GZIP : Compression.ZSTD);
      images.add(b.addImage("i" + i, spec));
    }
    try (FaultInjectingProxy registry = new FaultInjectingProxy(REGISTRY.host());
        HttpTap tapA = new HttpTap(S3.embeddedS3().port(), 0);
        HttpTap tapB = new HttpTap(S3.embeddedS3().port(), 0)) {
      Map<String, HttpTap> taps = Map.of("worker-a", tapA, "worker-b", tapB);
      List<String> refs = new ArrayList<>();
      for (int i = 0; i < images.size(); i++) {
        String repo = "faults/" + prefix.replace(".", "") + "-app" + i;
        REGISTRY.seed(dir.resolve("layout"), "i" + i, repo + ":1");
        refs.add(registry.host() + "/" + repo + ":1");
      }

      TestSigningKeys keys = TestSigningKeys.create(Files.createDirectories(dir.resolve("pki")));
      Path config = FixtureConfig.write(dir, prefix, KAFKA, S3, List.of(
          "kafka.topicPartitions=4",
          "registry.insecure=" + registry.host(),
          "registry.allowlist=" + registry.host(),
          "worker.concurrency=1",
          "worker.shutdownGraceSeconds=2",
          "worker.maxPollIntervalSeconds=120",
          "worker.sessionTimeoutSeconds=6",
          "publish.sessionTimeoutSeconds=6",
          "signing.keyFile=" + keys.key(),
          "signing.certFile=" + keys.chain(),
          "publish.retrySeconds=2",
          "http.bind=127.0.0.1",
          "metrics.lagIntervalSeconds=0"));
      try (RoleProcesses jvms = new RoleProcesses(dir, config)) {
        jvms.start("ingest", "ingest");
        jvms.start("worker-a", "worker", "s3.endpoint=" + tapA.endpoint());
        jvms.start("worker-b", "worker", "s3.endpoint=" + tapB.endpoint());
        jvms.start("publish", "publish");
        jvms.awaitReady(Duration.ofSeconds(90), "ingest", "worker-a", "worker-b", "publish");
        event("started ingest, worker-a, worker-b, publish");

        // the plan: worker kills by phase (seeded order; the first catches a multipart upload), publisher kills,
        // one broker and one S3 restart per ten worker kills (at least one)
        List<Phase> plan = new ArrayList<>();
        for (int k = 1; k < WORKER_KILLS; k++) {
          Phase[] each = {Phase.CONVERSION, Phase.EMISSION, k % 6 == 0 ? Phase.MULTIPART_UPLOAD : Phase.UPLOAD};
          plan.add(each[(k - 1) % 3]);
        }
        Collections.shuffle(plan, random);
        plan.add(0, Phase.MULTIPART_UPLOAD);
        Set<Integer> brokerRestartsAfter = new TreeSet<>(List.of(1));
        Set<Integer> s3RestartsAfter = new TreeSet<>(List.of(2));
        if (FULL) {
          brokerRestartsAfter.addAll(List.of(8, 15));
          s3RestartsAfter.addAll(List.of(11, 18));
        }
        int publisherKillPairs = FULL ? 2 : 1;
        PublisherKills publisherKills = new PublisherKills(registry, jvms, publisherKillPairs);

        // registry faults first, on layer downloads (not ingest's config reads), while no worker is being killed:
        // the retries must show in the workers' metrics
        Pattern blob = Pattern.compile("/v2/.+/blobs/(" + images.stream().flatMap(i -> i.layers().stream())
            .map(OciLayoutBuilder.Layer::digest).distinct().collect(Collectors.joining("|")) + ")");
        List<Fault> registryFaults = List.of(new Fault(500, null, "GET", blob), new Fault(502, null, "GET", blob),
            new Fault(503, "1", "GET", blob), new Fault(503, null, "GET", blob), new Fault(429, "1", "GET", blob),
            new Fault(429, null, "GET", blob), Fault.dropMidBody("GET", blob), Fault.dropMidBody("GET", blob));
        registry.inject(registryFaults.toArray(Fault[]::new));
        registry.throttle(1_000_000);

        // the first catch is armed before anything is submitted
        Catch first = arm(Phase.MULTIPART_UPLOAD, taps, random);
        List<Integer> submitted = new ArrayList<>();
        List<Integer> reserve = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
          (i < initialImages ? submitted : reserve).add(i);
        }
        submit(config, submitted.stream().map(refs::get).toList());
        event("submitted " + initialImages + " images (" + reserveImages + " in reserve)");

        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (registry.injected() < registryFaults.size()) {
          assertTrue(System.nanoTime() < end, "registry faults not all met: " + registry.injected() + jvms.logsText());
          Thread.sleep(100);
        }
        // each fault is answered by a retry of the registry client, a resumed download or a retried job; the
        // counters move when the worker notices, a little after the proxy answered
        double registryRetries = 0;
        double jobRetries = 0;
        end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (registryRetries + jobRetries < registryFaults.size() && System.nanoTime() < end) {
          Thread.sleep(200);
          registryRetries = 0;
          jobRetries = 0;
          for (String w : WORKERS) {
            registryRetries += Math.max(0, jvms.metric(w, "erofs_worker_registry_retries_total"));
            registryRetries += Math.max(0, jvms.metric(w, "erofs_worker_registry_resumes_total"));
            jobRetries += Math.max(0, jvms.metric(w, "erofs_worker_jobs_retries_total"));
          }
        }
        event(String.format("registry answered 500, 502, 503 (with and without Retry-After), 429 (with and without)"
            + " and dropped 2 blobs mid-body: %d faults; worker metrics: %.0f registry retries and resumes, %.0f job"
            + " retries", registryFaults.size(), registryRetries, jobRetries));
        assertTrue(registryRetries + jobRetries >= registryFaults.size(),
            "retries " + registryRetries + "+" + jobRetries + jvms.logsText());

        Map<Phase, Integer> kills = new TreeMap<>();
        List<String> killLines = new ArrayList<>();
        int brokerRestarts = 0;
        int s3Restarts = 0;
        for (int k = 0; k < plan.size(); k++) {
          Phase phase = plan.get(k);
          Catch c = k == 0 ? first : arm(phase, taps, random);
          String landed = null;
          for (int round = 0; landed == null && round < 4; round++) {
            landed = c.await(jvms, publisherKills, random, EVENT_WAIT);
            if (landed == null && !reserve.isEmpty()) {
              // two more images; a multipart kill needs one with a big layer
              List<Integer> more = new ArrayList<>();
              if (phase == Phase.MULTIPART_UPLOAD) {
                reserve.stream().filter(i -> i % bigEvery == 0).findFirst().ifPresent(more::add);
              }
              for (int i : reserve) {
                if (more.size() < 2 && !more.contains(i)) {
                  more.add(i);
                }
              }
              reserve.removeAll(more);
              submit(config, more.stream().map(refs::get).toList());
              submitted.addAll(more);
              event("submitted images " + more + " for the " + phase + " kill");
            }
          }
          c.disarm();
          if (landed == null) {
            event("no " + phase + " event within " + 4 * EVENT_WAIT.toSeconds() + " s: kill " + (k + 1) + " missed");
            continue;
          }
          kills.merge(phase, 1, Integer::sum);
          killLines.add(landed);
          event("kill " + (k + 1) + "/" + plan.size() + ": " + landed);
          if (brokerRestartsAfter.contains(k + 1)) {
            KAFKA.stopBroker();
            Thread.sleep(3_000);
            KAFKA.startBroker();
            brokerRestarts++;
            event("broker stopped for 3 s and started again (same port and log directory)");
          }
          if (s3RestartsAfter.contains(k + 1)) {
            S3.stopServer();
            Thread.sleep(3_000);
            S3.startServer();
            s3Restarts++;
            event("S3 server stopped for 3 s and started again (same port and directory)");
          }
        }
        publisherKills.finish(Duration.ofSeconds(90), random);
        registry.throttle(0);

        // the end state
        List<OciLayoutBuilder.Image> done = submitted.stream().sorted().map(images::get).toList();
        List<String> doneRefs = submitted.stream().sorted().map(refs::get).toList();
        Set<String> digests = done.stream().map(OciLayoutBuilder.Image::digest).collect(Collectors.toSet());
        BatchChecks.Statuses statuses = BatchChecks.awaitPublished(KAFKA, topics.status(), digests,
            Duration.ofSeconds(240), Duration.ofSeconds(5), jvms::logsText);
        long duplicatePublications = statuses.published().values().stream().filter(n -> n > 1).count();
        for (String d : digests) {
          assertEquals(1, statuses.published().getOrDefault(d, 0), "published records of " + d + ": "
              + statuses.records());
        }
        for (int i = 0; i < done.size(); i++) {
          String repo = doneRefs.get(i).substring(registry.host().length() + 1, doneRefs.get(i).lastIndexOf(':'));
          BatchChecks.assertOneReferrerPerProfile(REGISTRY.http(), repo, done.get(i));
        }
        Set<String> layerHexes = done.stream().flatMap(i -> i.layers().stream())
            .map(l -> l.digest().substring("sha256:".length())).collect(Collectors.toCollection(TreeSet::new));
        List<String> incomplete = BatchChecks.assertStagedExactly(S3.client(), S3.bucket(), prefix, layerHexes);
        assertEquals(List.of(), incomplete, "incomplete multipart uploads");
        Map<String, Integer> conversions = conversionsPerLayer(topics);
        List<String> deadLetters = records(topics.deadLetters());
        assertEquals(List.of(), deadLetters, "dead letters");
        for (String ref : doneRefs) {
          CommandRun verified = run("verify", ref, "--ca", keys.ca().toString(), "--insecure-registry", registry.host());
          assertEquals(0, verified.exitCode(), ref + ": " + verified.out() + verified.err());
        }

        int workerKills = kills.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("FAULTS seed %d: %d worker kills %s, %d publisher kills, %d broker restarts, %d S3 restarts,"
                + " %d registry faults (%.0f registry retries/resumes, %.0f job retries seen in metrics); %d images,"
                + " %d layers; published records per image all 1: %s; duplicate publications %d; incomplete uploads"
                + " %d; dead letters %d; completed conversions per layer %s; %.0f s%n",
            SEED, workerKills, kills, publisherKills.kills, brokerRestarts, s3Restarts, registryFaults.size(),
            registryRetries, jobRetries, done.size(), layerHexes.size(),
            statuses.published().values().stream().allMatch(n -> n == 1), duplicatePublications, incomplete.size(),
            deadLetters.size(), new TreeMap<>(conversions.values().stream()
                .collect(Collectors.groupingBy(n -> n, Collectors.counting()))),
            (System.nanoTime() - t0) / 1e9);
        killLines.forEach(l -> System.out.println("FAULTS kill " + l));
        assertTrue(workerKills >= (FULL ? 20 : 3), "worker kills " + kills + jvms.logsText());
        assertEquals(publisherKillPairs * 2, publisherKills.kills, "publisher kills");
      }
    }
  }

  private void submit(Path config, List<String> refs) {
    List<String> args = new ArrayList<>(List.of("submit", "--config", config.toString()));
    args.addAll(refs);
    CommandRun submitted = run(args.toArray(String[]::new));
    assertEquals(0, submitted.exitCode(), submitted.err());
  }

  /** Layer digest -> how many results on erofs.layer-results say "converted" rather than "reused". */
  private Map<String, Integer> conversionsPerLayer(Topics topics) {
    Map<String, Integer> n = new TreeMap<>();
    for (String r : records(topics.layerResults())) {
      LayerResult result = V.read(LayerResult.class, r.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      n.merge(result.result().layerDigest(), result.reused() ? 0 : 1, Integer::sum);
    }
    return n;
  }

  private static List<String> records(String topic) {
    List<String> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = KAFKA.bytesConsumer("read-" + UUID.randomUUID())) {
      c.subscribe(List.of(topic));
      long quietSince = System.nanoTime();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() - quietSince < TimeUnit.SECONDS.toNanos(3) && System.nanoTime() < end) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(300))) {
          out.add(new String(r.value(), java.nio.charset.StandardCharsets.UTF_8));
          quietSince = System.nanoTime();
        }
      }
    }
    return out;
  }

  private static final Pattern MULTIPART_PART = Pattern.compile("PUT \\S*/tree\\.verity\\?\\S*partNumber=\\d+\\S*");
  private static final Pattern ARTIFACT_WRITE = Pattern.compile("(PUT|POST) \\S*/(index\\.erofs|tree\\.verity)(\\?\\S*)?");
  private static final Pattern RESULT_WRITE = Pattern.compile("PUT \\S*/result\\.json");
  /** A worker's S3 requests before its conversion starts: the result check and the unfinished-uploads listing. */
  private static final Pattern BEFORE_CONVERSION = Pattern.compile("GET \\S*(/result\\.json|[?&]uploads\\S*)");

  private Catch arm(Phase phase, Map<String, HttpTap> taps, Random random) {
    Pattern request = switch (phase) {
      case MULTIPART_UPLOAD -> MULTIPART_PART;
      case UPLOAD -> ARTIFACT_WRITE;
      case EMISSION -> RESULT_WRITE;
      case CONVERSION -> null; // watched through the in-flight gauge
    };
    HttpTap.Stop stop = phase == Phase.UPLOAD && random.nextBoolean() ? HttpTap.Stop.BEFORE_SERVER
        : HttpTap.Stop.BEFORE_CLIENT;
    Map<String, HeldRequest> traps = new LinkedHashMap<>();
    if (request != null) {
      taps.forEach((w, t) -> traps.put(w, t.trap(request, stop)));
    }
    return new Catch(phase, traps, taps, stop);
  }

  /** Waiting for one worker kill of a phase, and meanwhile for the publisher's held requests. */
  private final class Catch {
    private final Phase phase;
    private final Map<String, HeldRequest> traps;
    private final Map<String, HttpTap> taps;
    private final HttpTap.Stop stop;

    Catch(Phase phase, Map<String, HeldRequest> traps, Map<String, HttpTap> taps, HttpTap.Stop stop) {
      this.phase = phase;
      this.traps = traps;
      this.taps = taps;
      this.stop = stop;
    }

    /** Kills the worker caught in the phase and starts it again; a description, or null on timeout. */
    String await(RoleProcesses jvms, PublisherKills publisher, Random random, Duration timeout) throws Exception {
      long end = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < end) {
        publisher.poll(random);
        for (String w : WORKERS) {
          String caught = caught(w, jvms, random);
          if (caught != null) {
            jvms.kill(w);
            HeldRequest t = traps.get(w);
            if (t != null) {
              t.release();
            }
            jvms.restart(w); // not waited for: the next catch may well be the other worker
            return w + " in " + phase + ": " + caught;
          }
        }
        Thread.sleep(25);
      }
      return null;
    }

    private String caught(String w, RoleProcesses jvms, Random random) throws InterruptedException {
      if (phase != Phase.CONVERSION) {
        HeldRequest t = traps.get(w);
        return t.reached() ? "held " + t.request() + " " + stop.name().toLowerCase().replace('_', ' ') : null;
      }
      if (jvms.metric(w, "erofs_worker_jobs_in_flight") < 1) {
        return null;
      }
      // a moment into the download (seeded), still before any artifact write of this job
      Thread.sleep(150 + random.nextInt(500));
      List<String> seen = taps.get(w).requests();
      String last = seen.isEmpty() ? "" : seen.get(seen.size() - 1);
      if (jvms.metric(w, "erofs_worker_jobs_in_flight") < 1 || !BEFORE_CONVERSION.matcher(last).matches()) {
        return null;
      }
      return "converting (last S3 request " + last + ")";
    }

    void disarm() {
      traps.forEach((w, t) -> taps.get(w).disarm(t));
    }
  }

  /**
   * The publisher's kill points, armed one after the other: its first manifest push after the blob pushes, then a
   * referrers-index (or wrapper tag) update after a manifest push. Each held request is answered by a SIGKILL and a
   * fresh publisher.
   */
  private final class PublisherKills {
    private static final Pattern MANIFEST_BY_DIGEST = Pattern.compile("/v2/.+/manifests/sha256:[0-9a-f]{64}");
    private static final Pattern TAG_UPDATE = Pattern.compile("/v2/.+/manifests/sha256-[0-9a-f]{64}");
    private final FaultInjectingProxy registry;
    private final RoleProcesses jvms;
    private final int pairs;
    private HeldRequest hold;
    int kills;

    PublisherKills(FaultInjectingProxy registry, RoleProcesses jvms, int pairs) {
      this.registry = registry;
      this.jvms = jvms;
      this.pairs = pairs;
      hold = registry.hold("PUT", MANIFEST_BY_DIGEST);
    }

    void poll(Random random) throws Exception {
      if (hold == null || !hold.await(Duration.ZERO)) {
        return;
      }
      jvms.kill("publish");
      hold.release();
      kills++;
      event("publisher killed holding " + hold.request() + (kills % 2 == 1 ? " (blobs pushed, manifest not)"
          : " (manifest pushed, referrers index not updated)"));
      jvms.restart("publish");
      hold = kills == pairs * 2 ? null
          : registry.hold("PUT", kills % 2 == 1 ? TAG_UPDATE : MANIFEST_BY_DIGEST);
    }

    /** Waits for the publisher kills still due. */
    void finish(Duration timeout, Random random) throws Exception {
      long end = System.nanoTime() + timeout.toNanos();
      while (hold != null && System.nanoTime() < end) {
        poll(random);
        Thread.sleep(50);
      }
      if (hold != null) {
        event("publisher kill " + (kills + 1) + " missed: no matching request");
        hold.release();
        hold = null;
      }
    }
  }
}

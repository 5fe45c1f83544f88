package dev.erofspipeline.launcher.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import static dev.erofspipeline.launcher.OpsEndpoint.get;

import dev.erofspipeline.embedded.EmbeddedS3;
import dev.erofspipeline.embedded.EmbeddedSupport;
import dev.erofspipeline.launcher.TestSigningKeys;
import dev.erofspipeline.launcher.bench.SyntheticRegistry.PushedImage;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.RegistryFixture;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The load test (a benchmark, run by {@code scripts/load-test.sh}, not by {@code mvn verify}): a
 * docker-registry seeded with generated images ({@link SyntheticRegistry}), Kafka and S3 in a JVM of
 * their own ({@link LoadInfrastructure}), the roles ingest, worker and publish as separate {@code
 * ./erofs-pipeline run} processes, then {@code ./erofs-pipeline backfill} of the whole registry.
 * Every second it samples the consumer lag each role exports on {@code /metrics} and the RSS of every
 * process; at the end it checks that every image was published exactly once with three S3 objects
 * per layer and no dead letters, and writes the figures, the samples and the plots.
 *
 * <p>Usage: {@code LoadBenchmark OUT_DIR WORK_DIR key=value...} with keys images (300), repos (30),
 * scale (1.0, layer sizes), workers (1, processes), publishers (1, processes), concurrency (2, layers in
 * flight per worker), xmx (512m, heap of each role), verify (5, images checked with {@code verify}),
 * timeoutMinutes (30).
 */
public final class LoadBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final RecordValidator V = RecordValidator.defaults();
  private static final Pattern LAG = Pattern.compile(
      "(?m)^erofs_kafka_consumer_lag\\{[^}]*topic=\"([^\"]+)\"[^}]*\\} ([0-9.eE+-]+)$");
  private static final Pattern BUCKET = Pattern.compile(
      "(?m)^erofs_worker_conversion_seconds_bucket\\{le=\"([^\"]+)\"[^}]*\\} ([0-9.eE+-]+)$");
  private static final Pattern ACCESS = Pattern.compile("\"(GET|HEAD|PUT|POST|PATCH|DELETE) (/v2/[^ ]*) HTTP/[0-9.]+\" (\\d{3})");
  private static final String BUCKET_NAME = "erofs-load";

  private final Path out;
  private final Path work;
  private final Map<String, String> opts;
  private final Path root = Path.of("").toAbsolutePath();
  private final Map<String, Process> processes = new LinkedHashMap<>();
  private final Map<String, Integer> ports = new LinkedHashMap<>();
  private final Map<String, Long> peakRss = new ConcurrentHashMap<>();
  /** CPU time (user + system, clock ticks) of each process at its first and its last sample. */
  private final Map<String, Long> cpuTicksFirst = new ConcurrentHashMap<>();
  private final Map<String, Long> cpuTicks = new ConcurrentHashMap<>();
  private final List<String> samples = new ArrayList<>();
  private final Topics topics = Topics.defaults();

  private LoadBenchmark(Path out, Path work, Map<String, String> opts) {
    this.out = out;
    this.work = work;
    this.opts = opts;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new TreeMap<>(Map.of("images", "300", "repos", "30", "scale", "1.0", "workers", "1",
        "publishers", "1", "concurrency", "2", "xmx", "512m", "verify", "5", "timeoutMinutes", "30"));
    for (int i = 2; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      if (kv.length != 2 || !opts.containsKey(kv[0])) {
        throw new IllegalArgumentException("unknown option " + args[i] + "; known: " + opts.keySet());
      }
      opts.put(kv[0], kv[1]);
    }
    LoadBenchmark b = new LoadBenchmark(Path.of(args[0]).toAbsolutePath(), Path.of(args[1]).toAbsolutePath(), opts);
    System.exit(b.run());
  }

  private int num(String key) {
    return Integer.parseInt(opts.get(key));
  }

  private static void log(String fmt, Object... args) {
    System.out.printf(Locale.ROOT, "[load %s] %s%n", Instant.now().toString().substring(11, 19), String.format(Locale.ROOT, fmt, args));
    System.out.flush();
  }

  private int run() throws Exception {
    Files.createDirectories(out);
    Files.createDirectories(work);
    String loadBefore = uptime();
    log("machine load before: %s", loadBefore);

    RegistryFixture registry = RegistryFixture.process().withAccessLog().start();
    try {
      return runWith(registry, loadBefore);
    } finally {
      stopAll(); // the roles first: deleting the registry's storage takes a while
      registry.close();
    }
  }

  private int runWith(RegistryFixture registry, String loadBefore) throws Exception {
    long g0 = System.nanoTime();
    SyntheticRegistry synthetic = new SyntheticRegistry(num("images"), num("repos"), Double.parseDouble(opts.get("scale")));
    List<PushedImage> images = synthetic.build(work.resolve("layout"), registry, 3);
    Map<String, Long> uniqueTar = new TreeMap<>();
    long layerRefs = 0;
    for (PushedImage i : images) {
      for (int l = 0; l < i.layerDigests().size(); l++) {
        uniqueTar.put(i.layerDigests().get(l), i.tarSizes().get(l));
        layerRefs++;
      }
    }
    long tarBytes = uniqueTar.values().stream().mapToLong(Long::longValue).sum();
    log("seeded %d images in %d repositories: %d layer references, %d unique layers, %.1f MB of tar, in %.0f s",
        images.size(), num("repos"), layerRefs, uniqueTar.size(), tarBytes / 1e6, (System.nanoTime() - g0) / 1e9);

    // Kafka and S3 in a JVM of their own
    Process infra = new ProcessBuilder(javaBin(), "-Xmx768m", "-cp", System.getProperty("java.class.path"),
        LoadInfrastructure.class.getName(), work.resolve("infra").toString(), BUCKET_NAME)
        .redirectError(work.resolve("infra.log").toFile()).start();
    processes.put("kafka+s3", infra);
    BufferedReader infraOut = new BufferedReader(new InputStreamReader(infra.getInputStream(), StandardCharsets.UTF_8));
    String ready = infraOut.readLine();
    if (ready == null || !ready.startsWith("READY ")) {
      throw new IllegalStateException("Kafka/S3 did not start: " + ready + "; see " + work.resolve("infra.log"));
    }
    Thread drain = new Thread(() -> {
      try {
        infraOut.transferTo(java.io.Writer.nullWriter());
      } catch (IOException closed) {
        // the process ended
      }
    }, "infra-stdout");
    drain.setDaemon(true);
    drain.start();
    String bootstrap = ready.split(" ")[1];
    String s3Endpoint = ready.split(" ")[2];

    TestSigningKeys keys = TestSigningKeys.create(Files.createDirectories(work.resolve("pki")));
    Path access = Files.writeString(work.resolve("s3-access"), EmbeddedS3.DEFAULT_ACCESS_KEY + "\n");
    Path secret = Files.writeString(work.resolve("s3-secret"), EmbeddedS3.DEFAULT_SECRET_KEY + "\n");
    Path config = Files.writeString(work.resolve("erofs.properties"), String.join("\n",
        "kafka.bootstrap=" + bootstrap,
        "s3.endpoint=" + s3Endpoint,
        "s3.bucket=" + BUCKET_NAME,
        "s3.accessKeyFile=" + access,
        "s3.secretKeyFile=" + secret,
        "registry.insecure=" + registry.host(),
        "registry.allowlist=" + registry.host(),
        "ingest.registryRate=0",
        "worker.concurrency=" + num("concurrency"),
        "signing.keyFile=" + keys.key(),
        "signing.certFile=" + keys.chain(),
        "http.bind=127.0.0.1",
        "metrics.lagIntervalSeconds=1",
        ""));
    List<String> roles = new ArrayList<>(List.of("ingest"));
    roles.addAll(processNames("worker", num("workers")));
    roles.addAll(processNames("publish", num("publishers")));
    for (String name : roles) {
      int port = EmbeddedSupport.freeLoopbackPort();
      ports.put(name, port);
      String role = name.replaceAll("-[0-9]+$", "");
      ProcessBuilder pb = new ProcessBuilder(root.resolve("erofs-pipeline").toString(), "run", "--role", role,
          "--config", config.toString(), "--set", "http.port=" + port)
          .redirectErrorStream(true).redirectOutput(work.resolve(name + ".log").toFile());
      pb.environment().put("EROFS_PIPELINE_JAVA_OPTS", "-Xmx" + opts.get("xmx"));
      processes.put(name, pb.start());
    }
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    for (String name : roles) {
      while (get(ports.get(name), "/health/ready") == null) {
        if (System.nanoTime() > end || !processes.get(name).isAlive()) {
          throw new IllegalStateException(name + " not ready; see " + work.resolve(name + ".log"));
        }
        Thread.sleep(200);
      }
    }
    log("roles ready: %s (heap %s each, worker concurrency %s)", roles, opts.get("xmx"), opts.get("concurrency"));

    long accessLogStart = Files.size(registry.logFile());
    Sampler sampler = new Sampler(roles, registry.pid());
    Thread sampling = new Thread(sampler, "load-sampler");
    sampling.setDaemon(true);
    long t0 = System.nanoTime();
    long backfillStartMillis = System.currentTimeMillis();
    sampler.start = t0;
    sampling.start();

    Process backfill = new ProcessBuilder(root.resolve("erofs-pipeline").toString(), "backfill", "--registry",
        registry.host(), "--rate", "0", "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(work.resolve("backfill.log").toFile()).start();
    processes.put("backfill", backfill);
    if (!backfill.waitFor(10, TimeUnit.MINUTES) || backfill.exitValue() != 0) {
      throw new IllegalStateException("backfill failed: " + Files.readString(work.resolve("backfill.log")));
    }
    double backfillSeconds = (System.nanoTime() - t0) / 1e9;
    log("backfill queued every tag in %.1f s", backfillSeconds);

    // wait for every image to be published, then a quiet spell in which a late duplicate would show
    Map<String, PushedImage> byDigest = new HashMap<>();
    images.forEach(i -> byDigest.put(i.digest(), i));
    Map<String, ImageStatus> latest = new HashMap<>();
    Map<String, Integer> statusBytes = new HashMap<>();
    Map<String, Integer> publishedRecords = new TreeMap<>();
    Map<String, Long> firstStatusAt = new HashMap<>();
    Map<String, Long> publishedAt = new HashMap<>();
    long lastPublished = 0;
    int failed = 0;
    try (KafkaConsumer<String, byte[]> c = consumer(bootstrap)) {
      List<TopicPartition> parts = partitions(c, topics.status());
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(num("timeoutMinutes"));
      long quietUntil = Long.MAX_VALUE;
      int lastReported = -1;
      while (System.nanoTime() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<String, byte[]> rec : c.poll(Duration.ofMillis(500))) {
          ImageStatus s = V.read(ImageStatus.class, rec.value());
          latest.put(s.subjectDigest(), s);
          statusBytes.put(s.subjectDigest(), rec.value().length);
          firstStatusAt.merge(s.subjectDigest(), rec.timestamp(), Math::min);
          if (s.state() == ImageStatus.State.PUBLISHED) {
            publishedRecords.merge(s.subjectDigest(), 1, Integer::sum);
            publishedAt.merge(s.subjectDigest(), rec.timestamp(), Math::min);
            lastPublished = Math.max(lastPublished, rec.timestamp());
          } else if (s.state() == ImageStatus.State.FAILED) {
            failed++;
            log("FAILED %s: %s", s.subjectDigest(), s.reason());
          }
        }
        int done = (int) byDigest.keySet().stream().filter(publishedRecords::containsKey).count();
        if (done / 25 != lastReported / 25) {
          lastReported = done;
          log("%d/%d images published", done, byDigest.size());
        }
        if (done == byDigest.size() && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        }
      }
    }
    long finishedNanos = System.nanoTime();
    sampler.stop = true;
    sampling.join(5000);
    double seconds = lastPublished > 0 ? (lastPublished - backfillStartMillis) / 1000.0 : (finishedNanos - t0) / 1e9;
    String loadAfter = uptime();
    Map<String, Integer> registryRequests = registryRequests(registry.logFile(), accessLogStart);
    log("all published after %.1f s; load now %s", seconds, loadAfter);

    // the topics, read again from the start
    Map<String, Long> jobAt = new HashMap<>();
    Map<String, Integer> jobsPerLayer = new TreeMap<>();
    Map<String, Integer> convertedPerLayer = new TreeMap<>();
    List<Double> queueToResult = new ArrayList<>();
    int deadLetters;
    int requests;
    try (KafkaConsumer<String, byte[]> c = consumer(bootstrap)) {
      requests = readAll(c, topics.imageRequests()).size();
      for (ConsumerRecord<String, byte[]> r : readAll(c, topics.layerJobs())) {
        jobAt.merge(r.key(), r.timestamp(), Math::min);
        jobsPerLayer.merge(r.key(), 1, Integer::sum);
      }
      for (ConsumerRecord<String, byte[]> r : readAll(c, topics.layerResults())) {
        LayerResult res = V.read(LayerResult.class, r.value());
        if (!res.reused()) {
          convertedPerLayer.merge(r.key(), 1, Integer::sum);
          Long job = jobAt.get(r.key());
          if (job != null) {
            queueToResult.add((r.timestamp() - job) / 1000.0);
          }
        }
      }
      deadLetters = readAll(c, topics.deadLetters()).size();
    }

    // S3: exactly three objects per unique layer
    Map<String, List<String>> perLayer = new TreeMap<>();
    List<String> unexpected = new ArrayList<>();
    Pattern staged = Pattern.compile("layers/sha256/([0-9a-f]{64})/[^/]+/([^/]+)");
    try (S3Client s3 = S3Client.builder().endpointOverride(URI.create(s3Endpoint)).region(Region.US_EAST_1)
        .forcePathStyle(true).credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(EmbeddedS3.DEFAULT_ACCESS_KEY, EmbeddedS3.DEFAULT_SECRET_KEY))).build()) {
      for (S3Object o : s3.listObjectsV2Paginator(r -> r.bucket(BUCKET_NAME)).contents()) {
        Matcher m = staged.matcher(o.key());
        if (m.matches()) {
          perLayer.computeIfAbsent("sha256:" + m.group(1), h -> new ArrayList<>()).add(m.group(2));
        } else {
          unexpected.add(o.key());
        }
      }
    }
    int layersWithoutThree = 0;
    for (String d : uniqueTar.keySet()) {
      List<String> names = perLayer.getOrDefault(d, List.of());
      if (!names.stream().sorted().toList().equals(List.of("index.erofs", "result.json", "tree.verity"))) {
        layersWithoutThree++;
      }
    }
    Set<String> strayLayers = new TreeSet<>(perLayer.keySet());
    strayLayers.removeAll(uniqueTar.keySet());

    // registry: one image-bundle referrer per image in its fallback tag index
    int bundlesWrong = 0;
    for (PushedImage i : images) {
      long bundles = 0;
      try {
        JsonNode index = JSON.readTree(registry.http().getManifest(i.repository(),
            "sha256-" + i.digest().substring("sha256:".length())).bytes());
        for (JsonNode m : index.path("manifests")) {
          if (MediaTypes.EROFS_DMVERITY_BUNDLE.equals(m.path("artifactType").asText())) {
            bundles++;
          }
        }
      } catch (RuntimeException | IOException missing) {
        bundles = 0;
      }
      if (bundles != 1) {
        bundlesWrong++;
      }
    }

    // a node's check of a few images
    int verified = 0;
    int verifyFailed = 0;
    for (int k = 0; k < images.size() && num("verify") > 0; k += Math.max(1, images.size() / num("verify"))) {
      PushedImage i = images.get(k);
      Process v = new ProcessBuilder(root.resolve("erofs-pipeline").toString(), "verify",
          registry.host() + "/" + i.repository() + ":" + i.tag(), "--ca", keys.ca().toString(),
          "--insecure-registry", registry.host())
          .redirectErrorStream(true).redirectOutput(work.resolve("verify-" + k + ".log").toFile()).start();
      if (v.waitFor(2, TimeUnit.MINUTES) && v.exitValue() == 0) {
        verified++;
      } else {
        verifyFailed++;
      }
    }

    // what the worker measured itself: its conversion histogram
    List<double[]> buckets = new ArrayList<>();
    for (String name : roles) {
      if (name.startsWith("worker")) {
        String m = get(ports.get(name), "/metrics");
        Matcher x = BUCKET.matcher(m == null ? "" : m);
        int n = 0;
        while (x.find()) {
          double le = x.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(x.group(1));
          double count = Double.parseDouble(x.group(2));
          if (buckets.size() <= n) {
            buckets.add(new double[] {le, 0});
          }
          buckets.get(n)[1] += count;
          n++;
        }
      }
    }

    // lost: images never published, layers without their three objects; duplicated: an image
    // published more than once, a layer converted more than once, objects of layers nobody asked for
    int lostImages = (int) byDigest.keySet().stream().filter(d -> !publishedRecords.containsKey(d)).count();
    int duplicatePublications = publishedRecords.values().stream().mapToInt(n -> Math.max(0, n - 1)).sum();
    int duplicateConversions = convertedPerLayer.values().stream().mapToInt(n -> Math.max(0, n - 1)).sum();
    List<Double> imageLatency = new ArrayList<>();
    publishedAt.forEach((d, at) -> imageLatency.add((at - firstStatusAt.get(d)) / 1000.0));

    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("measuredAt", Instant.now().toString());
    summary.put("options", opts);
    summary.put("loadBefore", loadBefore);
    summary.put("loadAfter", loadAfter);
    summary.put("images", images.size());
    summary.put("repositories", num("repos"));
    summary.put("layerReferences", layerRefs);
    summary.put("uniqueLayers", uniqueTar.size());
    summary.put("uniqueTarMB", round(tarBytes / 1e6));
    summary.put("imageRequests", requests);
    summary.put("layerJobs", jobsPerLayer.values().stream().mapToInt(Integer::intValue).sum());
    summary.put("layersConverted", convertedPerLayer.size());
    summary.put("backfillSeconds", round(backfillSeconds));
    summary.put("seconds", round(seconds));
    summary.put("imagesPerMinute", round(images.size() / seconds * 60));
    summary.put("layersPerMinute", round(convertedPerLayer.size() / seconds * 60));
    summary.put("layerReferencesPerMinute", round(layerRefs / seconds * 60));
    summary.put("tarMBPerSecond", round(tarBytes / 1e6 / seconds));
    summary.put("dedupRatio", round((double) layerRefs / Math.max(1, convertedPerLayer.size())));
    summary.put("peakRssMB", peakRssMb());
    // from the backfill's start, so the JVMs' start-up does not count
    Map<String, Double> cpu = new TreeMap<>();
    cpuTicks.forEach((k, v) -> cpu.put(k, round((v - cpuTicksFirst.get(k)) / 100.0)));
    summary.put("cpuSecondsDuringBackfill", cpu);
    summary.put("layerQueueToResultP50s", round(percentile(queueToResult, 50)));
    summary.put("layerQueueToResultP95s", round(percentile(queueToResult, 95)));
    summary.put("layerWorkerP50s", round(histogramPercentile(buckets, 50)));
    summary.put("layerWorkerP95s", round(histogramPercentile(buckets, 95)));
    summary.put("imageQueuedToPublishedP50s", round(percentile(imageLatency, 50)));
    summary.put("imageQueuedToPublishedP95s", round(percentile(imageLatency, 95)));
    summary.put("registryRequests", registryRequests);
    // every role keeps the latest status of every image in memory (StatusTopic): this is its size on the wire
    summary.put("statusRecordBytesMean", round(statusBytes.values().stream().mapToInt(Integer::intValue).average().orElse(0)));
    summary.put("lostImages", lostImages);
    summary.put("failedStatusRecords", failed);
    summary.put("layersWithoutThreeObjects", layersWithoutThree);
    summary.put("duplicatePublications", duplicatePublications);
    summary.put("duplicateConversions", duplicateConversions);
    summary.put("strayLayerObjects", strayLayers.size());
    summary.put("unexpectedObjects", unexpected.size());
    summary.put("imagesWithoutExactlyOneBundleReferrer", bundlesWrong);
    summary.put("deadLetters", deadLetters);
    summary.put("verifiedImages", verified);
    summary.put("verifyFailures", verifyFailed);
    Files.writeString(out.resolve("summary.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
    Files.write(out.resolve("samples.csv"), samples);
    plots(roles);
    log("summary: %s", JSON.writeValueAsString(summary));
    boolean clean = lostImages == 0 && failed == 0 && layersWithoutThree == 0 && duplicatePublications == 0
        && duplicateConversions == 0 && strayLayers.isEmpty() && unexpected.isEmpty() && bundlesWrong == 0
        && deadLetters == 0 && verifyFailed == 0;
    log(clean ? "nothing lost, nothing duplicated" : "LOST OR DUPLICATED WORK: see summary.json");
    return clean ? 0 : 1;
  }

  /** {@code role} alone, or {@code role-1 … role-n}. */
  private static List<String> processNames(String role, int n) {
    List<String> names = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      names.add(n == 1 ? role : role + "-" + i);
    }
    return names;
  }

  /** Samples lag and memory once a second into {@link #samples}. */
  private final class Sampler implements Runnable {
    private final List<String> roles;
    private final Map<String, Process> sampled = new LinkedHashMap<>(processes);
    private final long registryPid;
    volatile long start;
    volatile boolean stop;

    Sampler(List<String> roles, long registryPid) {
      this.roles = roles;
      this.registryPid = registryPid;
    }

    /** The topics read by consumer groups (every publisher reads erofs.layer-results without one: no lag). */
    private List<String> lagTopics() {
      return List.of(topics.imageRequests(), topics.layerJobs(), topics.images());
    }

    @Override
    public void run() {
      List<String> header = new ArrayList<>(List.of("seconds"));
      lagTopics().forEach(t -> header.add("lag:" + t));
      sampled.keySet().forEach(n -> header.add("rssMB:" + n));
      header.add("rssMB:docker-registry");
      header.add("load1");
      samples.add(String.join(",", header));
      while (!stop) {
        long tick = System.nanoTime();
        Map<String, Double> lag = new HashMap<>();
        for (String name : roles) {
          String m = get(ports.get(name), "/metrics");
          if (m != null) {
            Matcher x = LAG.matcher(m);
            while (x.find()) {
              lag.merge(x.group(1), Double.parseDouble(x.group(2)), Double::sum);
            }
          }
        }
        List<String> row = new ArrayList<>();
        row.add(String.format(Locale.ROOT, "%.1f", (tick - start) / 1e9));
        lagTopics().forEach(t -> row.add(String.format(Locale.ROOT, "%.0f", lag.getOrDefault(t, 0.0))));
        for (Map.Entry<String, Process> e : sampled.entrySet()) {
          row.add(sampleProcess(e.getKey(), e.getValue().isAlive() ? e.getValue().pid() : -1));
        }
        row.add(sampleProcess("docker-registry", registryPid));
        row.add(loadAverage());
        samples.add(String.join(",", row));
        long sleep = 1000 - (System.nanoTime() - tick) / 1_000_000;
        if (sleep > 0) {
          try {
            Thread.sleep(sleep);
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    }

    /** VmRSS now (MB), recording VmHWM, the kernel's peak, as the peak, and the CPU time so far. */
    private String sampleProcess(String name, long pid) {
      if (pid < 0) {
        return "";
      }
      try {
        // /proc/PID/stat: the command may hold spaces, so count fields after its closing parenthesis
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        cpuTicksFirst.putIfAbsent(name, ticks);
        cpuTicks.put(name, ticks);
        long rss = 0;
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
          if (l.startsWith("VmRSS:")) {
            rss = kb(l);
          } else if (l.startsWith("VmHWM:")) {
            peakRss.merge(name, kb(l), Math::max);
          }
        }
        return Long.toString(rss / 1024);
      } catch (IOException gone) {
        return "";
      }
    }
  }

  private static long kb(String statusLine) {
    return Long.parseLong(statusLine.replaceAll("[^0-9]", ""));
  }

  private Map<String, Long> peakRssMb() {
    Map<String, Long> mb = new LinkedHashMap<>();
    peakRss.forEach((k, v) -> mb.put(k, v / 1024));
    return new TreeMap<>(mb);
  }

  /** The lag plot (records per topic) and the memory plot (RSS per process) from the samples. */
  private void plots(List<String> roles) throws IOException {
    if (samples.size() < 2) {
      return;
    }
    String[] header = samples.get(0).split(",", -1);
    List<String[]> rows = samples.subList(1, samples.size()).stream().map(r -> r.split(",", -1)).toList();
    double[] x = rows.stream().mapToDouble(r -> Double.parseDouble(r[0])).toArray();
    LineChart lag = new LineChart("Consumer lag during the backfill (" + opts.get("images") + " images)",
        "seconds since the backfill started", "records not yet committed");
    LineChart rss = new LineChart("Resident memory per process", "seconds since the backfill started", "RSS (MB)");
    for (int col = 1; col < header.length; col++) {
      final int c = col;
      double[] y = rows.stream().mapToDouble(r -> r[c].isEmpty() ? 0 : Double.parseDouble(r[c])).toArray();
      if (header[col].startsWith("lag:")) {
        lag.series(header[col].substring(4), x, y);
      } else if (header[col].startsWith("rssMB:")) {
        rss.series(header[col].substring(6), x, y);
      }
    }
    lag.writePng(out.resolve("lag.png"));
    rss.writePng(out.resolve("rss.png"));
  }

  /** Requests in the registry's access log after {@code from}, by method and kind of path. */
  private static Map<String, Integer> registryRequests(Path log, long from) throws IOException {
    Map<String, Integer> counts = new TreeMap<>();
    byte[] all = Files.readAllBytes(log);
    String text = new String(all, (int) from, all.length - (int) from, StandardCharsets.UTF_8);
    Matcher m = ACCESS.matcher(text);
    while (m.find()) {
      String path = m.group(2);
      String kind = path.contains("/blobs/uploads") ? "uploads" : path.contains("/blobs/") ? "blobs"
          : path.contains("/manifests/") ? "manifests" : path.contains("/tags/list") ? "tags"
          : path.startsWith("/v2/_catalog") ? "catalog" : "other";
      counts.merge(m.group(1) + " " + kind, 1, Integer::sum);
      counts.merge("total", 1, Integer::sum);
    }
    return counts;
  }

  private static KafkaConsumer<String, byte[]> consumer(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
    return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
  }

  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
    List<TopicPartition> parts = new ArrayList<>();
    for (PartitionInfo p : c.partitionsFor(topic, Duration.ofSeconds(10))) {
      parts.add(new TopicPartition(topic, p.partition()));
    }
    return parts;
  }

  /** Every record of {@code topic} up to its current end. */
  private static List<ConsumerRecord<String, byte[]>> readAll(KafkaConsumer<String, byte[]> c, String topic) {
    List<TopicPartition> parts = partitions(c, topic);
    c.assign(parts);
    c.seekToBeginning(parts);
    Map<TopicPartition, Long> ends = c.endOffsets(parts);
    List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (parts.stream().anyMatch(p -> c.position(p) < ends.get(p)) && System.nanoTime() < deadline) {
      c.poll(Duration.ofMillis(500)).forEach(all::add);
    }
    return all;
  }

  static double percentile(Collection<Double> values, double p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    List<Double> sorted = values.stream().sorted().toList();
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, rank - 1));
  }

  /** The upper bound of the histogram bucket holding the p-th percentile (cumulative buckets, ascending). */
  static double histogramPercentile(List<double[]> cumulative, double p) {
    if (cumulative.isEmpty()) {
      return Double.NaN;
    }
    double total = cumulative.get(cumulative.size() - 1)[1];
    for (double[] b : cumulative) {
      if (b[1] >= p / 100.0 * total) {
        return b[0];
      }
    }
    return Double.NaN;
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }

  private static String uptime() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String loadAverage() {
    return uptime().split(" ")[0];
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** SIGTERM to every process started here, newest first, then SIGKILL to what is left after 20 s. */
  private void stopAll() {
    List<Process> all = new ArrayList<>(processes.values());
    java.util.Collections.reverse(all);
    for (Process p : all) {
      p.destroy();
    }
    for (Process p : all) {
      try {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}

package dev.erofspipeline.convert.worker.bench;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.worker.ConvertWorker;
import dev.erofspipeline.convert.worker.MultipartUploadOutputStream;
import dev.erofspipeline.convert.worker.RetryPolicy;
import dev.erofspipeline.convert.worker.WorkerMetrics;
import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.BenchmarkLayers;
import dev.erofspipeline.testkit.Benchmarks;
import dev.erofspipeline.testkit.BenchmarkLayers.Layer;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Worker throughput against the converter core on the same layers, in one run (not a test).
 *
 * <p>Layers ({@link BenchmarkLayers}: tar+gzip, log-uniform sizes, cached in a directory) are
 * pushed to a real docker-registry; the worker streams them from there, converts, uploads to
 * S3Proxy and emits results on a real broker, all in this JVM. The baseline converts the same blobs
 * from the local files at the same parallelism. Throughput is MB/s of uncompressed tar: worker from
 * the first job produced to the last result consumed (after warm-up jobs have made it join its
 * group and compiled its S3 and Kafka paths), core from first to last conversion.
 *
 * <p>Besides the ratios it prints where the worker's time goes (its per-phase timers, and the rest:
 * Kafka poll, produce and commit) and who used the CPU during the worker run: threads of this JVM
 * grouped by role (converter, HTTP client, broker, S3Proxy, ...) and the docker-registry process.
 *
 * <p>Arguments: {@code [layers] [largest MiB] [smallest MiB] [cache dir]} (defaults 40 200 2
 * /tmp/erofs-bench-layers).
 */
public final class WorkerBenchmark {
  private static final RecordValidator V = RecordValidator.defaults();
  private static final int WARM_UP_JOBS = 4;

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    int maxMiB = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    int minMiB = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    Path cache = Path.of(args.length > 3 ? args[3] : "/tmp/erofs-bench-layers");
    int cores = Runtime.getRuntime().availableProcessors();
    List<Layer> layers = BenchmarkLayers.generate(cache, count, minMiB, maxMiB, 42);
    List<Layer> warmUp = BenchmarkLayers.generate(cache, WARM_UP_JOBS, 1, 2, 7);
    long tarTotal = layers.stream().mapToLong(Layer::tarSize).sum();
    System.out.printf(Locale.ROOT, "layers: %d (%d..%d MiB of tar, log-uniform), %.1f MB of tar, %.1f MB gzip; %d cores; load %s%n",
        count, minMiB, maxMiB, tarTotal / 1e6, layers.stream().mapToLong(Layer::blobSize).sum() / 1e6, cores, Benchmarks.loadAverage());
    try (KafkaFixture kafka = KafkaFixture.create().start();
        S3Fixture s3 = S3Fixture.create().start();
        RegistryFixture registry = RegistryFixture.create().start();
        RegistryClient client = new RegistryClient(registry.host(), RegistryOptions.builder().insecureHost(registry.host()).build())) {
      for (Layer l : concat(warmUp, layers)) {
        client.pushBlob("bench/layers", BlobSource.of(l.blob()));
      }
      System.out.printf(Locale.ROOT, "registry download alone (one stream at a time, digest checked): %.1f MB/s of tar%n",
          downloadThroughput(client, layers, tarTotal));
      double[] core = new double[3];
      double[] worker = new double[3];
      for (int p = 1; p <= 2; p++) {
        long cpu0 = CpuSnapshot.jvmNanos();
        core[p] = coreThroughput(layers, p);
        double coreCpu = (CpuSnapshot.jvmNanos() - cpu0) / 1e9;
        WorkerRun run = workerRun(kafka, s3, registry, warmUp, layers, p, tarTotal);
        worker[p] = run.megabytesPerSecond();
        System.out.printf(Locale.ROOT, "parallelism %d: core %.1f MB/s, worker %.1f MB/s, worker/core %.0f%% (load %s)%n",
            p, core[p], worker[p], 100 * worker[p] / core[p], Benchmarks.loadAverage());
        // CPU per MB does not depend on how much of the machine other processes take: its ratio is
        // what the worker could reach with both cores to itself
        System.out.printf(Locale.ROOT, "  CPU per MB of tar: core %.2f ms, worker with broker, S3Proxy and registry %.2f ms (core/worker %.0f%%)%n",
            1e3 * coreCpu / (tarTotal / 1e6), 1e3 * run.cpuSeconds() / (tarTotal / 1e6), 100 * coreCpu / run.cpuSeconds());
      }
      System.out.printf(Locale.ROOT, "parallel efficiency 1->2: core %.0f%%, worker %.0f%%%n",
          100 * core[2] / (2 * core[1]), 100 * worker[2] / (2 * worker[1]));
    }
  }

  private static double downloadThroughput(RegistryClient client, List<Layer> layers, long tarTotal) throws Exception {
    long t0 = System.nanoTime();
    for (Layer l : layers) {
      try (InputStream in = client.openBlob("bench/layers", l.digest())) {
        in.transferTo(OutputStream.nullOutputStream());
      }
    }
    return tarTotal / 1e6 / ((System.nanoTime() - t0) / 1e9);
  }

  private static double coreThroughput(List<Layer> layers, int parallelism) throws Exception {
    LayerConverter converter = new LayerConverter(ConversionLimits.DEFAULT,
        LayerConverter.Options.DEFAULT.withParallel(parallelism < Runtime.getRuntime().availableProcessors()));
    return BenchmarkLayers.tarThroughput(layers, parallelism, (in, l) ->
        converter.convert(in, l.digest(), true, l.diffId(), OutputStream.nullOutputStream(), OutputStream.nullOutputStream()));
  }


  /** Throughput of one worker run, and the CPU this JVM (worker, broker, S3Proxy) and docker-registry used for it. */
  private record WorkerRun(double megabytesPerSecond, double cpuSeconds) {}

  private static WorkerRun workerRun(KafkaFixture kafka, S3Fixture s3, RegistryFixture registry, List<Layer> warmUp,
      List<Layer> layers, int parallelism, long tarTotal) throws Exception {
    Topics topics = Topics.withPrefix("bench" + UUID.randomUUID().toString().substring(0, 8) + ".");
    kafka.createTopic(topics.layerJobs(), 4);
    kafka.createTopic(topics.layerResults(), 1);
    kafka.createTopic(topics.deadLetters(), 1);
    ConvertWorker.Config config = new ConvertWorker.Config(kafka.bootstrapServers(), topics, "bench", parallelism,
        Duration.ofMinutes(10), Duration.ofSeconds(30), s3.client(), s3.bucket(), topics.layerJobs(),
        MultipartUploadOutputStream.MIN_PART_SIZE,
        RegistryOptions.builder().insecureHost(registry.host()).build(), ConversionLimits.DEFAULT, RetryPolicy.DEFAULT,
        "bench");
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (ConvertWorker worker = new ConvertWorker(config, meters).start();
        KafkaConsumer<byte[], byte[]> results = kafka.bytesConsumer("bench-reader-" + UUID.randomUUID());
        KafkaProducer<byte[], byte[]> producer = kafka.bytesProducer()) {
      results.subscribe(List.of(topics.layerResults(), topics.deadLetters()));
      for (Layer l : warmUp) {
        send(producer, topics, registry, l);
      }
      KafkaFixture.poll(results, warmUp.size(), Duration.ofMinutes(2));
      Map<WorkerMetrics.Phase, Duration> before = phaseTotals(worker.metrics());
      CpuSnapshot cpu0 = CpuSnapshot.take(registry.pid());
      long t0 = System.nanoTime();
      InFlightSampler sampler = new InFlightSampler(worker.metrics());
      for (Layer l : layers) {
        send(producer, topics, registry, l);
      }
      producer.flush();
      int received = KafkaFixture.poll(results, layers.size(), Duration.ofMinutes(30)).size();
      double seconds = (System.nanoTime() - t0) / 1e9;
      double meanInFlight = sampler.stop();
      CpuSnapshot cpu1 = CpuSnapshot.take(registry.pid());
      if (received != layers.size()) {
        throw new IllegalStateException("only " + received + " of " + layers.size() + " results arrived");
      }
      Map<WorkerMetrics.Phase, Duration> after = phaseTotals(worker.metrics());
      StringBuilder phases = new StringBuilder();
      double inPhases = 0;
      for (WorkerMetrics.Phase p : WorkerMetrics.Phase.values()) {
        double s = after.get(p).minus(before.get(p)).toNanos() / 1e9;
        inPhases += s;
        phases.append(String.format(Locale.ROOT, "%s %.1f ms, ", p.name().toLowerCase(Locale.ROOT), 1000 * s / layers.size()));
      }
      System.out.printf(Locale.ROOT, "  worker, %d in flight: %.2f s; per job: %soutside the handler (Kafka poll, produce, commit) %.1f ms%n",
          parallelism, seconds, phases, 1000 * (seconds * parallelism - inPhases) / layers.size());
      // how well the slots were kept busy, whatever the load: the consumption model's own figure
      System.out.printf(Locale.ROOT, "  layers converting, mean over the run (sampled every 5 ms): %.2f of %d%n",
          meanInFlight, parallelism);
      System.out.println("  CPU during that run (" + String.format(Locale.ROOT, "%.2f", seconds * Runtime.getRuntime().availableProcessors())
          + " core-seconds available): " + cpu1.minus(cpu0));
      return new WorkerRun(tarTotal / 1e6 / seconds,
          (cpu1.processNanos - cpu0.processNanos) / 1e9 + (cpu1.registryNanos - cpu0.registryNanos) / 1e9);
    }
  }

  /** Samples the worker's jobs-in-flight gauge on a thread of its own until stopped. */
  private static final class InFlightSampler {
    private final Thread thread;
    private volatile boolean running = true;
    private long samples;
    private long sum;

    InFlightSampler(WorkerMetrics metrics) {
      thread = new Thread(() -> {
        while (running) {
          sum += metrics.inFlight();
          samples++;
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "bench-in-flight-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    /** The mean number of jobs in flight over the samples. */
    double stop() throws InterruptedException {
      running = false;
      thread.join();
      return samples == 0 ? 0 : (double) sum / samples;
    }
  }

  private static Map<WorkerMetrics.Phase, Duration> phaseTotals(WorkerMetrics m) {
    Map<WorkerMetrics.Phase, Duration> totals = new LinkedHashMap<>();
    for (WorkerMetrics.Phase p : WorkerMetrics.Phase.values()) {
      totals.put(p, m.phaseTotal(p));
    }
    return totals;
  }

  /** CPU seconds used so far by this JVM (in total and per group of threads) and by the registry process. */
  private record CpuSnapshot(long processNanos, Map<String, Long> threadNanos, long registryNanos) {
    static CpuSnapshot take(long registryPid) {
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      Map<String, Long> byGroup = new HashMap<>();
      for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
        long ns = t == null ? -1 : threads.getThreadCpuTime(t.getThreadId());
        if (ns > 0) {
          byGroup.merge(t.getThreadId() + " " + group(t.getThreadName()), ns, Long::sum);
        }
      }
      return new CpuSnapshot(jvmNanos(), byGroup, (long) (Benchmarks.processCpuSeconds(registryPid) * 1e9));
    }

    static long jvmNanos() {
      return (long) (Benchmarks.jvmCpuSeconds() * 1e9);
    }

    /** Per group: the CPU of threads alive at the end of the run (those that ended are in the remainder). */
    String minus(CpuSnapshot earlier) {
      Map<String, Long> groups = new HashMap<>();
      threadNanos.forEach((idAndGroup, ns) -> groups.merge(idAndGroup.substring(idAndGroup.indexOf(' ') + 1),
          ns - earlier.threadNanos.getOrDefault(idAndGroup, 0L), Long::sum));
      long process = processNanos - earlier.processNanos;
      StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "this JVM %.2f s (", process / 1e9));
      groups.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
          .filter(e -> e.getValue() > 10_000_000L)
          .forEach(e -> b.append(String.format(Locale.ROOT, "%s %.2f s, ", e.getKey(), e.getValue() / 1e9)));
      long grouped = groups.values().stream().mapToLong(Long::longValue).sum();
      return b + String.format(Locale.ROOT, "threads that ended (layer-decode), GC and JIT %.2f s), docker-registry process %.2f s",
          (process - grouped) / 1e9, (registryNanos - earlier.registryNanos) / 1e9);
    }

    private static String group(String thread) {
      if (thread.startsWith("layer-job-") || thread.equals("layer-decode")) {
        return "worker conversion";
      }
      if (thread.startsWith("HttpClient-")) {
        return "registry HTTP client";
      }
      if (thread.startsWith("S3Proxy")) {
        return "S3Proxy";
      }
      if (thread.contains("KafkaProducer[") || thread.startsWith("kafka-producer") || thread.startsWith("kafka-coordinator")
          || thread.equals("main")) {
        return "Kafka clients and benchmark";
      }
      if (thread.startsWith("sdk-") || thread.startsWith("idle-connection") || thread.startsWith("aws-")) {
        return "S3 client";
      }
      if (thread.startsWith("data-plane") || thread.startsWith("kafka-") || thread.startsWith("broker-")
          || thread.startsWith("quorum-") || thread.startsWith("group-coordinator") || thread.startsWith("raft")
          || thread.startsWith("ExpirationReaper") || thread.startsWith("executor-") || thread.startsWith("controller")
          || thread.startsWith("LogDirFailureHandler") || thread.startsWith("share-") || thread.startsWith("transaction")) {
        return "Kafka broker";
      }
      return "other JVM threads";
    }
  }

  private static List<Layer> concat(List<Layer> a, List<Layer> b) {
    List<Layer> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, Topics topics, RegistryFixture registry, Layer l) {
    LayerJob job = new LayerJob(registry.host(), "bench/layers",
        new LayerJob.Descriptor(l.digest(), l.blobSize(), MediaTypes.OCI_LAYER_TAR_GZIP), l.diffId(),
        ConversionProfile.TAR_INDEX, List.of(new LayerJob.Subject("bench/layers", l.digest(), null)), null, false,
        "bench");
    producer.send(new ProducerRecord<>(topics.layerJobs(), l.digest().getBytes(StandardCharsets.UTF_8), V.write(job)));
  }
}

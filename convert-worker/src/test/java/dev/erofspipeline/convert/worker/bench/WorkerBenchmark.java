package dev.erofspipeline.convert.worker.bench;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.worker.ConvertWorker;
import dev.erofspipeline.convert.worker.MultipartUploadOutputStream;
import dev.erofspipeline.convert.worker.RetryPolicy;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import dev.erofspipeline.testkit.TarLayer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Worker throughput against the converter core on the same layers, in one run (not a test).
 *
 * <p>Layers are pushed as blobs to a real docker-registry; the worker streams them from there,
 * converts, uploads to S3Proxy and emits results on a real broker. The baseline converts the same
 * blobs from memory with the same parallelism. Throughput is MB/s of uncompressed tar, from the
 * first job produced to the last result consumed (worker; measured after a warm-up job has made the
 * worker join its consumer group) or from first to last conversion (core).
 *
 * <p>Arguments: [layers] [MiB per layer, largest] (defaults 24 and 48).
 */
public final class WorkerBenchmark {
  private static final RecordValidator V = RecordValidator.defaults();

  private record Blob(String digest, byte[] bytes, String diffId, long tarBytes) {}

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 24;
    int maxMiB = args.length > 1 ? Integer.parseInt(args[1]) : 48;
    try (KafkaFixture kafka = KafkaFixture.create().start();
        S3Fixture s3 = S3Fixture.create().start();
        RegistryFixture registry = RegistryFixture.create().start()) {
      List<Blob> blobs = makeLayers(count, maxMiB, 42);
      Blob warmUp = makeLayers(1, 2, 7).get(0);
      registry.http().pushBlob("bench/layers", warmUp.bytes());
      long tarTotal = blobs.stream().mapToLong(Blob::tarBytes).sum();
      for (Blob b : blobs) {
        registry.http().pushBlob("bench/layers", b.bytes());
      }
      System.out.printf("layers: %d, uncompressed %.1f MiB, compressed %.1f MiB%n", count, tarTotal / 1048576.0,
          blobs.stream().mapToLong(b -> b.bytes().length).sum() / 1048576.0);

      System.out.printf("registry download alone (one stream at a time, digest checked): %.1f MB/s of uncompressed tar%n",
          downloadThroughput(registry, blobs, tarTotal));
      double[] core = new double[3];
      double[] worker = new double[3];
      for (int p = 1; p <= 2; p++) {
        core[p] = coreThroughput(blobs, p, tarTotal);
        worker[p] = workerThroughput(kafka, s3, registry, warmUp, blobs, p, tarTotal);
        System.out.printf("parallelism %d: core %.1f MB/s, worker %.1f MB/s, worker/core %.0f%%%n",
            p, core[p], worker[p], 100 * worker[p] / core[p]);
      }
      System.out.printf("parallel efficiency 1->2: core %.0f%%, worker %.0f%%%n",
          100 * core[2] / (2 * core[1]), 100 * worker[2] / (2 * worker[1]));
    }
  }

  /** Layers of varied size and content: half random (incompressible), half text-like. */
  private static List<Blob> makeLayers(int count, int maxMiB, long seed) throws Exception {
    Random rnd = new Random(seed);
    List<Blob> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int mib = 2 + rnd.nextInt(Math.max(1, maxMiB - 1));
      TarLayer.Builder b = TarLayer.builder().dir("data" + i);
      int files = 20 + rnd.nextInt(200);
      long perFile = (long) mib * 1048576 / files;
      for (int f = 0; f < files; f++) {
        if (f % 2 == 0) {
          b.randomFile("data" + i + "/bin" + f, (int) perFile, rnd.nextLong());
        } else {
          StringBuilder text = new StringBuilder();
          while (text.length() < perFile) {
            text.append("line ").append(rnd.nextInt(1000)).append(" of layer ").append(i).append(" file ").append(f).append('\n');
          }
          b.file("data" + i + "/text" + f + ".txt", text.toString().getBytes(StandardCharsets.UTF_8));
        }
      }
      TarLayer layer = b.build();
      byte[] blob = Compression.GZIP.compress(layer.tar());
      out.add(new Blob(sha256(blob), blob, layer.diffId(), layer.tar().length));
    }
    return out;
  }

  private static double downloadThroughput(RegistryFixture registry, List<Blob> blobs, long tarTotal) throws Exception {
    try (RegistryClient client = new RegistryClient(registry.host(), RegistryOptions.builder().insecureHost(registry.host()).build())) {
      long t0 = System.nanoTime();
      for (Blob b : blobs) {
        try (var in = client.openBlob("bench/layers", b.digest())) {
          in.transferTo(OutputStream.nullOutputStream());
        }
      }
      return tarTotal / 1e6 / ((System.nanoTime() - t0) / 1e9);
    }
  }

  private static double coreThroughput(List<Blob> blobs, int parallelism, long tarTotal) throws Exception {
    LayerConverter converter = new LayerConverter(ConversionLimits.DEFAULT,
        LayerConverter.Options.DEFAULT.withParallel(parallelism < Runtime.getRuntime().availableProcessors()));
    ExecutorService pool = Executors.newFixedThreadPool(parallelism);
    long t0 = System.nanoTime();
    List<Future<?>> done = new ArrayList<>();
    for (Blob b : blobs) {
      done.add(pool.submit(() -> converter.convert(new ByteArrayInputStream(b.bytes()), b.digest(), true, b.diffId(),
          OutputStream.nullOutputStream(), OutputStream.nullOutputStream())));
    }
    for (Future<?> f : done) {
      f.get();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    pool.shutdown();
    return tarTotal / 1e6 / seconds;
  }

  private static double workerThroughput(KafkaFixture kafka, S3Fixture s3, RegistryFixture registry, Blob warmUp,
      List<Blob> blobs, int parallelism, long tarTotal) throws Exception {
    Topics topics = Topics.withPrefix("bench" + UUID.randomUUID().toString().substring(0, 8) + ".");
    kafka.createTopic(topics.layerJobs(), 4);
    kafka.createTopic(topics.layerResults(), 1);
    kafka.createTopic(topics.deadLetters(), 1);
    ConvertWorker.Config config = new ConvertWorker.Config(kafka.bootstrapServers(), topics, "bench", parallelism,
        Duration.ofMinutes(10), Duration.ofSeconds(30), s3.client(), s3.bucket(), topics.layerJobs(),
        MultipartUploadOutputStream.MIN_PART_SIZE,
        RegistryOptions.builder().insecureHost(registry.host()).build(), ConversionLimits.DEFAULT, RetryPolicy.DEFAULT,
        "bench");
    try (ConvertWorker worker = new ConvertWorker(config, new SimpleMeterRegistry()).start();
        KafkaConsumer<byte[], byte[]> results = kafka.bytesConsumer("bench-reader-" + UUID.randomUUID());
        KafkaProducer<byte[], byte[]> producer = kafka.bytesProducer()) {
      results.subscribe(List.of(topics.layerResults(), topics.deadLetters()));
      send(producer, topics, registry, warmUp);
      KafkaFixture.poll(results, 1, Duration.ofMinutes(2));
      long t0 = System.nanoTime();
      for (Blob b : blobs) {
        send(producer, topics, registry, b);
      }
      producer.flush();
      int received = KafkaFixture.poll(results, blobs.size(), Duration.ofMinutes(20)).size();
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (received != blobs.size()) {
        throw new IllegalStateException("only " + received + " of " + blobs.size() + " results arrived");
      }
      return tarTotal / 1e6 / seconds;
    }
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, Topics topics, RegistryFixture registry, Blob b) {
    LayerJob job = new LayerJob(registry.host(), "bench/layers",
        new LayerJob.Descriptor(b.digest(), b.bytes().length, MediaTypes.OCI_LAYER_TAR_GZIP), b.diffId(),
        ConversionProfile.TAR_INDEX, List.of(new LayerJob.Subject("bench/layers", b.digest(), null)), null, false,
        "bench");
    producer.send(new ProducerRecord<>(topics.layerJobs(), b.digest().getBytes(StandardCharsets.UTF_8), V.write(job)));
  }

  private static String sha256(byte[] b) throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}

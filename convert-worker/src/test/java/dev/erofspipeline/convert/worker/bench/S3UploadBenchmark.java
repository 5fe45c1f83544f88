package dev.erofspipeline.convert.worker.bench;

import dev.erofspipeline.convert.worker.MultipartUploadOutputStream;
import dev.erofspipeline.testkit.Benchmarks;
import dev.erofspipeline.testkit.S3Fixture;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * CPU per GB uploaded to the embedded S3Proxy (in this JVM, over plain HTTP on loopback) through {@link
 * MultipartUploadOutputStream}, for several S3 client settings, and, as the baseline, the same multipart uploads with
 * each part copied twice for {@code RequestBody.fromBytes} (what the stream did before), interleaved round by round in
 * one run (not a test). Prints the uploading thread's CPU (signing, checksums, the HTTP client's writes), the rest of
 * the JVM (S3Proxy decoding and verifying, GC) and the JVM's system time.
 *
 * <p>Arguments: {@code [MiB per object] [objects per round] [rounds] [part MiB]} (defaults 64 4 3 8).
 */
public final class S3UploadBenchmark {
  private S3UploadBenchmark() {
  }

  /** One way to upload an object. */
  @FunctionalInterface
  private interface Upload {
    void run(S3Client s3, String bucket, String key, byte[] data, int partSize) throws Exception;
  }

  private static final Upload STREAM = (s3, bucket, key, data, partSize) -> {
    try (MultipartUploadOutputStream out = new MultipartUploadOutputStream(s3, bucket, key, "application/octet-stream", partSize)) {
      out.write(data);
      out.commit();
    }
  };

  /** The baseline: each part buffered, copied to its own array and copied again by RequestBody.fromBytes. */
  private static final Upload COPIED_PARTS = (s3, bucket, key, data, partSize) -> {
    String uploadId = s3.createMultipartUpload(r -> r.bucket(bucket).key(key).contentType("application/octet-stream")).uploadId();
    List<CompletedPart> parts = new ArrayList<>();
    byte[] buffer = new byte[partSize];
    for (int off = 0; off < data.length; off += partSize) {
      int n = Math.min(partSize, data.length - off);
      System.arraycopy(data, off, buffer, 0, n);
      int number = parts.size() + 1;
      String etag = s3.uploadPart(r -> r.bucket(bucket).key(key).uploadId(uploadId).partNumber(number),
          RequestBody.fromBytes(Arrays.copyOf(buffer, n))).eTag();
      parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
    }
    s3.completeMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(parts)));
  };

  private record Variant(UnaryOperator<S3ClientBuilder> settings, Upload upload) {
  }

  private record Cost(double uploaderSeconds, double jvmSeconds, double kernelSeconds, double wallSeconds) {
  }

  /** This process's CPU seconds in the kernel (system time; sockets, page faults). */
  private static double kernelSeconds() throws java.io.IOException {
    String[] stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat")).replaceAll("^.*\\) ", "").split(" ");
    return Long.parseLong(stat[12]) / 100.0; // stime, USER_HZ is 100 on Linux
  }

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 64;
    int objects = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    int partSize = (args.length > 3 ? Integer.parseInt(args[3]) : 8) << 20;
    byte[] data = new byte[mib << 20];
    new Random(3).nextBytes(data);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try (S3Fixture s3 = S3Fixture.create().start()) {
      Map<String, Variant> variants = new LinkedHashMap<>();
      variants.put("baseline: parts copied twice, SDK defaults", new Variant(b -> b, COPIED_PARTS));
      variants.put("SDK defaults (aws-chunked, signed chunks, CRC32 trailer)", new Variant(b -> b, STREAM));
      variants.put("checksums when required", new Variant(
          b -> b.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED), STREAM));
      variants.put("checksums when required, no aws-chunked", new Variant(b -> b
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build()), STREAM));
      variants.put("CRC32 (when supported), no aws-chunked", new Variant(b -> b
          .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build()), STREAM));
      Map<String, S3Client> clients = new LinkedHashMap<>();
      Map<String, List<Cost>> costs = new LinkedHashMap<>();
      for (Map.Entry<String, Variant> v : variants.entrySet()) {
        clients.put(v.getKey(), v.getValue().settings().apply(S3Client.builder()
            .endpointOverride(s3.endpoint())
            .region(Region.US_EAST_1)
            .forcePathStyle(true)
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey()))))
            .build());
        costs.put(v.getKey(), new ArrayList<>());
      }
      System.out.printf(Locale.ROOT, "%d objects of %d MiB per round, %d MiB parts, %d rounds (+1 warm-up), endpoint %s, load %s%n",
          objects, mib, partSize >> 20, rounds, s3.endpoint(), Benchmarks.loadAverage());
      for (int round = 0; round <= rounds; round++) {
        for (Map.Entry<String, S3Client> c : clients.entrySet()) {
          double jvm0 = Benchmarks.jvmCpuSeconds();
          double sys0 = kernelSeconds();
          long me0 = threads.getCurrentThreadCpuTime();
          long t0 = System.nanoTime();
          for (int i = 0; i < objects; i++) {
            variants.get(c.getKey()).upload().run(c.getValue(), s3.bucket(), "bench/" + round + "/" + i, data, partSize);
          }
          Cost cost = new Cost((threads.getCurrentThreadCpuTime() - me0) / 1e9, Benchmarks.jvmCpuSeconds() - jvm0,
              kernelSeconds() - sys0, (System.nanoTime() - t0) / 1e9);
          if (round > 0) {
            costs.get(c.getKey()).add(cost);
          }
          s3.client().listObjectsV2Paginator(r -> r.bucket(s3.bucket()).prefix("bench/")).contents()
              .forEach(o -> s3.client().deleteObject(r -> r.bucket(s3.bucket()).key(o.key())));
        }
      }
      double gb = (double) objects * rounds * data.length / 1e9;
      System.out.printf(Locale.ROOT, "%-58s %10s %16s %16s %8s   (load %s)%n", "CPU seconds per GB uploaded", "uploader",
          "rest of the JVM", "JVM in kernel", "MB/s", Benchmarks.loadAverage());
      double base = 0;
      for (Map.Entry<String, List<Cost>> e : costs.entrySet()) {
        double up = e.getValue().stream().mapToDouble(Cost::uploaderSeconds).sum() / gb;
        double jvm = e.getValue().stream().mapToDouble(Cost::jvmSeconds).sum() / gb;
        double wall = e.getValue().stream().mapToDouble(Cost::wallSeconds).sum();
        double kernel = e.getValue().stream().mapToDouble(Cost::kernelSeconds).sum() / gb;
        if (base == 0) {
          base = jvm;
        }
        System.out.printf(Locale.ROOT, "%-58s %10.2f %16.2f %16.2f %8.0f   JVM CPU %.2fx the baseline's%n", e.getKey(), up,
            jvm - up, kernel, gb * 1e3 / wall, jvm / base);
      }
      clients.values().forEach(S3Client::close);
    }
  }
}

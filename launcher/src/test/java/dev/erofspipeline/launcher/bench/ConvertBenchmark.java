package dev.erofspipeline.launcher.bench;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.testkit.BenchmarkLayers;
import dev.erofspipeline.testkit.BenchmarkLayers.Layer;
import dev.erofspipeline.testkit.Benchmarks;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.RegistryHttp;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The batch benchmark (not a test): {@code ./erofs-pipeline convert} of 20 images (60 layer
 * references, 40 distinct layers: 5 base layers shared by 4 images each, 5 top layers shared by 2)
 * from a real docker-registry, against the converter core alone on the same distinct layers from
 * local files, at the same parallelism (one layer per core), in one run. Run through {@code
 * scripts/bench-convert.sh}.
 *
 * <p>convert runs as its own process ({@code java -jar launcher/target/erofs-pipeline.jar}, what
 * {@code ./erofs-pipeline} runs), as a user runs it: embedded Kafka and S3, a local signing key,
 * both referrer profiles. Printed: its wall time including JVM and service start-up,
 * its own elapsed time from submitting the requests to the last image published, MB/s of
 * uncompressed tar of the distinct layers for both, its CPU time, and the share of the time outside
 * the converter core (Kafka, S3, registry, publishing, start-up).
 *
 * <p>Arguments: {@code [layer cache dir] [work dir]} (defaults /tmp/erofs-bench-layers,
 * /tmp/erofs-bench-convert). The layers are the same as scripts/bench-worker.sh's default set.
 */
public final class ConvertBenchmark {
  private static final int IMAGES = 20;
  private static final Pattern FINAL_PROGRESS =
      Pattern.compile("layers (\\d+)/(\\d+), images published (\\d+)/(\\d+), ([\\d.]+) MB/s of layer blobs, (\\d+)s elapsed");

  public static void main(String[] args) throws Exception {
    Path cache = Path.of(args.length > 0 ? args[0] : "/tmp/erofs-bench-layers");
    Path work = Path.of(args.length > 1 ? args[1] : "/tmp/erofs-bench-convert");
    int cores = Runtime.getRuntime().availableProcessors();
    List<Layer> layers = BenchmarkLayers.generate(cache, 40, 2, 200, 42);
    List<List<Layer>> images = new ArrayList<>();
    for (int i = 0; i < IMAGES; i++) {
      images.add(List.of(layers.get(i % 5), layers.get(5 + i), layers.get(25 + i % 15)));
    }
    Map<String, Layer> distinct = new LinkedHashMap<>();
    images.forEach(img -> img.forEach(l -> distinct.put(l.digest(), l)));
    long tar = distinct.values().stream().mapToLong(Layer::tarSize).sum();
    long blobs = distinct.values().stream().mapToLong(Layer::blobSize).sum();
    System.out.printf(Locale.ROOT, "batch: %d images, %d layer references, %d distinct layers, %.1f MB of tar (%.1f MB gzip); %d cores; load %s%n",
        IMAGES, images.stream().mapToInt(List::size).sum(), distinct.size(), tar / 1e6, blobs / 1e6, cores, Benchmarks.loadAverage());

    double cpu0 = Benchmarks.jvmCpuSeconds();
    double core = coreThroughput(new ArrayList<>(distinct.values()), cores);
    double coreCpu = Benchmarks.jvmCpuSeconds() - cpu0;
    System.out.printf(Locale.ROOT, "converter core alone, %d layers in flight, from local files: %.1f MB/s of tar (%.2f s)%n",
        cores, core, tar / 1e6 / core);

    try (RegistryFixture registry = RegistryFixture.create().withAccessLog().start()) {
      List<String> refs = seed(registry, images);
      deleteRecursively(work);
      Files.createDirectories(work);
      // the jar the script built, not ./erofs-pipeline: that wrapper might rebuild inside the timed run
      List<String> cmd = new ArrayList<>(List.of("/usr/bin/time", "-f", "cpu %U %S", Path.of(System.getProperty("java.home"), "bin", "java").toString()));
      String javaOptions = System.getenv().getOrDefault("BENCH_CONVERT_JAVA_OPTS", "").trim(); // e.g. JIT settings to compare
      if (!javaOptions.isEmpty()) {
        cmd.addAll(List.of(javaOptions.split("\\s+")));
      }
      // the class archive ./erofs-pipeline writes and uses (bench-convert.sh makes sure it is current)
      Path archive = Path.of("launcher/target/erofs-pipeline.jsa");
      boolean shared = Files.isRegularFile(archive)
          && Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(Path.of("launcher/target/erofs-pipeline.jar"))) > 0;
      if (shared) {
        cmd.addAll(List.of("-Xlog:cds*=off", "-XX:SharedArchiveFile=" + archive));
      }
      cmd.addAll(List.of("-jar", "launcher/target/erofs-pipeline.jar", "convert"));
      cmd.addAll(refs);
      cmd.addAll(List.of("--insecure-registry", registry.host(),
          "--set", "kafka.dataDir=" + work.resolve("kafka"), "--set", "s3.dataDir=" + work.resolve("s3"),
          "--set", "http.port=0"));
      System.out.printf(Locale.ROOT, "running ./erofs-pipeline convert on %d references (JVM options '%s'; class archive %s; load %s)%n",
          refs.size(), javaOptions, shared ? "used" : "none", Benchmarks.loadAverage());
      Path err = work.resolve("convert.err");
      long seedLog = Files.size(registry.logFile());
      double registryCpu0 = Benchmarks.processCpuSeconds(registry.pid());
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(cmd).redirectOutput(work.resolve("convert.out").toFile()).redirectError(err.toFile()).start();
      int exit = p.waitFor();
      double wall = (System.nanoTime() - t0) / 1e9;
      String log = Files.readString(err);
      if (exit != 0) {
        System.out.println(Files.readString(work.resolve("convert.out")));
        System.out.println(log);
        throw new IllegalStateException("convert exited with " + exit);
      }
      String last = null;
      for (Matcher m = FINAL_PROGRESS.matcher(log); m.find(); ) {
        last = m.group();
      }
      Matcher progress = FINAL_PROGRESS.matcher(last == null ? "" : last);
      double elapsed = progress.find() ? Double.parseDouble(progress.group(6)) : Double.NaN;
      Matcher cpu = Pattern.compile("cpu ([\\d.]+) ([\\d.]+)").matcher(log);
      double cpuSeconds = cpu.find() ? Double.parseDouble(cpu.group(1)) + Double.parseDouble(cpu.group(2)) : Double.NaN;
      double coreSeconds = tar / 1e6 / core;
      System.out.println("convert's last progress line: " + (last == null ? "(none)" : last));
      System.out.printf(Locale.ROOT, "convert wall time %.1f s (JVM, embedded Kafka and S3 start-up, conversion, publishing, shutdown): %.1f MB/s of tar, %.0f%% of the core%n",
          wall, tar / 1e6 / wall, 100 * tar / 1e6 / wall / core);
      System.out.printf(Locale.ROOT, "convert from submission to last image published %.0f s (whole seconds): %.1f MB/s of tar, %.0f%% of the core%n",
          elapsed, tar / 1e6 / elapsed, 100 * tar / 1e6 / elapsed / core);
      System.out.printf(Locale.ROOT, "share of the wall time outside the converter core (Kafka, S3, registry, publishing, start-up): %.0f%%; of the submission-to-published time: %.0f%%%n",
          100 * (1 - coreSeconds / wall), 100 * (1 - coreSeconds / elapsed));
      System.out.printf(Locale.ROOT, "convert process CPU %.1f s (the core alone needs about %.1f s of wall on %d cores); docker-registry process CPU during convert %.1f s; load %s%n",
          cpuSeconds, coreSeconds, cores, Benchmarks.processCpuSeconds(registry.pid()) - registryCpu0, Benchmarks.loadAverage());
      System.out.println("docker-registry requests during convert: " + requestSummary(registry.logFile(), seedLog));
      double pipelineCpu = cpuSeconds + Benchmarks.processCpuSeconds(registry.pid()) - registryCpu0;
      // CPU per MB does not depend on how much of the machine other processes take
      System.out.printf(Locale.ROOT, "CPU per MB of tar: core %.2f ms, convert with docker-registry %.2f ms (core/convert %.0f%%)%n",
          1e3 * coreCpu / (tar / 1e6), 1e3 * pipelineCpu / (tar / 1e6), 100 * coreCpu / pipelineCpu);
    }
  }

  /** Requests in the registry's access log after byte {@code from}, counted (and MB sent) per method and kind of path. */
  private static String requestSummary(Path log, long from) throws IOException {
    String text;
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(log.toFile(), "r")) {
      byte[] b = new byte[(int) (f.length() - from)];
      f.seek(from);
      f.readFully(b);
      text = new String(b, StandardCharsets.UTF_8);
    }
    Map<String, long[]> byKind = new java.util.TreeMap<>();
    Matcher m = Pattern.compile("\"(GET|HEAD|PUT|POST|PATCH|DELETE) (/v2/\\S*) HTTP/[\\d.]+\" (\\d+) (\\d+)").matcher(text);
    while (m.find()) {
      String path = m.group(2);
      String kind = path.contains("/blobs/uploads") ? "upload" : path.contains("/blobs/") ? "blob"
          : path.contains("/manifests/") ? "manifest" : path.contains("/referrers/") ? "referrers"
          : path.contains("/tags/") ? "tags" : "other";
      long[] c = byKind.computeIfAbsent(m.group(1) + " " + kind, k -> new long[2]);
      c[0]++;
      c[1] += Long.parseLong(m.group(4));
    }
    return byKind.entrySet().stream().map(e -> String.format(Locale.ROOT, "%s %d (%.1f MB)", e.getKey(), e.getValue()[0],
        e.getValue()[1] / 1e6)).collect(Collectors.joining(", "));
  }

  /** Pushes every layer blob, one config and one OCI manifest per image; returns the references. */
  private static List<String> seed(RegistryFixture registry, List<List<Layer>> images) throws Exception {
    List<String> refs = new ArrayList<>();
    RegistryHttp http = registry.http();
    try (RegistryClient client = new RegistryClient(registry.host(), RegistryOptions.builder().insecureHost(registry.host()).build())) {
      for (int i = 0; i < images.size(); i++) {
        String repo = "bench/app" + (i % 4);
        List<Layer> img = images.get(i);
        for (Layer l : img) {
          client.pushBlob(repo, BlobSource.of(l.blob()));
        }
        String config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
            + img.stream().map(l -> "\"" + l.diffId() + "\"").collect(Collectors.joining(",")) + "]}}";
        byte[] configBytes = config.getBytes(StandardCharsets.UTF_8);
        String configDigest = http.pushBlob(repo, configBytes);
        String manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + RegistryHttp.OCI_MANIFEST + "\","
            + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest
            + "\",\"size\":" + configBytes.length + "},\"layers\":["
            + img.stream().map(l -> "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" + l.digest()
                + "\",\"size\":" + l.blobSize() + "}").collect(Collectors.joining(","))
            + "]}";
        String tag = "v" + i;
        http.putManifest(repo, tag, RegistryHttp.OCI_MANIFEST, manifest.getBytes(StandardCharsets.UTF_8));
        refs.add(registry.host() + "/" + repo + ":" + tag);
      }
    }
    return refs;
  }

  private static double coreThroughput(List<Layer> layers, int parallelism) throws Exception {
    LayerConverter converter = new LayerConverter(ConversionLimits.DEFAULT,
        LayerConverter.Options.DEFAULT.withParallel(parallelism < Runtime.getRuntime().availableProcessors()));
    return BenchmarkLayers.tarThroughput(layers, parallelism, (in, l) ->
        converter.convert(in, l.digest(), true, l.diffId(), OutputStream.nullOutputStream(), OutputStream.nullOutputStream()));
  }


  private static void deleteRecursively(Path dir) throws Exception {
    if (Files.exists(dir)) {
      try (var paths = Files.walk(dir)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}

package dev.erofspipeline.publish.route;

import dev.erofspipeline.publish.PublishProfile;
import dev.erofspipeline.publish.Publisher;
import dev.erofspipeline.publish.RouteTestSupport;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.ResultDocument;
import dev.erofspipeline.testkit.S3Fixture;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Benchmark, not a test (scripts/bench-rescan.sh): S3 requests the publisher sends per pass over its
 * pending images, counted by the S3 client against the embedded S3Proxy, for several numbers of
 * pending images in one run. Every image has {@code layers} layers of its own, all converted but
 * the last, so every image waits. The baseline is what each process did every publish.retrySeconds
 * before (a full pass: list, read every record and every layer's result): a fresh process's start
 * rescan, which does exactly that. Then, in one process that follows the layer results: the timer
 * pass, the periodic rescan, a layer result completing one image, a new image arriving; and the heap
 * its index takes per waiting image.
 *
 * <p>Arguments: [pending images, comma-separated: 500,2000] [layers per image: 8] [publish.maxWaitingImages:
 * 20000, or all when larger].
 */
public final class RescanBenchmark {
  private static final RecordValidator V = RecordValidator.defaults();
  private static final ConversionProfile PROFILE = ConversionProfile.TAR_INDEX;

  public static void main(String[] args) throws Exception {
    int[] sizes = java.util.Arrays.stream((args.length > 0 ? args[0] : "500,2000").split(",")).mapToInt(Integer::parseInt)
        .toArray();
    int layers = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int limit = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
    RouteTestSupport support = new RouteTestSupport();
    S3Fixture s3 = S3Fixture.create().start();
    ResultDocument template = support.stage(s3, "template", PROFILE).get(0).result();
    System.out.printf("%-8s | %-34s | %-26s | %-12s | %-26s | %-24s | %-20s | %s%n", "pending/indexed", "before: each pass (every 30 s)",
        "after: start rescan (once)", "timer pass", "periodic rescan", "a result completing one", "a new image", "heap: index/image, results cache");
    try (Publisher publisher = support.publisher(s3, "127.0.0.1:9", EnumSet.of(PublishProfile.IMAGE_BUNDLE))) {
      for (int n : sizes) {
        String prefix = "bench-" + n + "-" + System.nanoTime();
        List<ImageRecord> images = seed(s3, prefix, n, layers, template, new Random(n));
        S3RequestCounter counter = new S3RequestCounter();
        try (S3Client counted = counter.client(s3)) {
          // before: every pass was a full one, in every publish process
          PublishService fresh = PublishService.create(publisher, counted, s3.bucket(), prefix, V, Clock.systemUTC());
          long t0 = System.nanoTime();
          long requeued = fresh.rescanPending().stream().filter(o -> o.requeue() != null).count();
          double beforeSeconds = (System.nanoTime() - t0) / 1e9;
          Map<String, Long> before = counter.take();
          check(requeued == 0, "nothing is complete yet");

          System.gc();
          long heap0 = usedHeap();
          PublishService service = PublishService.create(publisher, counted, s3.bucket(), prefix, V, Clock.systemUTC())
              .withMaxWaitingImages(Math.min(limit, n));
          service.followingLayerResults();
          service.rescanPending();
          Map<String, Long> start = counter.take();
          System.gc();
          long indexAndCache = usedHeap() - heap0;
          long cache = resultCacheHeap(template, Math.min(StagedResults.COMPLETED_CACHED, n * (layers - 1)));
          int indexed = service.waitingImages();
          long perImage = (indexAndCache - cache) / indexed;
          check(indexed == Math.min(limit, n), "indexed: " + indexed);

          check(service.retryPending().isEmpty(), "timer: nothing to do");
          Map<String, Long> timer = counter.take();
          long t1 = System.nanoTime();
          check(service.rescanPending().isEmpty(), "rescan: nothing new");
          double rescanSeconds = (System.nanoTime() - t1) / 1e9;
          Map<String, Long> rescan = counter.take();

          // the rescan lists in key order: the first keys are the ones indexed
          PendingImages keys = new PendingImages(counted, s3.bucket(), prefix, V);
          ImageRecord one = images.stream().min(java.util.Comparator.comparing(keys::key)).orElseThrow();
          LayerResult last = stage(s3, prefix, one.layers().get(layers - 1).digest(), template);
          counter.take();
          List<PublishService.Outcome> done = service.onLayerResult(last);
          check(done.size() == 1 && one.equals(done.get(0).requeue()), "the image is requeued: " + done);
          Map<String, Long> result = counter.take();

          ImageRecord extra = image(prefix, "extra", layers, new Random(-n));
          service.onImage(extra);
          Map<String, Long> arrival = counter.take();

          System.out.printf("%-8s | %-34s | %-26s | %-12s | %-26s | %-24s | %-20s | %.1f KB, %.1f MB%n", n + "/" + indexed,
              S3RequestCounter.total(before) + " " + before + String.format(" %.1f s", beforeSeconds),
              S3RequestCounter.total(start), S3RequestCounter.total(timer) + " " + timer,
              S3RequestCounter.total(rescan) + " " + rescan + String.format(" %.2f s", rescanSeconds),
              S3RequestCounter.total(result) + " " + result, S3RequestCounter.total(arrival) + " " + arrival, perImage / 1024.0, cache / 1048576.0);
        }
      }
    } finally {
      s3.close();
    }
  }

  /** The heap {@code entries} completed results take as the cache holds them (read from their JSON). */
  private static long resultCacheHeap(ResultDocument template, int entries) {
    System.gc();
    long before = usedHeap();
    Map<String, ResultDocument> held = new java.util.LinkedHashMap<>();
    Random random = new Random(entries);
    for (int i = 0; i < entries; i++) {
      String layer = digest(random);
      ResultDocument doc = V.read(ResultDocument.class, V.write(renamed(template, layer)));
      held.put(layer + " " + PROFILE.fingerprint(), doc);
    }
    System.gc();
    long heap = usedHeap() - before;
    check(held.size() == entries, "held");
    return heap;
  }

  private static long usedHeap() {
    Runtime r = Runtime.getRuntime();
    return r.totalMemory() - r.freeMemory();
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException(what);
    }
  }

  /** {@code n} pending records, each image's layers converted but the last. */
  private static List<ImageRecord> seed(S3Fixture s3, String prefix, int n, int layers, ResultDocument template, Random random)
      throws Exception {
    PendingImages pending = new PendingImages(s3.client(), s3.bucket(), prefix, V);
    List<ImageRecord> images = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      images.add(image(prefix, "r" + i % 50, layers, random));
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> writes = new ArrayList<>();
      for (ImageRecord image : images) {
        writes.add(pool.submit(() -> {
          pending.put(image);
          for (ImageRecord.Layer l : image.layers().subList(0, layers - 1)) {
            stage(s3, prefix, l.digest(), template);
          }
          return null;
        }));
      }
      for (Future<?> f : writes) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    return images;
  }

  private static ImageRecord image(String prefix, String repo, int layers, Random random) {
    List<ImageRecord.Layer> ls = new ArrayList<>();
    for (int j = 0; j < layers; j++) {
      ls.add(new ImageRecord.Layer(digest(random), 1_000_000, MediaTypes.OCI_LAYER_TAR_GZIP, digest(random)));
    }
    return new ImageRecord("registry.example", "bench/" + repo, new ImageRecord.Subject(digest(random), MediaTypes.OCI_MANIFEST, 1234),
        "linux/amd64", null, "bench/" + repo + ":v1", ls, PROFILE, "bench");
  }

  private static String digest(Random random) {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return "sha256:" + HexFormat.of().formatHex(b);
  }

  /** The template's figures under another layer digest. */
  private static ResultDocument renamed(ResultDocument t, String layer) {
    return new ResultDocument(layer, t.diffId(), t.tarSize(), t.indexSize(), t.indexSha256(), t.treeSize(), t.treeSha256(),
        t.rootHash(), t.salt(), t.hashAlgorithm(), t.dataBlockSize(), t.hashBlockSize(), t.dataBlocks(), t.erofsUuid(),
        t.verityUuid(), t.erofsUtilsVersion(), t.converterVersion(), t.profile(), t.createdAt(), t.blob());
  }

  /** A result.json for {@code layer} (the template's figures under another digest), as the worker leaves it. */
  private static LayerResult stage(S3Fixture s3, String prefix, String layer, ResultDocument t) {
    ResultDocument doc = renamed(t, layer);
    LayerResult.Staging staging = new StagedResults(s3.client(), s3.bucket(), prefix, V).location(layer, PROFILE);
    s3.client().putObject(b -> b.bucket(s3.bucket()).key(staging.resultKey()), RequestBody.fromBytes(V.write(doc)));
    return new LayerResult(doc, staging, "registry.example", "bench", false, "bench");
  }
}

package dev.erofspipeline.launcher;

import dev.erofspipeline.launcher.config.ConfigKey;
import dev.erofspipeline.launcher.config.Configuration;
import dev.erofspipeline.launcher.service.Installation;
import dev.erofspipeline.launcher.service.Role;
import dev.erofspipeline.launcher.service.RoleServices;
import dev.erofspipeline.publish.route.PublishService;
import dev.erofspipeline.registry.ImageReference;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.ResultDocument;
import dev.erofspipeline.schemas.StagingLayout;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The whole pipeline for a few images, in this process: ingest, workers and publisher on the
 * configured (by default embedded) Kafka and S3, until every image is published or has failed.
 */
@Command(
    name = "convert",
    mixinStandardHelpOptions = true,
    description = {
      "Converts and publishes images: runs ingest, workers and publisher in this process on the",
      "configured Kafka and S3 (embedded ones when kafka.bootstrap and s3.endpoint are empty), follows",
      "their progress and prints a per-layer summary. Exit code 0 only if every image was published.",
      "Without a configured signing key it signs with a local test key made in .erofs-pipeline/signing."
    })
final class ConvertCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ConfigOptions options;

  @Parameters(arity = "1..*", paramLabel = "REF", description = "host[:port]/repo[:tag|@digest] or oci:DIR[:tag]")
  List<String> references;

  @Mixin PublishOptions publishOptions;

  @Option(names = "--timeout", paramLabel = "MINUTES", defaultValue = "60", description = "Give up after this long (default: ${DEFAULT-VALUE})")
  long timeoutMinutes;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    // every reference is checked before anything starts; their registries join the allowlist
    Set<String> allowed = new LinkedHashSet<>();
    for (String r : references) {
      ImageReference ref = ImageReference.parse(r);
      allowed.add(ref.isLayout() ? RegistryOptions.LAYOUTS : ref.registry().toLowerCase(Locale.ROOT));
    }
    Map<ConfigKey, String> own = publishOptions.asConfiguration();
    allowed.addAll(options.load(own).getList(ConfigKey.REGISTRY_ALLOWLIST));
    own.put(ConfigKey.REGISTRY_ALLOWLIST, String.join(",", allowed));
    Configuration config = options.load(own);
    if (config.optional(ConfigKey.SIGNING_KEY_FILE).isEmpty()) {
      Path keyDir = localKeyDir(config);
      LocalSigningKey k = LocalSigningKey.ensure(keyDir);
      own.put(ConfigKey.SIGNING_KEY_FILE, k.key().toString());
      own.put(ConfigKey.SIGNING_CERT_FILE, k.chain().toString());
      own.put(ConfigKey.SIGNING_CA_FILE, k.ca().toString());
      err.println("erofs-pipeline: no signing key configured; signing with the local test key in " + keyDir
          + " (verify with --ca " + k.ca() + ")");
      config = options.load(own);
    }
    Installation inst = new Installation(config);
    RecordValidator validator = RecordValidator.defaults();
    try (RoleServices services = RoleServices.start(inst, Role.ALL, Main.projectVersion());
        KafkaConsumer<String, byte[]> watch = watcher(services.bootstrapServers())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : List.of(inst.topics().status(), inst.topics().deadLetters())) {
        watch.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
      }
      watch.assign(partitions);
      watch.seekToEnd(partitions);
      partitions.forEach(watch::position); // fix the start before anything is submitted

      String batch = UUID.randomUUID().toString().substring(0, 8);
      Map<String, String> referenceByCorrelation = new LinkedHashMap<>();
      try (KafkaProducer<String, byte[]> producer = RequestProducer.create(services.bootstrapServers(), "erofs-convert")) {
        for (int i = 0; i < references.size(); i++) {
          ImageRequest r = new ImageRequest(references.get(i), List.of(), null, false, "convert-" + batch + "-" + (i + 1), Instant.now());
          producer.send(new ProducerRecord<>(inst.topics().imageRequests(), r.reference(), validator.write(r))).get(45, TimeUnit.SECONDS);
          referenceByCorrelation.put(r.correlationId(), r.reference());
        }
      }

      Progress progress = new Progress(referenceByCorrelation, System.console() != null, err);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(timeoutMinutes);
      while (!progress.finished()) {
        if (System.nanoTime() > deadline) {
          progress.print(true);
          err.println("erofs-pipeline: timed out after " + timeoutMinutes + " minutes");
          return 1;
        }
        for (ConsumerRecord<String, byte[]> rec : watch.poll(Duration.ofMillis(500))) {
          if (rec.topic().equals(inst.topics().status())) {
            progress.status(validator.read(ImageStatus.class, rec.value()));
          } else {
            progress.deadLetter(validator.read(DeadLetter.class, rec.value()));
          }
        }
        progress.print(false);
      }
      progress.print(true);
      printSummary(out, progress, services, inst, validator);
      return progress.allPublished() ? 0 : 1;
    }
  }

  /** Where the local test key lives: next to the embedded broker's data, .erofs-pipeline/signing by default. */
  static Path localKeyDir(Configuration config) {
    return Path.of(config.get(ConfigKey.KAFKA_DATA_DIR)).toAbsolutePath().resolveSibling("signing");
  }

  private static KafkaConsumer<String, byte[]> watcher(String bootstrap) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "erofs-convert-watch");
    return new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
  }

  private void printSummary(PrintWriter out, Progress progress, RoleServices services, Installation inst, RecordValidator validator) {
    out.printf("%-10s %-20s %-12s %-10s %-64s %s%n", "IMAGE", "PLATFORM", "LAYER", "TAR MiB", "ROOT HASH", "STATE");
    for (ImageStatus s : progress.images()) {
      String image = s.subjectDigest().substring(7, 17);
      String platform = s.platform() == null ? "-" : s.platform();
      if (s.layers().isEmpty()) {
        out.printf("%-10s %-20s %-12s %-10s %-64s %s%n", image, platform, "-", "-", "-", describe(s));
      }
      for (ImageStatus.Layer l : s.layers()) {
        ResultDocument r = result(services, inst, validator, l.digest(), s.profile());
        out.printf("%-10s %-20s %-12s %-10s %-64s %s%n", image, platform, l.digest().substring(7, 19),
            r == null || r.tarSize() == null ? "-" : String.format("%.1f", r.tarSize() / 1048576.0),
            r == null ? "-" : r.rootHash(), describe(s));
      }
    }
    for (Map.Entry<String, String> f : progress.failedRequests().entrySet()) {
      out.printf("request %s failed: %s%n", f.getKey(), f.getValue());
    }
    out.printf("published as: %s (OCI 1.1 referrers; see docs/attachment.md)%n", inst.config().get(ConfigKey.PROFILE));
    for (ImageStatus s : progress.images()) {
      s.messages().stream().filter(m -> m.startsWith(PublishService.NATIVE_MESSAGE)).forEach(out::println);
    }
    out.flush();
  }

  private static String describe(ImageStatus s) {
    return s.state() == ImageStatus.State.FAILED ? "failed: " + s.reason() : s.state().name().toLowerCase(Locale.ROOT);
  }

  private static ResultDocument result(RoleServices services, Installation inst, RecordValidator validator, String layer,
      ConversionProfile profile) {
    try {
      byte[] json = services.s3().getObjectAsBytes(b -> b.bucket(inst.bucket())
          .key(StagingLayout.resultKey(inst.s3Prefix(), layer, (profile == null ? ConversionProfile.TAR_INDEX : profile).fingerprint())))
          .asByteArray();
      return validator.read(ResultDocument.class, json);
    } catch (RuntimeException e) {
      return null; // the table shows "-": the layer has no result (it failed)
    }
  }

  /** Images and their latest status, per request; layers done/total, rate and ETA on one line. */
  private static final class Progress {
    private final Map<String, String> requests;
    private final Map<String, ImageStatus> images = new LinkedHashMap<>();
    private final Map<String, String> failedRequests = new LinkedHashMap<>();
    private final boolean terminal;
    private final PrintWriter err;
    private final long started = System.nanoTime();
    private long lastChange = System.nanoTime();
    private String lastCounts = "";

    Progress(Map<String, String> requests, boolean terminal, PrintWriter err) {
      this.requests = requests;
      this.terminal = terminal;
      this.err = err;
    }

    void status(ImageStatus s) {
      if (s.correlationId() != null && requests.containsKey(s.correlationId())) {
        images.put(s.subjectDigest(), s);
        lastChange = System.nanoTime();
      }
    }

    void deadLetter(DeadLetter d) {
      if (d.correlationId() != null && requests.containsKey(d.correlationId()) && d.layerDigest() == null
          && d.subjectDigest() == null) {
        failedRequests.put(requests.get(d.correlationId()), d.reasonCode() + ": " + d.message());
        lastChange = System.nanoTime();
      }
    }

    /**
     * Every request has failed or has images, every image is published or failed, and nothing has
     * changed for a second (ingest announces all images of a request together).
     */
    boolean finished() {
      for (String correlation : requests.keySet()) {
        boolean failed = failedRequests.containsKey(requests.get(correlation));
        boolean seen = images.values().stream().anyMatch(s -> correlation.equals(s.correlationId()));
        if (!failed && !seen) {
          return false;
        }
      }
      boolean terminal = images.values().stream().allMatch(s -> s.state() == ImageStatus.State.PUBLISHED || s.state() == ImageStatus.State.FAILED);
      return terminal && System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(1);
    }

    boolean allPublished() {
      return failedRequests.isEmpty() && !images.isEmpty()
          && images.values().stream().allMatch(s -> s.state() == ImageStatus.State.PUBLISHED);
    }

    Iterable<ImageStatus> images() {
      return images.values();
    }

    Map<String, String> failedRequests() {
      return failedRequests;
    }

    void print(boolean last) {
      int total = images.values().stream().mapToInt(ImageStatus::layersTotal).sum();
      int done = images.values().stream().mapToInt(ImageStatus::layersDone).sum();
      long published = images.values().stream().filter(s -> s.state() == ImageStatus.State.PUBLISHED).count();
      double seconds = (System.nanoTime() - started) / 1e9;
      // bytes of distinct layers (an image shares layers with others), from the sizes ingest puts in the status
      Map<String, Long> doneBytes = new LinkedHashMap<>();
      Map<String, Long> allBytes = new LinkedHashMap<>();
      for (ImageStatus s : images.values()) {
        for (ImageStatus.Layer l : s.layers()) {
          long size = l.size() == null ? 0 : l.size();
          allBytes.put(l.digest(), size);
          if (l.state() == ImageStatus.LayerState.CONVERTED || l.state() == ImageStatus.LayerState.SIGNED
              || l.state() == ImageStatus.LayerState.PUBLISHED || s.state() == ImageStatus.State.PUBLISHED) {
            doneBytes.put(l.digest(), size);
          }
        }
      }
      long bytesDone = doneBytes.values().stream().mapToLong(Long::longValue).sum();
      long bytesTotal = allBytes.values().stream().mapToLong(Long::longValue).sum();
      double rate = seconds > 0 ? bytesDone / 1e6 / seconds : 0;
      String eta;
      if (done == 0 || done >= total) {
        eta = "-";
      } else if (bytesDone > 0 && bytesTotal > bytesDone) {
        eta = String.format(Locale.ROOT, "%.0fs", (bytesTotal - bytesDone) / 1e6 / rate);
      } else {
        eta = String.format(Locale.ROOT, "%.0fs", seconds / done * (total - done));
      }
      String counts = String.format("layers %d/%d, images published %d/%d%s", done, total, published, images.size(),
          failedRequests.isEmpty() ? "" : ", failed requests " + failedRequests.size());
      String line = String.format(Locale.ROOT, "%s, %.2f MB/s of layer blobs, %.0fs elapsed, ETA %s", counts, rate, seconds, eta);
      if (terminal) {
        err.print("\r\u001b[2K" + line + (last ? "\n" : "")); // erase the line: a shorter one leaves no stale characters
        err.flush();
      } else if (last || !counts.equals(lastCounts)) {
        err.println(line);
        err.flush();
      }
      lastCounts = counts;
    }
  }
}

package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.launcher.service.RoleServices;
import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.Digests;
import dev.erofspipeline.testkit.HostileCorpus;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import dev.erofspipeline.testkit.TarBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsRequest;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;

/**
 * The hostile corpus through the whole pipeline: every layer case pushed to docker-registry as the
 * second layer of an image (above a good layer), every image case as an image of its own, and two
 * good images, all submitted at once to {@code run --role all} with the corpus limits. Each refused
 * case must end in its reason on erofs.dead-letters and in a failed status with that reason, with
 * nothing under its layer's S3 prefix, no multipart upload left open there and no referrer on its
 * image; every accepted case and both good images must be published.
 */
class HostilePipelineTest {
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final S3Fixture S3 = S3Fixture.create();
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.create();

  @TempDir static Path dir;

  private static final RecordValidator V = RecordValidator.defaults();
  private static final String REPO = "hostile/corpus";

  /** What one pushed image is expected to end in. */
  private record Expected(String tag, String imageDigest, String layerDigest, String reason, String stage) {}

  @Test
  void everyCaseEndsInItsReasonOrIsPublishedAndTheGoodImagesArePublished() throws Exception {
    String prefix = "h" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Topics topics = Topics.withPrefix(prefix);
    List<Expected> expected = new ArrayList<>();
    try (RegistryClient registry = new RegistryClient(REGISTRY.host(),
        RegistryOptions.builder().insecureHost(REGISTRY.host()).build())) {
      byte[] good = HostileCorpus.goodTar();
      Layer base = new Layer(Compression.GZIP.compress(good), Compression.GZIP.mediaType(), Digests.sha256(good));
      for (HostileCorpus.Case c : HostileCorpus.layers()) {
        byte[] pushed = read(c.pushedBlob() != null ? c.pushedBlob() : c.blob());
        String diffId = c.claimedDiffId() != null ? c.claimedDiffId() : Digests.sha256(("unknown " + c.name()).getBytes(StandardCharsets.UTF_8));
        Layer layer = new Layer(pushed, mediaTypeOf(pushed), diffId);
        String digest = push(registry, c.name(), List.of(base, layer), HostileCorpus.config(List.of(base.diffId, diffId)), 0);
        if (c.pushedBlob() != null) {
          alterStoredBlob(layer.digest(), read(c.blob())); // the registry's copy no longer is the blob it names
        }
        expected.add(new Expected(c.name(), digest, layer.digest(), c.reason(), c.accepted() ? null : "convert"));
      }
      for (HostileCorpus.ImageCase c : HostileCorpus.images()) {
        Layer own = new Layer(Compression.GZIP.compress(c.tar()), c.layerMediaType(), Digests.sha256(c.tar()));
        String digest = push(registry, c.name(), List.of(own), c.config(), c.layerSizeDelta());
        expected.add(new Expected(c.name(), digest, own.digest(), c.reason(), c.stage()));
      }
      for (int i = 1; i <= 2; i++) {
        byte[] tar = new TarBuilder().dir("app").file("app/v", ("good " + i).getBytes(StandardCharsets.UTF_8)).end().bytes();
        Layer l = new Layer(Compression.ZSTD.compress(tar), Compression.ZSTD.mediaType(), Digests.sha256(tar));
        String digest = push(registry, "good-" + i, List.of(base, l), HostileCorpus.config(List.of(base.diffId, l.diffId)), 0);
        expected.add(new Expected("good-" + i, digest, l.digest(), null, null));
      }

      Path config = configFile(prefix);
      Map<String, DeadLetter> lettersByKey = new HashMap<>();
      Map<String, ImageStatus> statusByImage = new HashMap<>();
      long started = System.nanoTime();
      RoleServices services = CommandRun.startRun("run", "--role", "all", "--config", config.toString());
      try (KafkaConsumer<String, byte[]> watch = KAFKA.consumer("watch-" + prefix, new StringDeserializer(),
          new ByteArrayDeserializer())) {
        watch.subscribe(List.of(topics.deadLetters(), topics.status()));
        List<String> refs = new ArrayList<>(List.of("submit", "--config", config.toString()));
        expected.forEach(e -> refs.add(REGISTRY.host() + "/" + REPO + ":" + e.tag()));
        CommandRun submitted = run(refs.toArray(String[]::new));
        assertEquals(0, submitted.exitCode(), submitted.err());

        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3); // a guard against hangs only
        while (!settled(expected, lettersByKey, statusByImage)) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("not settled: " + unsettled(expected, lettersByKey, statusByImage));
          }
          for (ConsumerRecord<String, byte[]> rec : watch.poll(Duration.ofMillis(500))) {
            if (rec.topic().equals(topics.deadLetters())) {
              DeadLetter d = V.read(DeadLetter.class, rec.value());
              lettersByKey.put(d.layerDigest() != null ? d.layerDigest() : d.subjectDigest(), d);
            } else {
              ImageStatus s = V.read(ImageStatus.class, rec.value());
              statusByImage.put(s.subjectDigest(), s);
            }
          }
        }
      } finally {
        services.close();
      }
      System.out.printf("hostile pipeline: %d images settled in %.1f s%n", expected.size(),
          (System.nanoTime() - started) / 1e9);

      for (Expected e : expected) {
        ImageStatus status = statusByImage.get(e.imageDigest());
        if (e.reason() == null) {
          assertEquals(ImageStatus.State.PUBLISHED, status == null ? null : status.state(), e.tag());
          assertTrue(!registry.referrers(REPO, e.imageDigest(), null).isEmpty(), e.tag() + " has its referrers");
          continue;
        }
        DeadLetter letter = lettersByKey.get("ingest".equals(e.stage()) ? e.imageDigest() : e.layerDigest());
        assertEquals(e.reason(), letter.reasonCode(), e.tag() + ": " + letter.message());
        assertEquals(e.stage(), letter.stage().name().toLowerCase(java.util.Locale.ROOT), e.tag());
        assertTrue(status == null || status.state() != ImageStatus.State.PUBLISHED, e.tag() + " is not published");
        assertEquals(ImageStatus.State.FAILED, status.state(), e.tag());
        assertEquals(e.reason(), status.reasonCode(), e.tag());
        if (!"ingest".equals(e.stage())) {
          assertNothingStaged(prefix, e.layerDigest(), e.tag());
        }
        assertEquals(List.of(), registry.referrers(REPO, e.imageDigest(), null), e.tag() + " has no referrer");
      }
    }
  }

  /** A layer blob with the media type and diffID its image gives it. */
  record Layer(byte[] blob, String mediaType, String diffId) {
    String digest() {
      return Digests.sha256(blob);
    }
  }

  /** Pushes the blobs, the config and a manifest (the last layer's size shifted by {@code sizeDelta}) as {@code REPO:tag}. */
  static String push(RegistryClient registry, String tag, List<Layer> layers, byte[] config, long sizeDelta)
      throws IOException {
    List<OciLayoutBuilder.Descriptor> descriptors = new ArrayList<>();
    for (int i = 0; i < layers.size(); i++) {
      Layer l = layers.get(i);
      registry.pushBlob(REPO, BlobSource.of(l.blob()));
      boolean last = i == layers.size() - 1;
      descriptors.add(new OciLayoutBuilder.Descriptor(l.mediaType(), l.digest(), l.blob().length + (last ? sizeDelta : 0)));
    }
    registry.pushBlob(REPO, BlobSource.of(config));
    byte[] manifest = HostileCorpus.manifest(config, descriptors);
    Manifest m = new Manifest(manifest, MediaTypes.OCI_MANIFEST, Digests.sha256(manifest));
    return registry.putManifest(REPO, tag, m);
  }

  /** Replaces the bytes docker-registry keeps for {@code digest} (storage corrupted after the push). */
  private static void alterStoredBlob(String digest, byte[] bytes) throws IOException {
    String hex = Digests.hex(digest);
    Path data = REGISTRY.storageDir().resolve("docker/registry/v2/blobs/sha256").resolve(hex.substring(0, 2))
        .resolve(hex).resolve("data");
    assertTrue(Files.isRegularFile(data), data.toString());
    Files.write(data, bytes);
  }

  private static void assertNothingStaged(String prefix, String layerDigest, String tag) {
    String folder = prefix + "/layers/sha256/" + Digests.hex(layerDigest) + "/";
    var objects = S3.client().listObjectsV2(ListObjectsV2Request.builder().bucket(S3.bucket()).prefix(folder).build());
    assertEquals(List.of(), objects.contents(), tag + ": nothing staged under " + folder);
    var uploads = S3.client().listMultipartUploads(ListMultipartUploadsRequest.builder().bucket(S3.bucket())
        .prefix(folder).build());
    assertEquals(List.of(), uploads.uploads(), tag + ": no multipart upload left open under " + folder);
  }

  private static boolean settled(List<Expected> expected, Map<String, DeadLetter> letters, Map<String, ImageStatus> statuses) {
    return unsettled(expected, letters, statuses).isEmpty();
  }

  private static List<String> unsettled(List<Expected> expected, Map<String, DeadLetter> letters,
      Map<String, ImageStatus> statuses) {
    List<String> open = new ArrayList<>();
    for (Expected e : expected) {
      ImageStatus.State want = e.reason() == null ? ImageStatus.State.PUBLISHED : ImageStatus.State.FAILED;
      String key = "ingest".equals(e.stage()) ? e.imageDigest() : e.layerDigest();
      boolean done = statuses.containsKey(e.imageDigest()) && statuses.get(e.imageDigest()).state() == want
          && (e.reason() == null || letters.containsKey(key));
      if (!done) {
        ImageStatus s = statuses.get(e.imageDigest());
        open.add(e.tag() + " (" + (s == null ? "no status" : s.state() + " " + s.reason())
            + (e.reason() == null ? "" : letters.containsKey(key) ? ", dead letter seen" : ", no dead letter") + ")");
      }
    }
    return open;
  }

  private static String mediaTypeOf(byte[] blob) {
    if (blob.length > 1 && (blob[0] & 0xff) == 0x1f && (blob[1] & 0xff) == 0x8b) {
      return Compression.GZIP.mediaType();
    }
    if (blob.length > 3 && (blob[0] & 0xff) == 0x28 && (blob[1] & 0xff) == 0xb5) {
      return Compression.ZSTD.mediaType();
    }
    return Compression.NONE.mediaType();
  }

  private static byte[] read(HostileCorpus.Blob blob) throws IOException {
    try (InputStream in = blob.open()) {
      return in.readAllBytes();
    }
  }

  private static Path configFile(String prefix) throws Exception {
    Path keys = Files.createDirectories(dir.resolve(prefix + "pki"));
    TestSigningKeys k = TestSigningKeys.create(keys);
    List<String> lines = new ArrayList<>(List.of(
        "kafka.topicPartitions=2",
        "registry.insecure=" + REGISTRY.host(),
        "registry.allowlist=" + REGISTRY.host(),
        "ingest.registryRate=0",
        "worker.concurrency=2",
        "worker.shutdownGraceSeconds=5",
        "signing.keyFile=" + k.key(),
        "signing.certFile=" + k.chain(),
        "publish.retrySeconds=2",
        "http.port=0"));
    lines.addAll(HostileCorpus.limitSettings());
    return FixtureConfig.write(dir, prefix, KAFKA, S3, lines);
  }
}

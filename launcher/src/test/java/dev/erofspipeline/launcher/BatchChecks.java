package dev.erofspipeline.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.publish.ReferrerManifests;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.RegistryHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.S3Object;

/** What the multi-process tests check once a batch is done: statuses, referrers, staged objects. */
final class BatchChecks {
  private static final RecordValidator V = RecordValidator.defaults();
  private static final ObjectMapper JSON = new ObjectMapper();

  private BatchChecks() {}

  /** The status records of a batch: how many PUBLISHED records each image got, and every record read. */
  record Statuses(Map<String, Integer> published, List<String> records) {}

  /**
   * Reads {@code erofs.status} until every image's latest state is PUBLISHED and then {@code quiet} more (a late
   * duplicate would show up then); fails on a FAILED state or when the time runs out.
   */
  static Statuses awaitPublished(KafkaFixture kafka, String statusTopic, Set<String> digests, Duration timeout,
      Duration quiet, Supplier<String> logs) {
    Map<String, ImageStatus> latest = new HashMap<>();
    Map<String, Integer> published = new TreeMap<>();
    List<String> records = new ArrayList<>();
    long t0 = System.nanoTime();
    try (KafkaConsumer<String, byte[]> c = kafka.consumer("check-" + statusTopic + "-" + System.nanoTime(),
        new StringDeserializer(), new ByteArrayDeserializer())) {
      c.subscribe(List.of(statusTopic));
      long end = t0 + timeout.toNanos();
      long quietUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(end, quietUntil)) {
        for (ConsumerRecord<String, byte[]> rec : c.poll(Duration.ofMillis(300))) {
          ImageStatus s = V.read(ImageStatus.class, rec.value());
          if (s.state() == ImageStatus.State.FAILED) {
            throw new AssertionError("failed: " + s + logs.get());
          }
          latest.put(s.subjectDigest(), s);
          records.add(String.format("%.1fs %s", (System.nanoTime() - t0) / 1e9, new String(rec.value())));
          if (s.state() == ImageStatus.State.PUBLISHED) {
            published.merge(s.subjectDigest(), 1, Integer::sum);
          }
        }
        boolean all = digests.stream().allMatch(d -> latest.containsKey(d)
            && latest.get(d).state() == ImageStatus.State.PUBLISHED);
        if (all && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.nanoTime() + quiet.toNanos();
        }
      }
    }
    for (String d : digests) {
      ImageStatus s = latest.get(d);
      if (s == null || s.state() != ImageStatus.State.PUBLISHED) {
        throw new AssertionError("not published after " + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)
            + " s: " + d + " last " + s + "; all " + latest.values() + logs.get());
      }
    }
    return new Statuses(published, records);
  }

  /**
   * The image's referrers index (tag fallback) lists exactly one image-bundle referrer, and no digest or artifact
   * type twice; for the layer profile, each layer's wrapper has exactly one referrer of each of its three types.
   */
  static void assertOneReferrerPerProfile(RegistryHttp registry, String repo, OciLayoutBuilder.Image image)
      throws Exception {
    String hex = image.digest().substring("sha256:".length());
    JsonNode index = JSON.readTree(registry.getManifest(repo, "sha256-" + hex).bytes());
    List<String> types = artifactTypes(index);
    assertEquals(1, types.stream().filter(MediaTypes.EROFS_DMVERITY_BUNDLE::equals).count(), repo + ": " + index);
    assertEquals(types.size(), new TreeSet<>(types).size(), repo + ": " + index);
    assertNoDuplicateDigests(index, repo);
    for (OciLayoutBuilder.Layer l : image.layers()) {
      String wrapper = ReferrerManifests.wrapper(l.descriptor().mediaType(), l.digest(), l.descriptor().size()).digest();
      JsonNode referrers = JSON.readTree(registry.getManifest(repo, "sha256-" + wrapper.substring(7)).bytes());
      assertEquals(List.of(MediaTypes.EROFS_LAYER_SIGNATURE, MediaTypes.EROFS_MERKLE_TREE, MediaTypes.EROFS_METADATA)
              .stream().sorted().toList(), artifactTypes(referrers).stream().sorted().toList(),
          repo + " layer " + l.digest() + ": " + referrers);
      assertNoDuplicateDigests(referrers, repo);
    }
  }

  private static List<String> artifactTypes(JsonNode index) {
    List<String> types = new ArrayList<>();
    index.path("manifests").forEach(m -> types.add(m.path("artifactType").asText()));
    return types;
  }

  private static void assertNoDuplicateDigests(JsonNode index, String repo) {
    List<String> digests = new ArrayList<>();
    index.path("manifests").forEach(m -> digests.add(m.path("digest").asText()));
    assertEquals(digests.size(), new TreeSet<>(digests).size(), repo + ": " + index);
  }

  /**
   * Exactly {@code index.erofs}, {@code tree.verity} and {@code result.json} for each of these layers under the
   * staging prefix, nothing else; returns the keys of incomplete multipart uploads left under it.
   */
  static List<String> assertStagedExactly(S3Client s3, String bucket, String prefix, Set<String> layerHexes) {
    List<String> keys = s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix)).contents().stream()
        .map(S3Object::key).sorted().toList();
    Map<String, List<String>> perLayer = new TreeMap<>();
    Pattern staged = Pattern.compile(Pattern.quote(prefix) + "/?layers/sha256/([0-9a-f]{64})/[^/]+/([^/]+)");
    for (String k : keys) {
      Matcher x = staged.matcher(k);
      assertTrue(x.matches(), "unexpected object " + k + " in " + keys);
      perLayer.computeIfAbsent(x.group(1), h -> new ArrayList<>()).add(x.group(2));
    }
    assertEquals(layerHexes, perLayer.keySet(), keys.toString());
    perLayer.forEach((h, names) -> assertEquals(List.of("index.erofs", "result.json", "tree.verity"),
        names.stream().sorted().toList(), h + ": " + keys));
    return s3.listMultipartUploads(r -> r.bucket(bucket).prefix(prefix)).uploads().stream()
        .map(MultipartUpload::key).sorted().toList();
  }
}

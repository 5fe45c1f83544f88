package dev.erofspipeline.publish;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.ImageReference;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The bytes of an EROFS image (native profile, {@code docs/native-layers.md}): its config, its
 * manifest and the image index listing the legacy manifests and their EROFS twins. Compact JSON, no
 * timestamps added: the same inputs always give the same digests, so publishing twice changes
 * nothing.
 *
 * <p>What containerd needs (see the docs for the sources): layers of media type {@link
 * MediaTypes#EROFS_LAYER}, which its EROFS differ copies verbatim to {@code layer.erofs} and reports
 * with the layer's own digest as diffID, so the config's {@code rootfs.diff_ids} are the EROFS blob
 * digests; {@code os.features: ["erofs"]} in the config and in the index entry of every EROFS
 * manifest, which are listed after the legacy ones.
 */
public final class NativeManifests {

  /** Suffix of the derived tag: {@code <tag>-erofs}. */
  public static final String TAG_SUFFIX = "-erofs";
  /** Suffix of the derived tag of a reference without a tag: {@code sha256-<hex>.erofs}. */
  public static final String DIGEST_TAG_SUFFIX = ".erofs";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

  private NativeManifests() {}

  /**
   * One EROFS layer of a twin.
   *
   * @param digest the EROFS blob digest (also its diffID)
   * @param size bytes of the blob
   * @param hashOffset bytes of the EROFS image, where the verity superblock and tree start
   * @param rootHash verity root hash, lowercase hex
   * @param blockSize verity data and hash block size
   * @param sourceLayer the tar layer it was converted from
   */
  public record Layer(String digest, long size, long hashOffset, String rootHash, int blockSize, String sourceLayer) {}

  /**
   * The twin's config: the legacy config with {@code rootfs.diff_ids} replaced by the EROFS blob
   * digests and {@code erofs} added to {@code os.features}; every other field (history, env,
   * entrypoint, created) as it was, in the same order.
   *
   * @throws IOException when the legacy config is not a JSON object or names another number of layers
   */
  public static byte[] config(byte[] legacyConfig, List<Layer> layers) throws IOException {
    JsonNode parsed = JSON.readTree(legacyConfig);
    if (parsed == null || !parsed.isObject()) {
      throw new IOException("the image config is not a JSON object");
    }
    ObjectNode config = (ObjectNode) parsed;
    JsonNode rootfs = config.path("rootfs");
    if (!rootfs.isObject() || !rootfs.path("diff_ids").isArray() || rootfs.path("diff_ids").size() != layers.size()) {
      throw new IOException("the image config lists " + rootfs.path("diff_ids").size() + " diff_ids for "
          + layers.size() + " layers");
    }
    ArrayNode diffIds = F.arrayNode();
    layers.forEach(l -> diffIds.add(l.digest()));
    ((ObjectNode) rootfs).set("diff_ids", diffIds);
    config.set("os.features", withErofs(config.path("os.features")));
    return JSON.writeValueAsBytes(config);
  }

  /**
   * The platform of an index entry for an image with {@code config}: {@code architecture}, {@code
   * os}, {@code os.version}, {@code variant} and a non-empty {@code os.features} as the config has
   * them.
   */
  public static ObjectNode platform(byte[] config) throws IOException {
    JsonNode c = JSON.readTree(config);
    ObjectNode p = F.objectNode();
    for (String field : List.of("architecture", "os", "os.version", "variant")) {
      if (c.path(field).isTextual()) {
        p.put(field, c.get(field).asText());
      }
    }
    if (c.path("os.features").isArray() && !c.get("os.features").isEmpty()) {
      p.set("os.features", c.get("os.features").deepCopy());
    }
    return p;
  }

  /** {@code platform} as the platform of the EROFS twin: the same, with {@code erofs} in {@code os.features}. */
  public static ObjectNode twinPlatform(JsonNode platform) {
    ObjectNode p = platform != null && platform.isObject() ? ((ObjectNode) platform).deepCopy() : F.objectNode();
    p.set("os.features", withErofs(p.path("os.features")));
    return p;
  }

  private static ArrayNode withErofs(JsonNode existing) {
    ArrayNode out = F.arrayNode();
    if (existing.isArray()) {
      for (JsonNode f : existing) {
        if (!MediaTypes.EROFS_OS_FEATURE.equals(f.asText())) {
          out.add(f.deepCopy());
        }
      }
    }
    out.add(MediaTypes.EROFS_OS_FEATURE);
    return out;
  }

  /**
   * The twin's manifest: OCI image manifest, the config, one {@link MediaTypes#EROFS_LAYER} per layer
   * in order with the dm-verity annotations of the draft erofs-image-spec ({@code hash_offset},
   * {@code root_digest} as {@code sha256:<root hash>}, {@code block_size}) and the source tar layer.
   */
  public static Manifest manifest(Descriptor config, List<Layer> layers, Map<String, String> annotations) {
    ObjectNode root = F.objectNode();
    root.put("schemaVersion", 2);
    root.put("mediaType", MediaTypes.OCI_MANIFEST);
    root.set("config", ReferrerManifests.descriptor(config.mediaType(), config.digest(), config.size(), Map.of()));
    ArrayNode arr = root.putArray("layers");
    for (Layer l : layers) {
      Map<String, String> a = new TreeMap<>();
      a.put(Annotations.EROFS_DMVERITY_BLOCK_SIZE, Integer.toString(l.blockSize()));
      a.put(Annotations.EROFS_DMVERITY_HASH_OFFSET, Long.toString(l.hashOffset()));
      a.put(Annotations.EROFS_DMVERITY_ROOT_DIGEST, "sha256:" + l.rootHash());
      a.put(Annotations.SOURCE_LAYER, l.sourceLayer());
      arr.add(ReferrerManifests.descriptor(MediaTypes.EROFS_LAYER, l.digest(), l.size(), a));
    }
    if (!annotations.isEmpty()) {
      root.set("annotations", ReferrerManifests.sorted(annotations));
    }
    return Manifest.of(bytes(root), MediaTypes.OCI_MANIFEST);
  }

  /**
   * One EROFS twin in the index.
   *
   * @param legacyDigest the image manifest it is the twin of
   * @param manifest the twin
   */
  public record Twin(String legacyDigest, Manifest manifest) {}

  /**
   * The image index: first the legacy manifests, then the EROFS twins in the order given, each with
   * its legacy entry's platform plus {@code os.features: ["erofs"]}.
   *
   * @param legacyIndex the index the request resolved to, or null when it resolved to one manifest;
   *     its entries are kept as they are (except EROFS entries, which this index replaces), and so are
   *     its annotations
   * @param legacyManifest the image manifest when there is no index, with {@code legacyPlatform}
   * @throws IOException when a twin's legacy manifest is not in {@code legacyIndex}
   */
  public static Manifest index(byte[] legacyIndex, Descriptor legacyManifest, JsonNode legacyPlatform,
      List<Twin> twins) throws IOException {
    ArrayNode entries = F.arrayNode();
    Map<String, JsonNode> platforms = new TreeMap<>();
    JsonNode annotations = null;
    if (legacyIndex != null) {
      JsonNode idx = JSON.readTree(legacyIndex);
      for (JsonNode e : idx.path("manifests")) {
        if (MediaTypes.isErofsPlatform(e.path("platform"))) {
          continue;
        }
        entries.add(e.deepCopy());
        platforms.putIfAbsent(e.path("digest").asText(), e.path("platform"));
      }
      annotations = idx.get("annotations");
    } else {
      ObjectNode e = ReferrerManifests.descriptor(legacyManifest.mediaType(), legacyManifest.digest(),
          legacyManifest.size(), Map.of());
      e.set("platform", legacyPlatform.deepCopy());
      entries.add(e);
      platforms.put(legacyManifest.digest(), legacyPlatform);
    }
    for (Twin t : twins) {
      JsonNode p = platforms.get(t.legacyDigest());
      if (p == null) {
        throw new IOException("manifest " + t.legacyDigest() + " is not in the image index");
      }
      ObjectNode e = ReferrerManifests.descriptor(t.manifest().mediaType(), t.manifest().digest(),
          t.manifest().bytes().length, Map.of());
      e.set("platform", twinPlatform(p));
      entries.add(e);
    }
    ObjectNode root = F.objectNode();
    root.put("schemaVersion", 2);
    root.put("mediaType", MediaTypes.OCI_INDEX);
    root.set("manifests", entries);
    if (annotations != null && annotations.isObject() && !annotations.isEmpty()) {
      root.set("annotations", annotations.deepCopy());
    }
    return Manifest.of(bytes(root), MediaTypes.OCI_INDEX);
  }

  /** Whether an image index already lists EROFS twins (entries with the {@code erofs} OS feature). */
  public static boolean listsTwins(byte[] index) throws IOException {
    for (JsonNode e : JSON.readTree(index).path("manifests")) {
      if (MediaTypes.isErofsPlatform(e.path("platform"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The tag the EROFS index is written under.
   *
   * @param reference the reference as requested ({@code host/repo:tag}, {@code host/repo@sha256:…},
   *     {@code oci:DIR[:tag]})
   * @param topDigest what it resolved to (the index, or the image manifest)
   * @param inPlace update the requested tag itself (opt-in)
   * @return {@code <tag>} in place, {@code <tag>-erofs} by default, and {@code sha256-<hex of
   *     topDigest>.erofs} for a reference without a tag or whose derived tag would exceed 128 characters
   */
  public static String tag(String reference, String topDigest, boolean inPlace) {
    String tag = null;
    if (reference != null) {
      try {
        tag = ImageReference.parse(reference).tag();
      } catch (IllegalArgumentException e) {
        tag = null; // a reference the record carries was checked by ingest; without one, the digest form
      }
    }
    if (tag != null && inPlace) {
      return tag;
    }
    if (tag != null && TAG.matcher(tag + TAG_SUFFIX).matches()) {
      return tag + TAG_SUFFIX;
    }
    return topDigest.replace(':', '-') + DIGEST_TAG_SUFFIX;
  }

  private static byte[] bytes(JsonNode root) {
    try {
      return JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}

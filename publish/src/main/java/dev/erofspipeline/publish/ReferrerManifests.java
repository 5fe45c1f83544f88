package dev.erofspipeline.publish;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.MediaTypes;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The exact bytes of every manifest the publisher writes (see {@code docs/attachment.md}): compact
 * JSON (no whitespace, no trailing newline), UTF-8, fixed key order ({@code schemaVersion,
 * mediaType, artifactType, config, layers, subject, annotations}; in descriptors {@code mediaType,
 * digest, size, annotations}), annotations sorted by key, no timestamps. The same inputs always give
 * the same digest.
 */
public final class ReferrerManifests {

  /** Artifact type of the per-layer wrapper manifest (layer profile). */
  public static final String LAYER_WRAPPER_ARTIFACT_TYPE = "application/vnd.erofs-pipeline.layer-wrapper.v1";

  /** Tag prefix keeping a wrapper reachable: {@code erofs-layer-<hex of the layer digest>}. */
  public static final String WRAPPER_TAG_PREFIX = "erofs-layer-";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private ReferrerManifests() {}

  /** The OCI empty descriptor ({@code {}}, 2 bytes) used as config everywhere. */
  public static Descriptor emptyConfig() {
    return new Descriptor(MediaTypes.OCI_EMPTY, MediaTypes.OCI_EMPTY_DIGEST, MediaTypes.OCI_EMPTY_SIZE);
  }

  /** The bytes of the empty config blob: {@code {}}. */
  public static byte[] emptyConfigBytes() {
    return MediaTypes.OCI_EMPTY_CONTENT.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  /** One layer's three payloads as they appear in a manifest. */
  public record LayerPayloads(String layerDigest, String rootHash, Descriptor index, Descriptor tree, Descriptor signature) {}

  /** The two containerd annotations every payload carries. */
  public static Map<String, String> payloadAnnotations(String layerDigest, String rootHash) {
    Map<String, String> a = new TreeMap<>();
    a.put(Annotations.SOURCE_LAYER_DIGEST, layerDigest);
    a.put(Annotations.ROOT_HASH, rootHash);
    return a;
  }

  /** Annotations of our referrer manifests (and of their entries in a referrers index). */
  public static Map<String, String> manifestAnnotations(String profileName, String fingerprint, String erofsUtilsVersion) {
    Map<String, String> a = new TreeMap<>();
    a.put(Annotations.PROFILE_FINGERPRINT, fingerprint);
    a.put(Annotations.PROFILE_NAME, profileName);
    if (erofsUtilsVersion != null) {
      a.put(Annotations.EROFS_UTILS_VERSION, erofsUtilsVersion);
    }
    return a;
  }

  /**
   * The image-bundle referrer (containerd schema, consumer contract section 5): for every image layer
   * in order its tar index, Merkle tree and signature, each annotated with the source layer digest and
   * the root hash.
   */
  public static Manifest bundle(Descriptor subject, List<LayerPayloads> layers, Map<String, String> annotations) {
    ArrayNode arr = F.arrayNode();
    for (LayerPayloads l : layers) {
      Map<String, String> a = payloadAnnotations(l.layerDigest(), l.rootHash());
      arr.add(descriptor(l.index().mediaType(), l.index().digest(), l.index().size(), a));
      arr.add(descriptor(l.tree().mediaType(), l.tree().digest(), l.tree().size(), a));
      arr.add(descriptor(l.signature().mediaType(), l.signature().digest(), l.signature().size(), a));
    }
    return manifest(MediaTypes.EROFS_DMVERITY_BUNDLE, arr, subject, annotations);
  }

  /**
   * The canonical wrapper of one layer blob (layer profile). Its bytes depend on the layer descriptor
   * only (media type as in the image manifest, digest, size), so a node computes its digest from the
   * descriptor:
   *
   * <pre>{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
   * "artifactType":"application/vnd.erofs-pipeline.layer-wrapper.v1",
   * "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136f...8a","size":2},
   * "layers":[{"mediaType":"M","digest":"D","size":N}]}</pre>
   *
   * (one line, no whitespace, no trailing newline).
   */
  public static Manifest wrapper(String layerMediaType, String layerDigest, long layerSize) {
    ArrayNode arr = F.arrayNode();
    arr.add(descriptor(layerMediaType, layerDigest, layerSize, Map.of()));
    return manifest(LAYER_WRAPPER_ARTIFACT_TYPE, arr, null, Map.of());
  }

  /** The tag that keeps the wrapper of {@code layerDigest} reachable. */
  public static String wrapperTag(String layerDigest) {
    return WRAPPER_TAG_PREFIX + layerDigest.substring(layerDigest.indexOf(':') + 1);
  }

  /**
   * One per-layer referrer (layer profile): artifact type = the payload's media type, one layer (the
   * payload, with the two containerd annotations), subject = the wrapper.
   */
  public static Manifest layerReferrer(Descriptor wrapper, Descriptor payload, String layerDigest, String rootHash,
      Map<String, String> annotations) {
    ArrayNode arr = F.arrayNode();
    arr.add(descriptor(payload.mediaType(), payload.digest(), payload.size(), payloadAnnotations(layerDigest, rootHash)));
    return manifest(payload.mediaType(), arr, wrapper, annotations);
  }

  /**
   * The signatures of an EROFS image (native profile): one referrer whose subject is the EROFS image
   * manifest, artifact type {@link MediaTypes#EROFS_LAYER_SIGNATURE}, and for every layer in order
   * its signature annotated with the EROFS layer digest and the root hash (the two containerd
   * annotations, as on the payloads of an image bundle).
   *
   * @param signatures per layer: the EROFS layer digest, its root hash and the signature descriptor
   */
  public static Manifest nativeSignatures(Descriptor subject, List<LayerSignature> signatures,
      Map<String, String> annotations) {
    ArrayNode arr = F.arrayNode();
    for (LayerSignature s : signatures) {
      arr.add(descriptor(s.signature().mediaType(), s.signature().digest(), s.signature().size(),
          payloadAnnotations(s.layerDigest(), s.rootHash())));
    }
    return manifest(MediaTypes.EROFS_LAYER_SIGNATURE, arr, subject, annotations);
  }

  /** One layer's signature as it appears in {@link #nativeSignatures}. */
  public record LayerSignature(String layerDigest, String rootHash, Descriptor signature) {}

  private static Manifest manifest(String artifactType, ArrayNode layers, Descriptor subject, Map<String, String> annotations) {
    ObjectNode root = F.objectNode();
    root.put("schemaVersion", 2);
    root.put("mediaType", MediaTypes.OCI_MANIFEST);
    root.put("artifactType", artifactType);
    root.set("config", descriptor(MediaTypes.OCI_EMPTY, MediaTypes.OCI_EMPTY_DIGEST, MediaTypes.OCI_EMPTY_SIZE, Map.of()));
    root.set("layers", layers);
    if (subject != null) {
      root.set("subject", descriptor(subject.mediaType(), subject.digest(), subject.size(), Map.of()));
    }
    if (annotations != null && !annotations.isEmpty()) {
      root.set("annotations", sorted(annotations));
    }
    try {
      return Manifest.of(JSON.writeValueAsBytes(root), MediaTypes.OCI_MANIFEST);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static ObjectNode descriptor(String mediaType, String digest, long size, Map<String, String> annotations) {
    ObjectNode n = F.objectNode();
    n.put("mediaType", mediaType);
    n.put("digest", digest);
    n.put("size", size);
    if (!annotations.isEmpty()) {
      n.set("annotations", sorted(annotations));
    }
    return n;
  }

  static ObjectNode sorted(Map<String, String> annotations) {
    ObjectNode a = F.objectNode();
    new TreeMap<>(annotations).forEach(a::put);
    return a;
  }
}

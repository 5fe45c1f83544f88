package dev.erofspipeline.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;

/**
 * Every media type the pipeline reads or writes (consumer-contract.md sections 4-5, OCI image spec
 * 1.1, Docker image manifest v2 schema 2), in one place.
 */
public final class MediaTypes {
  private MediaTypes() {}

  // ---- containerd EROFS dm-verity image bundle (contract section 5) ----

  /** artifactType of the one referrer manifest per image manifest. */
  public static final String EROFS_DMVERITY_BUNDLE = "application/vnd.containerd.erofs.dmverity.v1";
  /** Payload: the EROFS tar index of a layer ({@code index.erofs}). */
  public static final String EROFS_METADATA = "application/vnd.containerd.erofs.metadata.v1";
  /** Payload: the dm-verity hash device of a layer ({@code tree.verity}). */
  public static final String EROFS_MERKLE_TREE = "application/vnd.containerd.erofs.dmverity.merkle-tree.v1";
  /** Payload: the detached PKCS#7 signature (DER) of the layer's root hash. */
  public static final String EROFS_LAYER_SIGNATURE =
      "application/vnd.containerd.erofs.dmverity.layer-signature.v1+pkcs7";

  /** A native EROFS layer (containerd {@code images.MediaTypeErofsLayer}). */
  public static final String EROFS_LAYER = "application/vnd.erofs.layer.v1";
  /**
   * The {@code os.features} value of a manifest with EROFS layers, in its image-index entry and its
   * config (draft erofs-image-spec sections 5.4 and 6).
   */
  public static final String EROFS_OS_FEATURE = "erofs";

  /** Older scheme: notation fork's dm-verity artifact type. */
  public static final String LEGACY_NOTARY_DMVERITY = "application/vnd.cncf.notary.dmverity.v1";
  /** Older scheme: Kata tardev's signed Merkle tree. */
  public static final String LEGACY_KATA_MT_PKCS7 = "application/vnd.oci.mt.pkcs7";

  // ---- OCI image spec ----

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  /** The empty JSON object {@code {}}, used as config of artifact manifests. */
  public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  /** Digest of the two bytes {@code {}}. */
  public static final String OCI_EMPTY_DIGEST =
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
  public static final long OCI_EMPTY_SIZE = 2;
  /** Content of the empty descriptor's blob. */
  public static final String OCI_EMPTY_CONTENT = "{}";

  public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
  public static final String OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String OCI_LAYER_TAR_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
  public static final String OCI_LAYER_NONDISTRIBUTABLE_TAR =
      "application/vnd.oci.image.layer.nondistributable.v1.tar";
  public static final String OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP =
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
  public static final String OCI_LAYER_NONDISTRIBUTABLE_TAR_ZSTD =
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

  // ---- Docker image manifest v2 schema 2 ----

  public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  public static final String DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";
  public static final String DOCKER_LAYER_TAR_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  public static final String DOCKER_LAYER_TAR_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd";
  public static final String DOCKER_FOREIGN_LAYER_TAR = "application/vnd.docker.image.rootfs.foreign.diff.tar";
  public static final String DOCKER_FOREIGN_LAYER_TAR_GZIP =
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

  /** How a layer blob is compressed. */
  public enum Compression {
    NONE, GZIP, ZSTD
  }

  /** Image manifests (what an image record's subject is). */
  public static final Set<String> IMAGE_MANIFESTS = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);
  /** Indexes of platform manifests. */
  public static final Set<String> IMAGE_INDEXES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);
  /** Layers whose content is a tar stream the converter can read (the layer-job schema's enum). */
  public static final Set<String> CONVERTIBLE_LAYERS = Set.of(
      OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD,
      OCI_LAYER_NONDISTRIBUTABLE_TAR, OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP, OCI_LAYER_NONDISTRIBUTABLE_TAR_ZSTD,
      DOCKER_LAYER_TAR, DOCKER_LAYER_TAR_GZIP, DOCKER_LAYER_TAR_ZSTD,
      DOCKER_FOREIGN_LAYER_TAR, DOCKER_FOREIGN_LAYER_TAR_GZIP);
  /** Layers that registries may not serve (descriptor {@code urls} point elsewhere). */
  public static final Set<String> NON_DISTRIBUTABLE_LAYERS = Set.of(
      OCI_LAYER_NONDISTRIBUTABLE_TAR, OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP, OCI_LAYER_NONDISTRIBUTABLE_TAR_ZSTD,
      DOCKER_FOREIGN_LAYER_TAR, DOCKER_FOREIGN_LAYER_TAR_GZIP);

  /** Whether an index entry's {@code platform} names the {@link #EROFS_OS_FEATURE} (an EROFS image manifest). */
  public static boolean isErofsPlatform(JsonNode platform) {
    for (JsonNode f : platform.path("os.features")) {
      if (EROFS_OS_FEATURE.equals(f.asText())) {
        return true;
      }
    }
    return false;
  }

  public static boolean isImageManifest(String mediaType) {
    return mediaType != null && IMAGE_MANIFESTS.contains(mediaType);
  }

  public static boolean isImageIndex(String mediaType) {
    return mediaType != null && IMAGE_INDEXES.contains(mediaType);
  }

  /** True for the tar layer types this pipeline converts (compressed or not, distributable or not). */
  public static boolean isConvertibleLayer(String mediaType) {
    return mediaType != null && CONVERTIBLE_LAYERS.contains(mediaType);
  }

  public static boolean isNonDistributableLayer(String mediaType) {
    return mediaType != null && NON_DISTRIBUTABLE_LAYERS.contains(mediaType);
  }

  /**
   * Compression named by a convertible layer media type.
   *
   * @throws IllegalArgumentException for anything that is not a convertible layer type
   */
  public static Compression compressionOf(String mediaType) {
    if (!isConvertibleLayer(mediaType)) {
      throw new IllegalArgumentException("not a tar layer media type: " + mediaType);
    }
    if (mediaType.endsWith("+gzip") || mediaType.endsWith(".gzip")) {
      return Compression.GZIP;
    }
    if (mediaType.endsWith("+zstd") || mediaType.endsWith(".zstd")) {
      return Compression.ZSTD;
    }
    return Compression.NONE;
  }
}

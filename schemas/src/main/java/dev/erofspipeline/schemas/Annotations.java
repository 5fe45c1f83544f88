package dev.erofspipeline.schemas;

/**
 * Annotation keys used on published artifacts (consumer-contract.md section 5), in one place.
 */
public final class Annotations {
  private Annotations() {}

  /**
   * On every payload of an image bundle: the compressed source layer digest {@code sha256:<hex>}
   * exactly as in the image manifest.
   */
  public static final String SOURCE_LAYER_DIGEST = "io.containerd.erofs.v1/dmverity.source-layer-digest";

  /** On every payload of an image bundle: the layer's dm-verity root hash, lowercase hex. */
  public static final String ROOT_HASH = "io.containerd.erofs.v1/dmverity.root-hash";

  /**
   * Prefix of the draft erofs-image-spec's dm-verity annotations: on our native EROFS layer
   * descriptors, and an older referrer scheme (consumer contract section 5).
   */
  public static final String EROFS_DMVERITY_PREFIX = "org.erofs.dmverity.";

  /**
   * On a native EROFS layer descriptor (draft erofs-image-spec section 2.3): where the verity
   * superblock and tree start, i.e. the size of the EROFS image, decimal.
   */
  public static final String EROFS_DMVERITY_HASH_OFFSET = "org.erofs.dmverity.hash_offset";

  /** On a native EROFS layer descriptor: the verity root hash as a digest, {@code sha256:<hex>}. */
  public static final String EROFS_DMVERITY_ROOT_DIGEST = "org.erofs.dmverity.root_digest";

  /** On a native EROFS layer descriptor: verity data and hash block size, decimal (4096). */
  public static final String EROFS_DMVERITY_BLOCK_SIZE = "org.erofs.dmverity.block_size";

  /** On our referrer manifests: the conversion profile fingerprint of their payloads. */
  public static final String PROFILE_FINGERPRINT = "dev.erofs-pipeline.profile.fingerprint";

  /** On our referrer manifests: the conversion profile name. */
  public static final String PROFILE_NAME = "dev.erofs-pipeline.profile.name";

  /** On our referrer manifests: the erofs-utils version whose output the index reproduces. */
  public static final String EROFS_UTILS_VERSION = "dev.erofs-pipeline.erofs-utils.version";

  /** On a native EROFS layer descriptor: the tar layer it was converted from. */
  public static final String SOURCE_LAYER = "dev.erofs-pipeline.source-layer-digest";

  /** On a native EROFS image manifest: the image manifest it is the twin of. */
  public static final String SOURCE_MANIFEST = "dev.erofs-pipeline.source-manifest";

  /** OCI image-layout: the tag of a manifest in {@code index.json} ({@code oci:DIR:tag}). */
  public static final String OCI_REF_NAME = "org.opencontainers.image.ref.name";
}

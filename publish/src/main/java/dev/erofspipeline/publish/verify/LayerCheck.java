package dev.erofspipeline.publish.verify;

/**
 * The outcome for one layer of one image manifest.
 *
 * @param manifestDigest the image (platform) manifest
 * @param platform {@code os/arch[/variant]} from the index, or null for a single-manifest image
 * @param layerDigest D
 * @param rootHash the root hash the artifacts claim (annotation), or null when none was found
 * @param reason {@link Reason#OK}, or the first check that failed
 * @param detail a human explanation (empty when ok)
 */
public record LayerCheck(String manifestDigest, String platform, String layerDigest, String rootHash, Reason reason,
    String detail) {

  /** Why a layer failed (checked in this order). */
  public enum Reason {
    OK("ok"),
    /** No referrer of the profile for the subject (image manifest or layer wrapper). */
    NO_REFERRER("no referrer"),
    /** More than one referrer where consumers accept exactly one. */
    AMBIGUOUS_REFERRER("more than one referrer"),
    /** The referrer lacks the index, tree or signature of this layer, or their annotations are wrong. */
    MISSING_PAYLOAD("payload missing"),
    /** A payload could not be downloaded or its digest did not match. */
    DOWNLOAD_FAILED("download failed"),
    /** The tar index is not EROFS, or its superblock UUID is not v5("erofs:blobs/" + D). */
    EROFS_UUID_MISMATCH("erofs uuid mismatch"),
    /** A native layer is not of the EROFS layer media type, or its image part has no EROFS superblock. */
    NOT_EROFS("not an EROFS image"),
    /** The hash device has no verity superblock, or its UUID is not v5("dmverity:blobs/" + D). */
    VERITY_UUID_MISMATCH("verity uuid mismatch"),
    /** The signature of the root hash was refused by the CA bundle. */
    SIGNATURE_REJECTED("signature rejected"),
    /** The layer blob could not be read, did not match D, or did not decompress. */
    LAYER_UNREADABLE("layer unreadable"),
    /** index || tar does not hash to the annotated (signed) root hash. */
    ROOT_HASH_MISMATCH("root hash mismatch"),
    /** The published hash device differs from the one recomputed over index || tar. */
    TREE_MISMATCH("tree mismatch");

    private final String text;

    Reason(String text) {
      this.text = text;
    }

    public String text() {
      return text;
    }
  }

  public boolean ok() {
    return reason == Reason.OK;
  }
}

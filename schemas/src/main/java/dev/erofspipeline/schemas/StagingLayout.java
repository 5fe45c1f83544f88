package dev.erofspipeline.schemas;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The content-addressed S3 layout of ARCHITECTURE.md, in one place:
 * {@code <prefix>/layers/sha256/<layer hex>/<profile fingerprint>/} holding {@code index.erofs},
 * {@code tree.verity} and {@code result.json} (tar-index profile), or {@code layer.erofs} and {@code
 * result.json} ({@link ConversionProfile#NATIVE native} profile). An empty prefix gives keys starting at {@code
 * layers/}; slashes around the prefix are trimmed.
 */
public final class StagingLayout {
  private StagingLayout() {}

  public static final String INDEX_FILE = "index.erofs";
  public static final String TREE_FILE = "tree.verity";
  public static final String RESULT_FILE = ResultDocument.FILE_NAME;
  /** The native profile's one artifact: EROFS image, verity superblock and tree. */
  public static final String BLOB_FILE = "layer.erofs";

  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{16,64}");

  /**
   * The folder of one layer under one profile, ending in {@code /}.
   *
   * @throws IllegalArgumentException if the digest or fingerprint is not of the schemas' form
   */
  public static String folder(String prefix, String layerDigest, String profileFingerprint) {
    if (layerDigest == null || !DIGEST.matcher(layerDigest).matches()) {
      throw new IllegalArgumentException("layer digest must be sha256:<64 lowercase hex>, got " + layerDigest);
    }
    if (profileFingerprint == null || !FINGERPRINT.matcher(profileFingerprint).matches()) {
      throw new IllegalArgumentException(
          "profile fingerprint must be 16 to 64 lowercase hex characters, got " + profileFingerprint);
    }
    String p = trimSlashes(prefix == null ? "" : prefix);
    return (p.isEmpty() ? "" : p + "/") + "layers/sha256/" + layerDigest.substring(7) + "/" + profileFingerprint + "/";
  }

  public static String indexKey(String prefix, String layerDigest, String profileFingerprint) {
    return folder(prefix, layerDigest, profileFingerprint) + INDEX_FILE;
  }

  public static String treeKey(String prefix, String layerDigest, String profileFingerprint) {
    return folder(prefix, layerDigest, profileFingerprint) + TREE_FILE;
  }

  public static String resultKey(String prefix, String layerDigest, String profileFingerprint) {
    return folder(prefix, layerDigest, profileFingerprint) + RESULT_FILE;
  }

  /** The {@link LayerResult.Staging} of one layer under one tar-index profile in {@code bucket}. */
  public static LayerResult.Staging staging(String bucket, String prefix, String layerDigest,
      String profileFingerprint) {
    Objects.requireNonNull(bucket, "bucket");
    String folder = folder(prefix, layerDigest, profileFingerprint);
    return new LayerResult.Staging(bucket, folder + INDEX_FILE, folder + TREE_FILE, folder + RESULT_FILE);
  }

  /**
   * The {@link LayerResult.Staging} of one layer under {@code profile}: {@code layer.erofs} and {@code
   * result.json} for the native profile, else the tar-index objects.
   */
  public static LayerResult.Staging staging(String bucket, String prefix, String layerDigest,
      ConversionProfile profile) {
    if (!profile.isNative()) {
      return staging(bucket, prefix, layerDigest, profile.fingerprint());
    }
    Objects.requireNonNull(bucket, "bucket");
    String folder = folder(prefix, layerDigest, profile.fingerprint());
    return new LayerResult.Staging(bucket, null, null, folder + RESULT_FILE, folder + BLOB_FILE);
  }

  private static String trimSlashes(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && s.charAt(start) == '/') {
      start++;
    }
    while (end > start && s.charAt(end - 1) == '/') {
      end--;
    }
    return s.substring(start, end);
  }
}

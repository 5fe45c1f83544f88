package dev.erofspipeline.publish.signing;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** Checks of root hashes and layer digests shared by the signer and the verifier. */
final class RootHashes {

  private static final Pattern ROOT_HASH = Pattern.compile("[0-9a-f]{64}");
  /** OCI image-spec digest grammar. */
  private static final Pattern DIGEST =
      Pattern.compile("[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");

  private RootHashes() {}

  /** The bytes that are signed: the ASCII of the validated root hash, 64 bytes, no newline. */
  static byte[] signedContent(String rootHash) {
    requireRootHash(rootHash);
    return rootHash.getBytes(StandardCharsets.US_ASCII);
  }

  static void requireRootHash(String rootHash) {
    if (rootHash == null) {
      throw new IllegalArgumentException("root hash is missing (expected 64 lowercase hex characters)");
    }
    if (!ROOT_HASH.matcher(rootHash).matches()) {
      // The value itself is not echoed: whatever was passed by mistake stays out of logs.
      throw new IllegalArgumentException("root hash must be 64 lowercase hex characters (no newline), got "
          + shape(rootHash));
    }
  }

  static void requireLayerDigest(String layerDigest) {
    if (layerDigest == null) {
      throw new IllegalArgumentException("layer digest is missing (expected sha256:<hex>)");
    }
    if (layerDigest.length() > 200 || !DIGEST.matcher(layerDigest).matches()) {
      throw new IllegalArgumentException("layer digest is not a digest (expected sha256:<hex>): "
          + describe(layerDigest));
    }
  }

  private static String shape(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        String kind = c >= 'A' && c <= 'F' ? "an uppercase hex digit"
            : c == '\n' || c == '\r' ? "a line break"
            : Character.isWhitespace(c) ? "white space" : "a non-hex character";
        return s.length() + " characters, " + kind + " at index " + i;
      }
    }
    return s.length() + " characters";
  }

  /** A short, printable description of a bad input (never the whole of a long string). */
  private static String describe(String s) {
    StringBuilder b = new StringBuilder();
    int n = Math.min(s.length(), 80);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7f) {
        b.append(c);
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    return "\"" + b + (s.length() > n ? "...\"" : "\"") + " (" + s.length() + " characters)";
  }
}

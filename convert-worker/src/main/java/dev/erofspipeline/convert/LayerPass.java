package dev.erofspipeline.convert;

import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The one pass over a layer blob that every conversion profile makes: sha256 of the blob,
 * decompression under the size limit, sha256 of the uncompressed stream (the diffID), the tar
 * handed to a profile's parser, then the digest and diffID checks, with one rule for which failure
 * is reported (see {@link #failure}). Both profiles therefore give the same reason codes for the
 * same bad input.
 */
final class LayerPass {
  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");

  /** A profile's reader of the uncompressed tar: read() calls only, up to the end of the archive. */
  interface TarParser<T> {
    T parse(InputStream tar) throws IOException, InvalidLayerException;
  }

  /**
   * What the pass found.
   *
   * @param parsed what the parser returned
   * @param diffId {@code sha256:<hex>} of the uncompressed tar
   */
  record Outcome<T>(T parsed, String diffId) {}

  private LayerPass() {}

  /**
   * Runs the pass; returns only when the blob and its tar passed every check.
   *
   * @param tarVerity the verity tree the tar's bytes are leaves of, or null when it is not hashed
   *     (the tree then covers something else, built by the caller)
   */
  static <T> Outcome<T> run(
      InputStream blob,
      String layerDigest,
      boolean verifyLayerDigest,
      String expectedDiffId,
      ConversionLimits limits,
      LayerConverter.Options options,
      VerityTreeBuilder tarVerity,
      TarParser<T> parser)
      throws IOException, InvalidLayerException {
    checkDigest("layer digest", layerDigest);
    if (expectedDiffId != null) {
      checkDigest("diffID", expectedDiffId);
    }
    DigestingSource source = new DigestingSource(blob, limits.maxLayerBytes());
    LayerDecoder decoder = new LayerDecoder(source, limits.maxUncompressedBytes(), options.chunkSize());
    try (Feed feed =
        options.parallel()
            ? new ThreadedFeed(decoder, tarVerity, options.chunks())
            : new SequentialFeed(decoder, tarVerity)) {
      T parsed;
      try {
        parsed = parser.parse(feed);
        feed.drain();
      } catch (InvalidLayerException | IOException | RuntimeException e) {
        throw failure(feed, source, verifyLayerDigest ? layerDigest : null, e);
      }
      String blobDigest = "sha256:" + source.hex();
      if (verifyLayerDigest && !blobDigest.equals(layerDigest)) {
        throw digestMismatch(layerDigest, blobDigest, null);
      }
      String diffId =
          feed.hashesDiffId() ? "sha256:" + HexFormat.of().formatHex(feed.diffId.digest()) : blobDigest;
      if (expectedDiffId != null && !expectedDiffId.equals(diffId)) {
        throw new InvalidLayerException(
            "diffid.mismatch",
            "the uncompressed layer has diffID " + diffId + ", the image config says " + expectedDiffId);
      }
      return new Outcome<>(parsed, diffId);
    }
  }

  /**
   * The exception to throw after a failure while parsing or feeding: a failure of the feed itself
   * (decompression, limit, source), even one found after the parser failed, wins over what the
   * parser made of it; then, if the blob can be read to its end and its digest is not {@code
   * layerDigest} (null: not checked), the mismatch is the reason. An interrupt ends at once.
   */
  private static InvalidLayerException failure(
      Feed feed, DigestingSource source, String layerDigest, Exception e) throws IOException {
    Throwable cause = feed.failure != null ? feed.failure : e;
    if (cause instanceof InterruptedException || cause instanceof InterruptedIOException) {
      Thread.currentThread().interrupt();
      InterruptedIOException ie = new InterruptedIOException("layer conversion interrupted");
      ie.initCause(cause);
      throw ie;
    }
    if (feed.failure == null && e instanceof InvalidLayerException ile && !ile.reason().startsWith("limit.")) {
      // the parser gave up; if the stream itself is corrupt (a zstd or gzip checksum further on),
      // that is the better reason. Not after a limit: decoding the rest is the work it bounds.
      Throwable f = feed.decodeRest();
      if (f != null) {
        cause = f;
      }
    }
    if (cause instanceof IOException && !(cause instanceof CompressionException) && source.failed) {
      throw (IOException) cause; // the blob could not be read: transient
    }
    if (cause instanceof CompressionException ce) {
      cause = ce.toInvalidLayer();
    }
    feed.abandon();
    if (layerDigest != null && source.drainedToEnd) {
      String blobDigest = "sha256:" + source.hex();
      if (!blobDigest.equals(layerDigest)) {
        return digestMismatch(layerDigest, blobDigest, cause);
      }
    }
    if (cause instanceof InvalidLayerException ile) {
      return ile;
    }
    if (cause instanceof IOException ioe) {
      throw ioe;
    }
    if (cause instanceof RuntimeException re) {
      throw re;
    }
    if (cause instanceof Error err) {
      throw err;
    }
    throw new IOException(cause);
  }

  private static InvalidLayerException digestMismatch(String expected, String actual, Throwable also) {
    String msg = "the blob has digest " + actual + ", expected " + expected;
    if (also != null) {
      msg += " (and it fails to convert: " + also.getMessage() + ")";
    }
    return new InvalidLayerException("digest.mismatch", msg, also);
  }

  private static void checkDigest(String what, String d) {
    if (d == null || !DIGEST.matcher(d).matches()) {
      throw new IllegalArgumentException(what + " must be sha256:<64 lowercase hex>, got " + d);
    }
  }
}

package dev.erofspipeline.convert;

import dev.erofspipeline.convert.erofs.TarIndex;
import dev.erofspipeline.convert.erofs.TarIndexWriter;
import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Converts one layer blob (tar, tar+gzip or tar+zstd, detected from its first bytes) in a single
 * pass: sha256 of the blob, decompression, sha256 of the whole uncompressed stream (the diffID), the
 * EROFS tar index ({@link TarIndexWriter}) and the dm-verity tree over {@code index || tar} (contract
 * parameters). Nothing is written to the outputs unless every check passed; on failure the caller
 * discards whatever it passed in.
 *
 * <p>With {@link Options#parallel()} decompression (and the blob digest) runs on a second thread
 * that hands full buffers to the calling thread through a bounded queue; the calling thread hashes
 * them (diffID and verity leaves) and feeds the tar parser.
 *
 * <p>Failure reasons: {@code digest.mismatch}, {@code diffid.mismatch}, {@code compression.corrupt},
 * {@code compression.truncated}, {@code compression.unsupported}, {@code limit.uncompressed-bytes},
 * {@code limit.layer-bytes},
 * and whatever the tar index writer reports. When the blob's digest does not match, that is the
 * reason reported even if decompression or parsing failed first (the blob is simply not the layer).
 * A failing source stream is an {@link IOException} (transient, worth retrying).
 */
public final class LayerConverter {

  /** The erofs-utils version whose mkfs.erofs output the index reproduces (contract section 2). */
  public static final String EROFS_UTILS_VERSION = "1.9.3";

  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final byte[] CONTRACT_SALT = new byte[32];

  /**
   * @param parallel decompress on a second thread (worth it when one layer is in flight per core
   *     pair; turn off when converting many layers at once)
   * @param chunkSize bytes per buffer handed from decompression to hashing and parsing
   * @param chunks buffers in flight between the two threads
   * @param verityMemoryBound heap for verity digests per tree level before spilling to a file
   * @param tempDir where verity spill files go (null: the default temporary directory)
   */
  public record Options(
      boolean parallel, int chunkSize, int chunks, long verityMemoryBound, Path tempDir) {
    public static final Options DEFAULT =
        new Options(true, 256 << 10, 16, VerityTreeBuilder.DEFAULT_MEMORY_BOUND, null);

    public Options {
      if (chunkSize < 512 || chunks < 2) {
        throw new IllegalArgumentException("chunkSize >= 512 and chunks >= 2 required");
      }
    }

    public Options withParallel(boolean p) {
      return new Options(p, chunkSize, chunks, verityMemoryBound, tempDir);
    }
  }

  /** How a blob is compressed, from its magic bytes. */
  public enum Compression {
    NONE,
    GZIP,
    ZSTD
  }

  private final ConversionLimits limits;
  private final Options options;

  public LayerConverter(ConversionLimits limits) {
    this(limits, Options.DEFAULT);
  }

  public LayerConverter(ConversionLimits limits, Options options) {
    this.limits = Objects.requireNonNull(limits);
    this.options = Objects.requireNonNull(options);
  }

  /**
   * Converts one layer.
   *
   * @param blob the layer blob as stored in the registry; read to its end, not closed
   * @param layerDigest D ({@code sha256:<hex>}) as in the image manifest: names both UUIDs
   * @param verifyLayerDigest whether the blob's sha256 must equal D ({@code digest.mismatch}
   *     otherwise); false only when converting a re-encoding of the layer D names (tests, tools)
   * @param expectedDiffId the diffID from the image config, or null to skip that check
   * @param indexOut receives the tar index, only once everything passed
   * @param treeOut receives the hash device (verity superblock and tree), likewise
   */
  public ConversionResult convert(
      InputStream blob,
      String layerDigest,
      boolean verifyLayerDigest,
      String expectedDiffId,
      OutputStream indexOut,
      OutputStream treeOut)
      throws IOException, InvalidLayerException {
    checkDigest("layer digest", layerDigest);
    if (expectedDiffId != null) {
      checkDigest("diffID", expectedDiffId);
    }
    UUID erofsUuid = LayerUuids.erofs(layerDigest);
    UUID verityUuid = LayerUuids.verity(layerDigest);

    DigestingSource source = new DigestingSource(blob, limits.maxLayerBytes());
    LayerDecoder decoder = new LayerDecoder(source, limits.maxUncompressedBytes(), options.chunkSize());
    try (VerityTreeBuilder verity =
            new VerityTreeBuilder(
                "sha256",
                VerityTreeBuilder.CONTRACT_BLOCK_SIZE,
                VerityTreeBuilder.CONTRACT_BLOCK_SIZE,
                CONTRACT_SALT,
                options.verityMemoryBound(),
                options.tempDir());
        Feed feed =
            options.parallel()
                ? new ThreadedFeed(decoder, verity, options.chunks())
                : new SequentialFeed(decoder, verity)) {
      TarIndex index;
      try {
        index = TarIndexWriter.write(feed, erofsUuid, limits);
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
      byte[] image = index.image();
      if (image.length % VerityTreeBuilder.CONTRACT_BLOCK_SIZE != 0) {
        throw new IllegalStateException("tar index is not a multiple of 512 bytes: " + image.length);
      }

      HashingOutputStream hashedIndexOut = new HashingOutputStream(indexOut);
      hashedIndexOut.write(image);
      HashingOutputStream hashedTreeOut = new HashingOutputStream(treeOut);
      VerityTreeBuilder.Result vr = verity.finish(image, verityUuid, hashedTreeOut);
      hashedTreeOut.flush();
      return new ConversionResult(
          layerDigest,
          diffId,
          vr.rootHashHex(),
          erofsUuid.toString(),
          verityUuid.toString(),
          image.length,
          HexFormat.of().formatHex(hashedIndexOut.md.digest()),
          hashedTreeOut.count,
          HexFormat.of().formatHex(hashedTreeOut.md.digest()),
          vr.dataBlocks(),
          HexFormat.of().formatHex(CONTRACT_SALT),
          EROFS_UTILS_VERSION);
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

  /** Detects the compression of a blob from its first bytes. */
  public static Compression detect(byte[] head, int len) throws InvalidLayerException {
    return LayerDecoder.detect(head, len);
  }
}

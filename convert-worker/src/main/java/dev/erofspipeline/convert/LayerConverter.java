package dev.erofspipeline.convert;

import dev.erofspipeline.convert.erofs.TarIndex;
import dev.erofspipeline.convert.erofs.TarIndexWriter;
import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Objects;
import java.util.UUID;

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
 * <p>The pass over the blob (decompression, digests, checks, which failure is reported) is {@link
 * LayerPass}, shared with {@link NativeLayerConverter}. Failure reasons: {@code digest.mismatch},
 * {@code diffid.mismatch}, {@code compression.corrupt}, {@code compression.truncated}, {@code
 * compression.unsupported}, {@code limit.uncompressed-bytes}, {@code limit.layer-bytes}, and
 * whatever the tar index writer reports. When the blob's digest does not match, that is the
 * reason reported even if decompression or parsing failed first (the blob is simply not the layer).
 * A failing source stream is an {@link IOException} (transient, worth retrying).
 */
public final class LayerConverter {

  /** The erofs-utils version whose mkfs.erofs output the index reproduces (contract section 2). */
  public static final String EROFS_UTILS_VERSION = "1.9.3";

  /** The salt of the consumer contract (section 3): 32 zero bytes. */
  static final byte[] CONTRACT_SALT = new byte[32];

  /**
   * @param parallel decompress on a second thread (worth it when one layer is in flight per core
   *     pair; turn off when converting many layers at once)
   * @param chunkSize bytes per buffer handed from decompression to hashing and parsing
   * @param chunks buffers in flight between the two threads
   * @param verityMemoryBound heap for verity digests per tree level before spilling to a file
   * @param tempDir where verity spill files and the native profile's tar spool go (null: the
   *     default temporary directory)
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

    public Options withTempDir(Path dir) {
      return new Options(parallel, chunkSize, chunks, verityMemoryBound, dir);
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
    UUID erofsUuid = LayerUuids.erofs(layerDigest);
    UUID verityUuid = LayerUuids.verity(layerDigest);
    try (VerityTreeBuilder verity =
        new VerityTreeBuilder(
            "sha256",
            VerityTreeBuilder.CONTRACT_BLOCK_SIZE,
            VerityTreeBuilder.CONTRACT_BLOCK_SIZE,
            CONTRACT_SALT,
            options.verityMemoryBound(),
            options.tempDir())) {
      LayerPass.Outcome<TarIndex> pass =
          LayerPass.run(
              blob, layerDigest, verifyLayerDigest, expectedDiffId, limits, options, verity,
              tar -> TarIndexWriter.write(tar, erofsUuid, limits));
      byte[] image = pass.parsed().image();
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
          pass.diffId(),
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

  /** Detects the compression of a blob from its first bytes. */
  public static Compression detect(byte[] head, int len) throws InvalidLayerException {
    return LayerDecoder.detect(head, len);
  }
}

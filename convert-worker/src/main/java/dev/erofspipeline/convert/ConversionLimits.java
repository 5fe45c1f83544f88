package dev.erofspipeline.convert;

/**
 * Bounds that keep a hostile layer (decompression or tar bomb) from exhausting memory, disk or time.
 * A layer that exceeds one is refused with an {@link InvalidLayerException} whose reason names the
 * limit ({@code limit.entries}, {@code limit.depth}, {@code limit.uncompressed-bytes}, {@code
 * limit.extension-record}, {@code limit.layer-bytes}).
 *
 * @param maxEntries tar entries (headers of any kind) in one layer
 * @param maxDepth path components below the root
 * @param maxUncompressedBytes bytes of uncompressed tar
 * @param maxExtensionRecordBytes size of one PAX extended header or GNU long name/link record
 * @param maxLayerBytes bytes of the layer blob as stored (compressed)
 */
public record ConversionLimits(
    long maxEntries, int maxDepth, long maxUncompressedBytes, int maxExtensionRecordBytes, long maxLayerBytes) {

  private static final long DEFAULT_MAX_LAYER_BYTES = 32L << 30;

  /** Generous for real images (a Debian rootfs has under 10,000 entries and depth under 20). */
  public static final ConversionLimits DEFAULT =
      new ConversionLimits(5_000_000L, 1024, 64L << 30, 1 << 20, DEFAULT_MAX_LAYER_BYTES);

  public ConversionLimits {
    if (maxEntries < 1 || maxDepth < 1 || maxUncompressedBytes < 1 || maxExtensionRecordBytes < 1 || maxLayerBytes < 1) {
      throw new IllegalArgumentException("every conversion limit must be at least 1");
    }
  }

  /** Limits without a bound of their own on the blob size (it stays {@link #DEFAULT}'s). */
  public ConversionLimits(long maxEntries, int maxDepth, long maxUncompressedBytes, int maxExtensionRecordBytes) {
    this(maxEntries, maxDepth, maxUncompressedBytes, maxExtensionRecordBytes, DEFAULT_MAX_LAYER_BYTES);
  }
}

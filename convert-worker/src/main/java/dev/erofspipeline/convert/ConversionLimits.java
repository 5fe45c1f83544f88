package dev.erofspipeline.convert;

/**
 * Bounds that keep a hostile layer (decompression or tar bomb) from exhausting memory, disk or time.
 * A layer that exceeds one is refused with an {@link InvalidLayerException}.
 *
 * @param maxEntries tar entries (headers of any kind) in one layer
 * @param maxDepth path components below the root
 * @param maxUncompressedBytes bytes of uncompressed tar
 * @param maxExtensionRecordBytes size of one PAX extended header or GNU long name/link record
 */
public record ConversionLimits(
    long maxEntries, int maxDepth, long maxUncompressedBytes, int maxExtensionRecordBytes) {

  /** Generous for real images (a Debian rootfs has under 10,000 entries and depth under 20). */
  public static final ConversionLimits DEFAULT =
      new ConversionLimits(5_000_000L, 1024, 64L << 30, 1 << 20);
}

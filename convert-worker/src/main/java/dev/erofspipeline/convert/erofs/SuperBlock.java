package dev.erofspipeline.convert.erofs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;
import java.util.zip.CRC32C;

/** The 128-byte superblock at byte 1024, the optional device slot after it, and the checksum. */
final class SuperBlock {
  static final int OFFSET = 1024;
  private static final int MAGIC = 0xE0F5E1E2;
  private static final int COMPAT_SB_CHKSUM = 0x1;
  private static final int COMPAT_MTIME = 0x2;
  private static final int COMPAT_XATTR_FILTER = 0x4;
  private static final int INCOMPAT_DEVICE_TABLE = 0x8;
  /** The device slot sits at byte 1152 = slot 9 of 128 bytes. */
  private static final int DEVICE_SLOT_OFFSET = OFFSET + 128;

  /**
   * What the superblock records about the image.
   *
   * @param blockSize bytes per block, a power of two (512 for the tar index, 4096 native)
   * @param blocks blocks of the image itself (an extra device is not counted)
   */
  record Fields(
      int blockSize, long rootNid, long inodeCount, long blocks, UUID uuid, byte[] volumeLabel,
      boolean xattrFilter) {}

  private SuperBlock() {}

  static void write(ByteBuffer image, Fields f) {
    int sb = OFFSET;
    image.putInt(sb, MAGIC);
    image.putInt(sb + 0x08, COMPAT_SB_CHKSUM | COMPAT_MTIME | (f.xattrFilter() ? COMPAT_XATTR_FILTER : 0));
    image.put(sb + 0x0C, (byte) Integer.numberOfTrailingZeros(f.blockSize()));
    image.putShort(sb + 0x0E, (short) f.rootNid());
    image.putLong(sb + 0x10, f.inodeCount());
    image.putLong(sb + 0x18, PlacedInode.EPOCH);
    image.putInt(sb + 0x24, (int) f.blocks());
    // UUID bytes in RFC 4122 (big-endian) order, as libuuid stores them.
    image.order(ByteOrder.BIG_ENDIAN);
    image.putLong(sb + 0x30, f.uuid().getMostSignificantBits());
    image.putLong(sb + 0x38, f.uuid().getLeastSignificantBits());
    image.order(ByteOrder.LITTLE_ENDIAN);
    if (f.volumeLabel() != null) {
      image.put(sb + 0x40, f.volumeLabel(), 0, Math.min(16, f.volumeLabel().length));
    }
  }

  /**
   * Declares the tar as extra device 1 (tar index only): {@code tarBlocks} blocks, addressed right
   * after the index's {@code primaryBlocks}.
   */
  static void writeTarDevice(ByteBuffer image, long tarBlocks, long primaryBlocks) {
    int sb = OFFSET;
    image.putInt(sb + 0x50, image.getInt(sb + 0x50) | INCOMPAT_DEVICE_TABLE);
    image.putShort(sb + 0x56, (short) 1); // extra_devices: the tar
    image.putShort(sb + 0x58, (short) (DEVICE_SLOT_OFFSET / 128));
    image.putInt(DEVICE_SLOT_OFFSET + 64, (int) tarBlocks);
    image.putInt(DEVICE_SLOT_OFFSET + 68, (int) primaryBlocks); // uniaddr: tar follows the index
  }

  /**
   * CRC-32C without the final inversion, stored last, over the superblock's block from byte 1024:
   * {@code blockSize - 1024} bytes, or 512 when the block is not larger than 1024 (as the kernel
   * and erofs-utils compute it).
   */
  static void writeChecksum(ByteBuffer image, int blockSize) {
    image.putInt(OFFSET + 4, 0);
    CRC32C crc = new CRC32C();
    crc.update(image.array(), OFFSET, blockSize > OFFSET ? blockSize - OFFSET : blockSize);
    image.putInt(OFFSET + 4, (int) ~crc.getValue());
  }
}

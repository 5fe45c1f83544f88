package dev.erofspipeline.convert.erofs;

import java.nio.ByteBuffer;
import java.util.UUID;
import java.util.zip.CRC32C;

/** The 128-byte superblock at byte 1024, the device slot after it, and the checksum. */
final class SuperBlock {
  static final int OFFSET = 1024;
  private static final int MAGIC = 0xE0F5E1E2;
  private static final int BLOCK_SIZE_BITS = 9;
  private static final int COMPAT_SB_CHKSUM = 0x1;
  private static final int COMPAT_MTIME = 0x2;
  private static final int COMPAT_XATTR_FILTER = 0x4;
  private static final int INCOMPAT_DEVICE_TABLE = 0x8;
  /** The device slot sits at byte 1152 = slot 9 of 128 bytes. */
  private static final int DEVICE_SLOT_OFFSET = OFFSET + 128;

  /** What the superblock records about the image. */
  record Fields(
      long rootNid, long inodeCount, long primaryBlocks, UUID uuid, byte[] volumeLabel,
      boolean xattrFilter, long tarBlocks) {}

  private SuperBlock() {}

  static void write(ByteBuffer image, Fields f) {
    int sb = OFFSET;
    image.putInt(sb, MAGIC);
    image.putInt(sb + 0x08, COMPAT_SB_CHKSUM | COMPAT_MTIME | (f.xattrFilter() ? COMPAT_XATTR_FILTER : 0));
    image.put(sb + 0x0C, (byte) BLOCK_SIZE_BITS);
    image.putShort(sb + 0x0E, (short) f.rootNid());
    image.putLong(sb + 0x10, f.inodeCount());
    image.putLong(sb + 0x18, TarIndexLayout.EPOCH);
    image.putInt(sb + 0x24, (int) f.primaryBlocks());
    // UUID bytes in RFC 4122 (big-endian) order, as libuuid stores them.
    image.order(java.nio.ByteOrder.BIG_ENDIAN);
    image.putLong(sb + 0x30, f.uuid().getMostSignificantBits());
    image.putLong(sb + 0x38, f.uuid().getLeastSignificantBits());
    image.order(java.nio.ByteOrder.LITTLE_ENDIAN);
    if (f.volumeLabel() != null) {
      image.put(sb + 0x40, f.volumeLabel(), 0, Math.min(16, f.volumeLabel().length));
    }
    image.putInt(sb + 0x50, INCOMPAT_DEVICE_TABLE);
    image.putShort(sb + 0x56, (short) 1); // extra_devices: the tar
    image.putShort(sb + 0x58, (short) (DEVICE_SLOT_OFFSET / 128));

    image.putInt(DEVICE_SLOT_OFFSET + 64, (int) f.tarBlocks());
    image.putInt(DEVICE_SLOT_OFFSET + 68, (int) f.primaryBlocks()); // uniaddr: tar follows the index
  }

  /** CRC-32C without the final inversion over [1024, 1536), stored last. */
  static void writeChecksum(ByteBuffer image) {
    image.putInt(OFFSET + 4, 0);
    CRC32C crc = new CRC32C();
    crc.update(image.array(), OFFSET, BufferManager.BLOCK);
    image.putInt(OFFSET + 4, (int) ~crc.getValue());
  }
}

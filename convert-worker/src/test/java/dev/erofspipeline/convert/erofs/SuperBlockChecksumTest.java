package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The superblock checksum: CRC-32C (Castagnoli), initial ~0, no final inversion, over [1024, 1536). */
class SuperBlockChecksumTest {
  /** Bit-at-a-time reference: reflected polynomial 0x82F63B78, init 0xFFFFFFFF, no final XOR. */
  private static int referenceCrc(byte[] data, int off, int len) {
    int crc = 0xFFFFFFFF;
    for (int i = off; i < off + len; i++) {
      crc ^= data[i] & 0xFF;
      for (int k = 0; k < 8; k++) {
        crc = (crc >>> 1) ^ (0x82F63B78 & -(crc & 1));
      }
    }
    return crc;
  }

  @Test
  void referenceMatchesTheStandardCheckValue() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertEquals(0xE3069283, ~referenceCrc(check, 0, check.length)); // CRC-32C check value
  }

  @Test
  void checksumCoversSuperblockBlockWithFieldZeroed() {
    assertChecksumCovers(2048, 512, 512);
  }

  @Test
  void withFourKilobyteBlocksTheChecksumCoversTheRestOfBlockZero() {
    assertChecksumCovers(4096, 4096, 3072);
  }

  private static void assertChecksumCovers(int imageSize, int blockSize, int covered) {
    byte[] image = new byte[imageSize];
    for (int i = 0; i < image.length; i++) {
      image[i] = (byte) (i * 31 + 7);
    }
    ByteBuffer buf = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    SuperBlock.writeChecksum(buf, blockSize);
    int stored = buf.getInt(1028);
    buf.putInt(1028, 0);
    assertEquals(referenceCrc(image, 1024, covered), stored);
  }

  @Test
  void specWorkedExample() {
    // shared/spec: stored 0x3a79d3e6 where standard CRC-32C gives 0xc5862c19
    assertEquals(0x3a79d3e6, ~0xc5862c19);
  }
}

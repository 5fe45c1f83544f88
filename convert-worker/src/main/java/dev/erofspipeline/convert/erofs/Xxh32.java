package dev.erofspipeline.convert.erofs;

/** xxHash32 (the standard algorithm; EROFS uses it for the xattr name Bloom filter). */
final class Xxh32 {
  private static final int PRIME1 = 0x9E3779B1;
  private static final int PRIME2 = 0x85EBCA77;
  private static final int PRIME3 = 0xC2B2AE3D;
  private static final int PRIME4 = 0x27D4EB2F;
  private static final int PRIME5 = 0x165667B1;

  private Xxh32() {}

  static int hash(byte[] data, int seed) {
    int len = data.length;
    int p = 0;
    int h;
    if (len >= 16) {
      int v1 = seed + PRIME1 + PRIME2;
      int v2 = seed + PRIME2;
      int v3 = seed;
      int v4 = seed - PRIME1;
      for (; p <= len - 16; p += 16) {
        v1 = round(v1, intLe(data, p));
        v2 = round(v2, intLe(data, p + 4));
        v3 = round(v3, intLe(data, p + 8));
        v4 = round(v4, intLe(data, p + 12));
      }
      h = Integer.rotateLeft(v1, 1) + Integer.rotateLeft(v2, 7) + Integer.rotateLeft(v3, 12)
          + Integer.rotateLeft(v4, 18);
    } else {
      h = seed + PRIME5;
    }
    h += len;
    for (; p <= len - 4; p += 4) {
      h = Integer.rotateLeft(h + intLe(data, p) * PRIME3, 17) * PRIME4;
    }
    for (; p < len; p++) {
      h = Integer.rotateLeft(h + (data[p] & 0xFF) * PRIME5, 11) * PRIME1;
    }
    h ^= h >>> 15;
    h *= PRIME2;
    h ^= h >>> 13;
    h *= PRIME3;
    h ^= h >>> 16;
    return h;
  }

  private static int round(int acc, int lane) {
    return Integer.rotateLeft(acc + lane * PRIME2, 13) * PRIME1;
  }

  private static int intLe(byte[] b, int p) {
    return (b[p] & 0xFF) | (b[p + 1] & 0xFF) << 8 | (b[p + 2] & 0xFF) << 16 | (b[p + 3] & 0xFF) << 24;
  }
}

package dev.erofspipeline.convert.erofs;

import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.tar.Xattr;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;

/**
 * The inline xattr body of an inode: a 12-byte header (name Bloom filter, no shared xattrs) and
 * the entries, sorted by name then value as mkfs 1.9.3 does.
 */
final class XattrBody {
  /** Seed of the name filter hash; the name index is added to it. */
  private static final int FILTER_SEED = 0x25BBE08F;
  private static final int HEADER_SIZE = 12;

  /** A short name prefix stored as a one-byte index; the first match wins. */
  private record Prefix(byte[] bytes, int index) {
    Prefix(String text, int index) {
      this(text.getBytes(StandardCharsets.US_ASCII), index);
    }

    boolean matches(byte[] name) {
      return name.length >= bytes.length && Arrays.equals(name, 0, bytes.length, bytes, 0, bytes.length);
    }
  }

  private static final List<Prefix> PREFIXES = List.of(
      new Prefix("user.", 1),
      new Prefix("system.posix_acl_access", 2),
      new Prefix("system.posix_acl_default", 3),
      new Prefix("trusted.", 4),
      new Prefix("security.", 6));
  /** Names matching no prefix keep their full name under index 0. */
  private static final Prefix NO_PREFIX = new Prefix(new byte[0], 0);

  private static final Comparator<Xattr> ORDER = (a, b) -> {
    int c = Arrays.compareUnsigned(a.name(), b.name());
    return c != 0 ? c : Arrays.compareUnsigned(a.value(), b.value());
  };

  private XattrBody() {}

  /**
   * Encodes the body, or returns an empty array when there are no xattrs.
   *
   * @param owner names the inode in error messages (computed only then)
   */
  static byte[] encode(List<Xattr> xattrs, Supplier<String> owner) throws InvalidLayerException {
    if (xattrs.isEmpty()) {
      return new byte[0];
    }
    List<Xattr> sorted = new ArrayList<>(xattrs);
    sorted.sort(ORDER);
    int size = HEADER_SIZE;
    for (Xattr x : sorted) {
      int suffixLength = x.name().length - prefixOf(x.name()).bytes().length;
      if (suffixLength > 0xFF || x.value().length > 0xFFFF) {
        throw new InvalidLayerException(
            "tar.xattr",
            owner.get() + ": xattr " + new String(x.name(), StandardCharsets.UTF_8)
                + " has a name over 255 or a value over 65535 bytes");
      }
      size += align4(4 + suffixLength + x.value().length);
    }
    if (icount(size) > 0xFFFF) {
      throw new InvalidLayerException(
          "tar.xattr", owner.get() + ": " + size + " bytes of xattrs do not fit an EROFS inode");
    }
    ByteBuffer buf = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    buf.position(HEADER_SIZE);
    int filterBits = 0;
    for (Xattr x : sorted) {
      Prefix prefix = prefixOf(x.name());
      byte[] suffix = Arrays.copyOfRange(x.name(), prefix.bytes().length, x.name().length);
      filterBits |= 1 << (Xxh32.hash(suffix, FILTER_SEED + prefix.index()) & 31);
      int start = buf.position();
      buf.put((byte) suffix.length).put((byte) prefix.index()).putShort((short) x.value().length);
      buf.put(suffix).put(x.value());
      buf.position(start + align4(4 + suffix.length + x.value().length));
    }
    buf.putInt(0, ~filterBits);
    return buf.array();
  }

  /** {@code i_xattr_icount} for a body of this size. */
  static int icount(int bodySize) {
    return bodySize == 0 ? 0 : (bodySize - HEADER_SIZE) / 4 + 1;
  }

  /** The name filter word stored in the body's first four bytes. */
  static int nameFilter(byte[] body) {
    return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
  }

  private static Prefix prefixOf(byte[] name) {
    for (Prefix p : PREFIXES) {
      if (p.matches(name)) {
        return p;
      }
    }
    return NO_PREFIX;
  }

  private static int align4(int n) {
    return (n + 3) & ~3;
  }
}

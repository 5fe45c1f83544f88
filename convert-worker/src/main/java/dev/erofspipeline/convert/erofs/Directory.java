package dev.erofspipeline.convert.erofs;

import dev.erofspipeline.convert.tar.Dentry;
import dev.erofspipeline.convert.tar.Inode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * EROFS directory data: 12-byte dirents followed by their names, packed into blocks of the image's
 * block size (no dirent or name crosses a block).
 */
final class Directory {
  static final int DIRENT_SIZE = 12;
  static final int FT_DIR = 2;
  private static final byte[] DOT = {'.'};
  private static final byte[] DOTDOT = {'.', '.'};

  /** One dirent: name, the inode it names and its EROFS file type. */
  record Entry(byte[] name, Inode inode, int fileType) {}

  private Directory() {}

  /**
   * The sorted entries of {@code dir}, "." and ".." included ({@code parent} is the directory
   * the traversal reached it from). Children literally named "." or ".." (made by whiteouts such
   * as ".wh..") are dropped, as mkfs does.
   */
  static List<Entry> entries(Inode dir, Inode parent) {
    List<Entry> entries = new ArrayList<>(dir.children().size() + 2);
    for (Dentry d : dir.children()) {
      if (!isDotOrDotDot(d.name())) {
        entries.add(new Entry(d.name(), d.inode(), fileType(d.inode().mode())));
      }
    }
    entries.add(new Entry(DOT, dir, FT_DIR));
    entries.add(new Entry(DOTDOT, parent, FT_DIR));
    entries.sort((a, b) -> Arrays.compareUnsigned(a.name(), b.name()));
    return entries;
  }

  static boolean isDotOrDotDot(byte[] name) {
    return Arrays.equals(name, DOT) || Arrays.equals(name, DOTDOT);
  }

  /** Byte size: full blocks plus the used part of the last one. */
  static long size(List<Entry> entries, int blockSize) {
    long full = 0;
    int used = 0;
    for (Entry e : entries) {
      int need = DIRENT_SIZE + e.name().length;
      if (used + need > blockSize) {
        full++;
        used = 0;
      }
      used += need;
    }
    return full * blockSize + used;
  }

  /** The directory's bytes ({@link #size} of them), dirents pointing at {@code nid(inode)}. */
  static byte[] encode(List<Entry> entries, ToLongFunction<Inode> nid, int blockSize) {
    byte[] out = new byte[(int) size(entries, blockSize)];
    ByteBuffer buf = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    int blockStart = 0;
    int first = 0;
    while (first < entries.size()) {
      int used = 0;
      int last = first;
      while (last < entries.size()
          && used + DIRENT_SIZE + entries.get(last).name().length <= blockSize) {
        used += DIRENT_SIZE + entries.get(last).name().length;
        last++;
      }
      int nameOff = DIRENT_SIZE * (last - first);
      for (int i = first; i < last; i++) {
        Entry e = entries.get(i);
        int at = blockStart + DIRENT_SIZE * (i - first);
        buf.putLong(at, nid.applyAsLong(e.inode()));
        buf.putShort(at + 8, (short) nameOff);
        buf.put(at + 10, (byte) e.fileType());
        System.arraycopy(e.name(), 0, out, blockStart + nameOff, e.name().length);
        nameOff += e.name().length;
      }
      blockStart += blockSize;
      first = last;
    }
    return out;
  }

  /** EROFS dirent file type of a mode. */
  static int fileType(int mode) {
    return switch (mode & Inode.S_IFMT) {
      case Inode.S_IFREG -> 1;
      case Inode.S_IFDIR -> FT_DIR;
      case Inode.S_IFCHR -> 3;
      case Inode.S_IFBLK -> 4;
      case Inode.S_IFIFO -> 5;
      case Inode.S_IFSOCK -> 6;
      case Inode.S_IFLNK -> 7;
      default -> 0;
    };
  }
}

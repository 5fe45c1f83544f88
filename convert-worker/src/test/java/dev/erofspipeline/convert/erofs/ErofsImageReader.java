package dev.erofspipeline.convert.erofs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An independent, minimal reader of 512-byte-block EROFS tar indexes, written from the on-disk
 * format description only, so tests can check what an image says without trusting the writer.
 */
final class ErofsImageReader {
  static final int S_IFMT = 0170000;
  static final int S_IFDIR = 0040000;

  /** One inode as found on disk. */
  record InodeView(long nid, int layout, int mode, long size, long nlink, int iu, long uid, long gid,
      long mtime, List<String> xattrNames, byte[] data, long chunkStartBlock) {
    boolean isDir() {
      return (mode & S_IFMT) == S_IFDIR;
    }
  }

  /** A dirent: name and nid. */
  record Dirent(String name, long nid, int fileType) {}

  final ByteBuffer img;
  final long rootNid;

  ErofsImageReader(byte[] image) {
    img = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    if (img.getInt(1024) != 0xE0F5E1E2) {
      throw new IllegalArgumentException("no EROFS magic");
    }
    rootNid = img.getShort(1024 + 0x0E) & 0xFFFF;
  }

  InodeView inode(long nid) {
    int at = (int) (nid * 32);
    int format = img.getShort(at) & 0xFFFF;
    boolean extended = (format & 1) != 0;
    int layout = (format >> 1) & 7;
    int icount = img.getShort(at + 2) & 0xFFFF;
    int mode = img.getShort(at + 4) & 0xFFFF;
    long size;
    long nlink;
    long uid;
    long gid;
    long mtime;
    int iu = img.getInt(at + 16);
    int isize;
    if (extended) {
      size = img.getLong(at + 8);
      uid = img.getInt(at + 24) & 0xFFFFFFFFL;
      gid = img.getInt(at + 28) & 0xFFFFFFFFL;
      mtime = img.getLong(at + 32);
      nlink = img.getInt(at + 44) & 0xFFFFFFFFL;
      isize = 64;
    } else {
      nlink = img.getShort(at + 6) & 0xFFFF;
      size = img.getInt(at + 8) & 0xFFFFFFFFL;
      uid = img.getShort(at + 24) & 0xFFFF;
      gid = img.getShort(at + 26) & 0xFFFF;
      mtime = 0;
      isize = 32;
    }
    int xsize = icount == 0 ? 0 : 12 + (icount - 1) * 4;
    List<String> xattrNames = new ArrayList<>();
    for (int p = at + isize + 12; p < at + isize + xsize; ) {
      int nameLen = img.get(p) & 0xFF;
      int index = img.get(p + 1) & 0xFF;
      int valueSize = img.getShort(p + 2) & 0xFFFF;
      byte[] name = new byte[nameLen];
      img.get(p + 4, name);
      String prefix = switch (index) {
        case 1 -> "user.";
        case 2 -> "system.posix_acl_access";
        case 3 -> "system.posix_acl_default";
        case 4 -> "trusted.";
        case 6 -> "security.";
        default -> "";
      };
      xattrNames.add(prefix + new String(name, StandardCharsets.UTF_8));
      p += (4 + nameLen + valueSize + 3) & ~3;
    }
    int tail = at + isize + xsize;
    byte[] data = null;
    long chunkStart = -1;
    if (layout == 4) {
      int idx = (tail + 7) & ~7;
      if ((img.getShort(idx + 2) & 0xFFFF) != 1) {
        throw new IllegalStateException("chunk index of nid " + nid + " not on device 1");
      }
      chunkStart = img.getInt(idx + 4) & 0xFFFFFFFFL;
    } else if ((mode & S_IFMT) == S_IFDIR || (mode & S_IFMT) == 0120000) {
      data = new byte[(int) size];
      int full = layout == 2 ? (int) (size / 512 * 512) : (int) size;
      if (full > 0) {
        img.get((int) ((iu & 0xFFFFFFFFL) * 512), data, 0, full);
      }
      if (layout == 2 && full < size) {
        if (tail / 512 != (tail + (int) size - full - 1) / 512) {
          throw new IllegalStateException("inline tail of nid " + nid + " crosses a block");
        }
        img.get(tail, data, full, (int) size - full);
      }
    }
    return new InodeView(nid, layout, mode, size, nlink, iu, uid, gid, mtime, xattrNames, data, chunkStart);
  }

  static List<Dirent> dirents(InodeView dir) {
    List<Dirent> out = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(dir.data()).order(ByteOrder.LITTLE_ENDIAN);
    for (int block = 0; block < dir.data().length; block += 512) {
      int end = Math.min(dir.data().length, block + 512);
      int k = (b.getShort(block + 8) & 0xFFFF) / 12;
      for (int i = 0; i < k; i++) {
        int at = block + 12 * i;
        int nameStart = block + (b.getShort(at + 8) & 0xFFFF);
        int nameEnd = i + 1 < k ? block + (b.getShort(at + 12 + 8) & 0xFFFF) : end;
        byte[] name = Arrays.copyOfRange(dir.data(), nameStart, nameEnd);
        int nul = 0;
        while (nul < name.length && name[nul] != 0) {
          nul++;
        }
        out.add(new Dirent(new String(name, 0, nul, StandardCharsets.UTF_8), b.getLong(at), b.get(at + 10)));
      }
    }
    return out;
  }

  /** Every path below the root ("" is the root) with its inode, walking breadth first. */
  Map<String, InodeView> walk() {
    Map<String, InodeView> out = new LinkedHashMap<>();
    Deque<String> paths = new ArrayDeque<>();
    Deque<InodeView> dirs = new ArrayDeque<>();
    InodeView root = inode(rootNid);
    out.put("", root);
    paths.add("");
    dirs.add(root);
    while (!dirs.isEmpty()) {
      String path = paths.poll();
      InodeView dir = dirs.poll();
      for (Dirent d : dirents(dir)) {
        if (d.name().equals(".") || d.name().equals("..")) {
          continue;
        }
        String child = path.isEmpty() ? d.name() : path + "/" + d.name();
        InodeView inode = inode(d.nid());
        out.put(child, inode);
        if (inode.isDir()) {
          paths.add(child);
          dirs.add(inode);
        }
      }
    }
    return out;
  }
}

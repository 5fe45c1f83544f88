package dev.erofspipeline.convert.erofs;

import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.tar.Inode;
import dev.erofspipeline.convert.tar.Xattr;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The image-side state of one inode: its on-disk form and where the allocator put it. What an
 * inode shows once mounted (link count, inode format, xattrs) is decided by {@link #describe} for
 * both image profiles, so that they mount to the same tree.
 */
final class PlacedInode {
  static final int FLAT_PLAIN = 0;
  static final int FLAT_INLINE = 2;
  static final int CHUNK_BASED = 4;
  static final long NULL_ADDR = 0xFFFFFFFFL;
  /** Build time (-T0): mtimes equal to it allow compact inodes. */
  static final long EPOCH = 0;
  private static final byte[] ORIGIN_XATTR = "trusted.overlay.origin".getBytes(StandardCharsets.US_ASCII);

  final Inode inode;
  /** The directory the traversal reached this inode from (itself for the root). */
  final PlacedInode parent;
  /** A name of this inode in {@link #parent}, for messages. */
  final byte[] name;
  /** Sorted dirents including "." and ".." (directories only). */
  List<Directory.Entry> entries;
  boolean extended;
  long size;
  long nlink;
  byte[] xattrBody;
  int layout;
  /** Bytes of the last partial block of a directory or symlink (its "tail"). */
  int idata;
  long blkaddr = NULL_ADDR;
  int chunkBits;
  long chunkCount;
  /** i_ino: the order in which inodes were prepared, from 1. */
  long serial;
  /** Where the tar index's allocator put the inode (null in a native image: see {@link #pos}). */
  BufferManager.Head bh;
  /** Byte position of the inode in a native image. */
  long pos = -1;
  BufferManager.Head inlineBh;
  BufferManager.Head dataBh;
  /** The tail block still has to be added to the data blocks when the tail is written. */
  boolean lazyTail;
  /** Byte position of the zero-padded tail block when the tail was not inlined, else -1. */
  long tailBlockPos = -1;

  PlacedInode(Inode inode, PlacedInode parent, byte[] name) {
    this.inode = inode;
    this.parent = parent == null ? this : parent;
    this.name = name;
  }

  /**
   * An inode as mkfs.erofs describes it before placing it: sorted dirents, link count, byte size,
   * compact or extended, and the xattr body (with {@code trusted.overlay.origin} on a directory that
   * held aufs whiteouts).
   *
   * @param blockSize the image's block size, which directory sizes depend on
   */
  static PlacedInode describe(Inode inode, PlacedInode parent, byte[] name, int blockSize)
      throws InvalidLayerException {
    PlacedInode p = new PlacedInode(inode, parent, name);
    long testedSize;
    long testedNlink;
    if (inode.isDirectory()) {
      p.entries = Directory.entries(inode, p.parent.inode);
      // "." and ".." are dirents of type directory too: 2 + subdirectories
      p.nlink = p.entries.stream().filter(e -> e.fileType() == Directory.FT_DIR).count();
      p.size = Directory.size(p.entries, blockSize);
      // mkfs decides the inode format from the tar's values, before the real size and nlink.
      testedSize = inode.size();
      testedNlink = 2;
    } else {
      p.size = inode.size();
      p.nlink = inode.linkCount();
      testedSize = p.size;
      testedNlink = p.nlink;
    }
    p.extended = testedSize > 0xFFFFFFFFL || inode.uid() > 0xFFFF || inode.gid() > 0xFFFF
        || testedNlink > 0xFFFF || inode.mtime() != EPOCH;
    if (inode.isDirectory() && !p.extended && p.nlink > 0xFFFF) {
      p.nlink = 1;
    }

    List<Xattr> xattrs = inode.xattrs();
    if (inode.hasWhiteouts()) {
      xattrs = new ArrayList<>(xattrs);
      xattrs.add(new Xattr(ORIGIN_XATTR, new byte[0]));
    }
    p.xattrBody = XattrBody.encode(xattrs, p::path);
    return p;
  }

  int inodeSize() {
    return extended ? 64 : 32;
  }

  long nid() {
    return (bh != null ? BufferManager.pos(bh) : pos) / 32;
  }

  /** Whether the xattr body sets bits of the name filter (the superblock then announces it). */
  boolean usesXattrFilter() {
    return xattrBody.length > 0 && XattrBody.nameFilter(xattrBody) != 0;
  }

  /** Path from the root, for messages. */
  String path() {
    StringBuilder sb = new StringBuilder();
    for (PlacedInode p = this; p.parent != p; p = p.parent) {
      sb.insert(0, "/" + new String(p.name, StandardCharsets.UTF_8));
    }
    return sb.length() == 0 ? "/" : sb.toString();
  }
}

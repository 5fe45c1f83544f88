package dev.erofspipeline.convert.erofs;

import dev.erofspipeline.convert.tar.Inode;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The image-side state of one inode: its on-disk form and where the allocator put it. */
final class PlacedInode {
  static final int FLAT_PLAIN = 0;
  static final int FLAT_INLINE = 2;
  static final int CHUNK_BASED = 4;
  static final long NULL_ADDR = 0xFFFFFFFFL;

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
  BufferManager.Head bh;
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

  int inodeSize() {
    return extended ? 64 : 32;
  }

  long nid() {
    return BufferManager.pos(bh) / 32;
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

package dev.erofspipeline.convert.erofs;

import static dev.erofspipeline.convert.erofs.PlacedInode.FLAT_INLINE;
import static dev.erofspipeline.convert.erofs.PlacedInode.FLAT_PLAIN;

import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.tar.Inode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where everything of a native (full) image goes, with 4096-byte blocks: block 0 holds the
 * superblock, then the inodes follow in the tar index's traversal order ({@link InodeLayout#walk}),
 * each with its xattrs and, when it fits in the same block, the tail of its data (FLAT_INLINE);
 * after them come the whole data blocks, first of regular files in tar order (so that the spool is
 * read front to back), then of directories and symlinks. The root comes first, at byte 1152 (nid
 * 36: the superblock's 16-bit root nid always fits). An inode record never crosses a block
 * boundary unless it is larger than a block (only with very large xattrs; it then starts a block).
 */
final class NativeImageLayout extends InodeLayout {
  static final int BLOCK = 4096;
  private static final int INODE_SLOT = 32;

  /** Inodes with whole data blocks, in block order. */
  private final List<PlacedInode> withBlocks = new ArrayList<>();
  private long cursor = SuperBlock.OFFSET + 128;
  private long metaBlocks;
  private long blocks;

  private NativeImageLayout() {}

  static NativeImageLayout plan(Inode rootInode) throws InvalidLayerException {
    NativeImageLayout layout = new NativeImageLayout();
    layout.walk(rootInode);
    layout.metaBlocks = ceilBlocks(layout.cursor);
    layout.placeBlocks();
    return layout;
  }

  /** Inodes with whole data blocks, in the order of their blocks. */
  List<PlacedInode> withBlocks() {
    return withBlocks;
  }

  /** Blocks of inodes (and tails) from block 0: where the data blocks start. */
  long metaBlocks() {
    return metaBlocks;
  }

  /** Blocks of the whole image. */
  long blocks() {
    return blocks;
  }

  /** Bytes of {@code p}'s data that go into whole blocks (the rest is inline). */
  static long blockBytes(PlacedInode p) {
    return hasData(p) ? p.size - p.idata : 0;
  }

  private static boolean hasData(PlacedInode p) {
    return p.inode.isDirectory() || p.inode.isSymlink() || p.inode.isRegular();
  }

  @Override
  PlacedInode visit(Inode inode, PlacedInode parent, byte[] name) throws InvalidLayerException {
    PlacedInode p = describe(inode, parent, name, BLOCK);
    long record = p.inodeSize() + p.xattrBody.length;
    int tail = hasData(p) ? (int) (p.size % BLOCK) : 0;
    if (tail > 0 && record + tail <= BLOCK) {
      p.layout = FLAT_INLINE;
      p.idata = tail;
    } else {
      p.layout = FLAT_PLAIN;
    }
    long length = record + p.idata;
    long at = BufferManager.alignUp(cursor, INODE_SLOT);
    long used = at % BLOCK;
    if (used != 0 && (length > BLOCK || used + length > BLOCK)) {
      at = BufferManager.alignUp(at, BLOCK);
    }
    p.pos = at;
    cursor = at + length;
    number(p);
    return p;
  }

  /** Gives whole data blocks to regular files in tar order, then to directories and symlinks. */
  private void placeBlocks() throws InvalidLayerException {
    List<PlacedInode> files = new ArrayList<>();
    List<PlacedInode> others = new ArrayList<>();
    for (PlacedInode p : inodes()) {
      if (blockBytes(p) > 0) {
        (p.inode.isRegular() ? files : others).add(p);
      }
    }
    files.sort(Comparator.comparingLong(p -> p.inode.dataOffset()));
    long next = metaBlocks;
    for (List<PlacedInode> group : List.of(files, others)) {
      for (PlacedInode p : group) {
        p.blkaddr = next;
        next += ceilBlocks(blockBytes(p));
        withBlocks.add(p);
      }
    }
    if (next > 0xFFFFFFFFL) {
      throw new InvalidLayerException(
          "limit.image-size", "the EROFS image would take " + next + " blocks of 4096 bytes, over 16 TiB");
    }
    blocks = next;
  }

  private static long ceilBlocks(long bytes) {
    return (bytes + BLOCK - 1) / BLOCK;
  }
}

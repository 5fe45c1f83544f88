package dev.erofspipeline.convert.erofs;

import static dev.erofspipeline.convert.erofs.PlacedInode.CHUNK_BASED;
import static dev.erofspipeline.convert.erofs.PlacedInode.FLAT_INLINE;
import static dev.erofspipeline.convert.erofs.PlacedInode.FLAT_PLAIN;

import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.erofs.BufferManager.Head;
import dev.erofspipeline.convert.erofs.BufferManager.Kind;
import dev.erofspipeline.convert.tar.Inode;

/**
 * Decides where every inode, inline tail and directory/symlink block of a tar index goes, by
 * replaying mkfs.erofs's traversal ({@link InodeLayout#walk}) and its calls into the {@link
 * BufferManager}, including each {@code map()} at the same point.
 */
final class TarIndexLayout extends InodeLayout {
  /** Superblock bytes 0..1151: 1024 zero bytes then the 128-byte superblock. */
  static final int SUPERBLOCK_END = 1024 + 128;
  static final int DEVICE_SLOT_SIZE = 128;
  private static final int CHUNK_INDEX_SIZE = 8;
  private static final int MAX_CHUNK_BITS = 9 + 31;

  private final BufferManager bm = new BufferManager();
  private long primaryBlocks;

  private TarIndexLayout() {}

  static TarIndexLayout plan(Inode rootInode) throws InvalidLayerException {
    TarIndexLayout layout = new TarIndexLayout();
    Head sb = layout.bm.balloc(Kind.SUPERBLOCK, 0, 0);
    layout.bm.balloon(sb, SUPERBLOCK_END);
    layout.bm.map(sb.block);
    Head devt = layout.bm.balloc(Kind.DEVICE_TABLE, DEVICE_SLOT_SIZE, 0);
    layout.bm.map(devt.block);
    layout.walk(rootInode);
    layout.primaryBlocks = layout.bm.map(null);
    return layout;
  }

  /** P: blocks of the index image (the tar is not counted). */
  long primaryBlocks() {
    return primaryBlocks;
  }

  @Override
  void rootPlaced(PlacedInode root) {
    bm.map(root.bh.block);
  }

  @Override
  void childrenPlaced(PlacedInode dir) {
    writeDirData(dir);
  }

  @Override
  PlacedInode visit(Inode inode, PlacedInode parent, byte[] name) throws InvalidLayerException {
    PlacedInode p = describe(inode, parent, name, BufferManager.BLOCK);

    if (inode.isDirectory()) {
      p.layout = FLAT_INLINE;
      p.idata = (int) (p.size % BufferManager.BLOCK);
      prepareInode(p);
    } else if (inode.isSymlink()) {
      p.layout = FLAT_INLINE;
      long nb = p.size / BufferManager.BLOCK;
      if (nb > 0) {
        p.dataBh = bm.balloc(Kind.DATA_BLOCKS, nb * BufferManager.BLOCK, 0);
        bm.map(p.dataBh.block);
        p.blkaddr = p.dataBh.block.addr;
      }
      p.idata = (int) (p.size % BufferManager.BLOCK);
      prepareInode(p);
      writeTail(p);
    } else if (inode.isRegular() && p.size > 0) {
      p.layout = CHUNK_BASED;
      p.chunkBits = Math.min(MAX_CHUNK_BITS, Math.max(9, 64 - Long.numberOfLeadingZeros(p.size - 1)));
      p.chunkCount = (p.size + (1L << p.chunkBits) - 1) >>> p.chunkBits;
      long lastBlock = inode.dataOffset() / BufferManager.BLOCK
          + (p.chunkCount - 1) * (1L << (p.chunkBits - 9));
      if (lastBlock > 0xFFFFFFFFL) {
        throw new InvalidLayerException(
            "tar.too-large", p.path() + ": data beyond 2 TiB into the tar needs 48-bit chunk indexes");
      }
      prepareInode(p);
    } else {
      p.layout = FLAT_PLAIN;
      prepareInode(p);
    }
    return p;
  }

  /** mkfs erofs_prepare_inode_buffer: room for the inode, inlining the tail when it fits. */
  private void prepareInode(PlacedInode p) {
    long isz = p.inodeSize() + p.xattrBody.length;
    if (p.layout == CHUNK_BASED) {
      isz = BufferManager.alignUp(isz, 8) + CHUNK_INDEX_SIZE * p.chunkCount;
    }
    boolean inlined = false;
    if (p.layout == FLAT_INLINE) {
      if (p.idata == 0) {
        p.layout = FLAT_PLAIN;
      }
      p.bh = bm.balloc(Kind.INODE, isz, p.idata);
      if (p.bh == null) {
        p.layout = FLAT_PLAIN;
      } else {
        inlined = true;
        if (p.idata > 0) {
          p.inlineBh = bm.battach(p.bh, Kind.INLINE_TAIL, p.idata);
        }
      }
    }
    if (!inlined) {
      if (p.idata > 0) {
        if (p.dataBh != null) {
          bm.balloon(p.dataBh, BufferManager.BLOCK);
        } else {
          p.lazyTail = true;
        }
      }
      p.bh = bm.balloc(Kind.INODE, isz, 0);
    }
    number(p);
  }

  /** mkfs erofs_write_tail_end: a tail that was not inlined gets a zero-padded block of its own. */
  private void writeTail(PlacedInode p) {
    if (p.idata > 0 && p.inlineBh == null) {
      if (p.dataBh == null) {
        Kind kind = p.inode.isDirectory() ? Kind.DIRECTORY_BLOCKS : Kind.DATA_BLOCKS;
        p.dataBh = bm.balloc(kind, BufferManager.BLOCK, 0);
        bm.map(p.dataBh.block);
        p.blkaddr = p.dataBh.block.addr;
      } else {
        if (p.lazyTail) {
          bm.balloon(p.dataBh, BufferManager.BLOCK);
          p.lazyTail = false;
        }
        bm.map(p.dataBh.block);
      }
      BufferManager.Block bb = p.dataBh.block;
      p.tailBlockPos = bb.addr * BufferManager.BLOCK + bb.off - BufferManager.BLOCK;
    }
    if (p.dataBh != null) {
      bm.drop(p.dataBh);
      p.dataBh = null;
    }
  }

  /** mkfs erofs_write_dir_file: full blocks first, every dirent's nid looked up (mapping it), tail. */
  private void writeDirData(PlacedInode dir) {
    long nb = dir.size / BufferManager.BLOCK;
    if (nb > 0) {
      dir.dataBh = bm.balloc(Kind.DIRECTORY_BLOCKS, nb * BufferManager.BLOCK, 0);
      bm.map(dir.dataBh.block);
      dir.blkaddr = dir.dataBh.block.addr;
    }
    for (Directory.Entry e : dir.entries) {
      bm.map(placedInode(e.inode()).bh.block);
    }
    writeTail(dir);
  }
}

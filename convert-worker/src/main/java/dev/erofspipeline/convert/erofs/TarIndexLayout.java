package dev.erofspipeline.convert.erofs;

import static dev.erofspipeline.convert.erofs.PlacedInode.CHUNK_BASED;
import static dev.erofspipeline.convert.erofs.PlacedInode.FLAT_INLINE;
import static dev.erofspipeline.convert.erofs.PlacedInode.FLAT_PLAIN;

import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.erofs.BufferManager.Head;
import dev.erofspipeline.convert.erofs.BufferManager.Kind;
import dev.erofspipeline.convert.tar.Inode;
import dev.erofspipeline.convert.tar.Xattr;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides where every inode, inline tail and directory/symlink block of a tar index goes, by
 * replaying mkfs.erofs's traversal (root first, then directory by directory, depth first) and its
 * calls into the {@link BufferManager}, including each {@code map()} at the same point.
 */
final class TarIndexLayout {
  /** Superblock bytes 0..1151: 1024 zero bytes then the 128-byte superblock. */
  static final int SUPERBLOCK_END = 1024 + 128;
  static final int DEVICE_SLOT_SIZE = 128;
  /** Build time (-T0): mtimes equal to it allow compact inodes. */
  static final long EPOCH = 0;
  private static final byte[] ORIGIN_XATTR = "trusted.overlay.origin".getBytes(StandardCharsets.US_ASCII);
  private static final int CHUNK_INDEX_SIZE = 8;
  private static final int MAX_CHUNK_BITS = 9 + 31;

  private final BufferManager bm = new BufferManager();
  private final Map<Inode, PlacedInode> placed = new IdentityHashMap<>();
  /** In i_ino order. */
  private final List<PlacedInode> inodes = new ArrayList<>();
  private PlacedInode root;
  private long primaryBlocks;

  private TarIndexLayout() {}

  static TarIndexLayout plan(Inode rootInode) throws InvalidLayerException {
    TarIndexLayout layout = new TarIndexLayout();
    layout.run(rootInode);
    return layout;
  }

  List<PlacedInode> inodes() {
    return inodes;
  }

  PlacedInode root() {
    return root;
  }

  /** P: blocks of the index image (the tar is not counted). */
  long primaryBlocks() {
    return primaryBlocks;
  }

  long nid(Inode inode) {
    return placed.get(inode).nid();
  }

  private void run(Inode rootInode) throws InvalidLayerException {
    Head sb = bm.balloc(Kind.SUPERBLOCK, 0, 0);
    bm.balloon(sb, SUPERBLOCK_END);
    bm.map(sb.block);
    Head devt = bm.balloc(Kind.DEVICE_TABLE, DEVICE_SLOT_SIZE, 0);
    bm.map(devt.block);

    root = visit(rootInode, null, new byte[0]);
    bm.map(root.bh.block);

    Deque<PlacedInode> queue = new ArrayDeque<>();
    queue.add(root);
    while (!queue.isEmpty()) {
      PlacedInode dir = queue.pollFirst();
      List<PlacedInode> newDirs = new ArrayList<>();
      for (Directory.Entry e : dir.entries) {
        if (Directory.isDotOrDotDot(e.name())) {
          continue;
        }
        if (!placed.containsKey(e.inode())) {
          PlacedInode child = visit(e.inode(), dir, e.name());
          if (child.inode.isDirectory()) {
            newDirs.add(child);
          }
        }
      }
      // Subdirectories go first, in sorted order: the walk is depth-first by directory.
      for (int i = newDirs.size() - 1; i >= 0; i--) {
        queue.addFirst(newDirs.get(i));
      }
      writeDirData(dir);
    }
    primaryBlocks = bm.map(null);
  }

  private PlacedInode visit(Inode inode, PlacedInode parent, byte[] name) throws InvalidLayerException {
    PlacedInode p = new PlacedInode(inode, parent, name);
    placed.put(inode, p);
    long testedSize;
    long testedNlink;
    if (inode.isDirectory()) {
      p.entries = Directory.entries(inode, p.parent.inode);
      // "." and ".." are dirents of type directory too: 2 + subdirectories
      p.nlink = p.entries.stream().filter(e -> e.fileType() == Directory.FT_DIR).count();
      p.size = Directory.size(p.entries);
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
    p.serial = inodes.size() + 1;
    inodes.add(p);
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
      bm.map(placed.get(e.inode()).bh.block);
    }
    writeTail(dir);
  }
}

package dev.erofspipeline.convert.erofs;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A literal port of mkfs.erofs's metadata buffer manager ({@code lib/cache.c}, 1.9.3): a list of
 * buffer blocks that receive block addresses lazily when mapped, and a best-fit search over
 * buckets of blocks keyed by how full their last block is. Byte identity with mkfs depends on
 * reproducing every decision, including when blocks get mapped.
 */
final class BufferManager {
  static final int BLOCK = 512;
  private static final int DATA = 0;
  private static final int META = 1;
  private static final int ENOSPC = -1;
  private static final int EINVAL = -2;

  /** What an allocation is for, with the block type and alignment mkfs uses for it. */
  enum Kind {
    SUPERBLOCK(META, 1),
    DEVICE_TABLE(META, 128),
    INODE(META, 32),
    INLINE_TAIL(META, 1),
    DIRECTORY_BLOCKS(META, BLOCK),
    DATA_BLOCKS(DATA, BLOCK);

    final int type;
    final int align;

    Kind(int type, int align) {
      this.type = type;
      this.align = align;
    }
  }

  /** A run of bytes that will be placed at consecutive block addresses. */
  static final class Block {
    final int type;
    long addr = -1;
    /** Bytes used from the block's first byte; may exceed one block. */
    long off;
    long nblocks;
    int heads;
    Block prev;
    Block next;
    /** The bucket holding this block: mapped flag (-1: in none) and "used" index. */
    int bucketMapped = -1;
    int bucketUsed;

    Block(int type) {
      this.type = type;
    }

    boolean mapped() {
      return addr >= 0;
    }
  }

  /** One allocation: an offset inside a {@link Block}. */
  static final class Head {
    final Block block;
    final long offset;

    Head(Block block, long offset) {
      this.block = block;
      this.offset = offset;
    }
  }

  private final Block list = new Block(-1); // sentinel: list.next is the first block
  private Block lastMapped = list;
  private long tail;
  /** FIFO buckets of blocks by type, mapped flag and "used" (bytes in the last block); see bucket(). */
  private final List<LinkedHashSet<Block>> buckets = new ArrayList<>(2 * 2 * BLOCK);
  /** Bit b set iff bucket "used = 511 - b" is non-empty, so scanning up finds fuller blocks first. */
  private final BitSet[][] nonEmpty = {{new BitSet(BLOCK), new BitSet(BLOCK)}, {new BitSet(BLOCK), new BitSet(BLOCK)}};

  BufferManager() {
    list.prev = list;
    list.next = list;
    for (int i = 0; i < 2 * 2 * BLOCK; i++) {
      buckets.add(new LinkedHashSet<>());
    }
  }

  /** Allocates {@code size} bytes (plus room for {@code inlineExt} inline bytes); null on ENOSPC. */
  Head balloc(Kind kind, long size, int inlineExt) {
    Block bb = bfind(kind.type, size, inlineExt, kind.align);
    if (bb == null) {
      bb = new Block(kind.type);
      if (kind.type == DATA) {
        insertAfter(lastMapped, bb);
      } else {
        insertAfter(list.prev, bb);
      }
    }
    long offset = alignUp(bb.off, kind.align);
    // A failed first attach leaves the empty block in the list, as mkfs does.
    return attach(bb, size, kind.align, inlineExt, false) < 0 ? null : newHead(bb, offset);
  }

  /** Allocates right after {@code bh}, which must be the last allocation of its block. */
  Head battach(Head bh, Kind kind, long size) {
    Block bb = bh.block;
    long offset = alignUp(bb.off, kind.align);
    if (attach(bb, size, kind.align, 0, false) < 0) {
      throw new IllegalStateException("battach failed");
    }
    return newHead(bb, offset);
  }

  /** Grows the block of {@code bh} by {@code size} bytes without a new allocation. */
  void balloon(Head bh, long size) {
    if (attach(bh.block, size, 1, 0, false) < 0) {
      throw new IllegalStateException("balloon failed");
    }
  }

  /**
   * Gives addresses to every unmapped block up to and including {@code bb} (all if null).
   *
   * @return the block's address if it was mapped already, else the new tail
   */
  long map(Block bb) {
    if (bb != null && bb.mapped()) {
      return bb.addr;
    }
    for (Block cur = lastMapped.next; cur != list; cur = cur.next) {
      if (!cur.mapped()) {
        cur.addr = tail;
        lastMapped = cur;
        moveToBucket(cur);
      }
      tail = Math.max(tail, cur.addr + cur.nblocks);
      if (cur == bb) {
        break;
      }
    }
    return tail;
  }

  /** Releases an allocation; an emptied block leaves the list (tail is not rolled back). */
  void drop(Head bh) {
    Block bb = bh.block;
    if (--bb.heads > 0) {
      return;
    }
    leaveBucket(bb);
    if (bb == lastMapped) {
      lastMapped = bb.prev;
    }
    bb.prev.next = bb.next;
    bb.next.prev = bb.prev;
  }

  /** Byte position of a mapped allocation. */
  static long pos(Head bh) {
    if (!bh.block.mapped()) {
      throw new IllegalStateException("position of an unmapped buffer");
    }
    return bh.block.addr * BLOCK + bh.offset;
  }

  /**
   * Tries to put {@code size} bytes (aligned) at the end of {@code bb}; inline data may not cross
   * a block boundary, and a mapped block can only grow when nothing is mapped after it.
   *
   * @return bytes used in the last block after the item (1..512), or a negative error
   */
  private int attach(Block bb, long size, int align, int inlineExt, boolean dry) {
    long a = alignUp(bb.off, align);
    long end = a + size;
    if (((end + BLOCK - 1) & (BLOCK - 1)) + inlineExt > BLOCK - 1) {
      return ENOSPC;
    }
    boolean tailUpdate = false;
    long capacity = bb.nblocks * BLOCK;
    if (a + size + inlineExt >= capacity) {
      boolean over = a + size + inlineExt > capacity;
      Block nxt = bb.next;
      if (over && nxt != list && nxt.mapped()) {
        return EINVAL;
      }
      if (bb.mapped()) {
        tailUpdate = tail == bb.addr + bb.nblocks;
        if (over && !tailUpdate) {
          return EINVAL;
        }
      }
    }
    if (!dry) {
      bb.off = end;
      bb.nblocks = Math.max(bb.nblocks, (bb.off + BLOCK - 1) / BLOCK);
      if (tailUpdate) {
        tail = bb.addr + bb.nblocks;
      }
      moveToBucket(bb);
    }
    return (int) ((end + BLOCK - 1) & (BLOCK - 1)) + 1;
  }

  /** Best block to attach to, or null for a new one (mkfs erofs_bfind_for_attach). */
  private Block bfind(int type, long size, int inlineExt, int align) {
    if (align == BLOCK) {
      return null;
    }
    Block best = null;
    int bestUsed = 0;
    int used0 = (int) ((BLOCK - ((size + inlineExt) % BLOCK)) / align * align);
    boolean[] passes = size + inlineExt >= BLOCK ? new boolean[] {false} : new boolean[] {true, false};
    int end = BLOCK;
    int index = used0 + BLOCK;
    for (boolean mapped : passes) {
      int m = mapped ? 1 : 0;
      while (true) {
        index = findBucket(type, m, index, end);
        if (index < 0) {
          break;
        }
        Iterator<Block> it = bucket(type, m, index % BLOCK).iterator();
        Block cand = it.next();
        if (mapped && (cand.next == list || !cand.next.mapped())) {
          // cand is the last mapped block; the candidate is the bucket's next one, if any
          if (!it.hasNext()) {
            index--;
            continue;
          }
          cand = it.next();
        }
        int used = attach(cand, size, align, inlineExt, true);
        if (used < 0) {
          index--;
          continue;
        }
        if (used + inlineExt > bestUsed) {
          best = cand;
          bestUsed = used + inlineExt;
        }
        break;
      }
      end = used0 + align - 1;
      index = used0 + BLOCK;
      if (mapped && lastMapped != list && lastMapped.type == type) {
        int used = attach(lastMapped, size, align, inlineExt, true);
        if (used >= 0 && used + inlineExt > bestUsed) {
          best = lastMapped;
          bestUsed = used + inlineExt;
        }
      }
    }
    return best;
  }

  /** Next non-empty bucket at or below {@code index} (by "used"), wrapping once; -1 if none. */
  private int findBucket(int type, int m, int index, int end) {
    if (index <= end) {
      return -1;
    }
    BitSet bits = nonEmpty[type][m];
    int l = BLOCK - 1 - (index % BLOCK);
    int r = BLOCK - 1 - (end % BLOCK);
    if (l >= r) {
      l = nextBit(bits, BLOCK, l);
      if (l < BLOCK) {
        return index / BLOCK * BLOCK + BLOCK - 1 - l;
      }
      l = 0;
      index -= BLOCK;
    }
    l = nextBit(bits, r, l);
    if (l >= r) {
      return -1;
    }
    return index / BLOCK * BLOCK + BLOCK - 1 - l;
  }

  private static int nextBit(BitSet bits, int limit, int start) {
    int b = bits.nextSetBit(start);
    return b < 0 || b >= limit ? limit : b;
  }

  private Head newHead(Block bb, long offset) {
    bb.heads++;
    return new Head(bb, offset);
  }

  /** Puts the block at the tail of the bucket matching its current state. */
  private void moveToBucket(Block bb) {
    leaveBucket(bb);
    bb.bucketMapped = bb.mapped() ? 1 : 0;
    bb.bucketUsed = (int) (bb.off % BLOCK);
    bucket(bb.type, bb.bucketMapped, bb.bucketUsed).add(bb);
    nonEmpty[bb.type][bb.bucketMapped].set(BLOCK - 1 - bb.bucketUsed);
  }

  private void leaveBucket(Block bb) {
    if (bb.bucketMapped < 0) {
      return;
    }
    LinkedHashSet<Block> bucket = bucket(bb.type, bb.bucketMapped, bb.bucketUsed);
    bucket.remove(bb);
    if (bucket.isEmpty()) {
      nonEmpty[bb.type][bb.bucketMapped].clear(BLOCK - 1 - bb.bucketUsed);
    }
    bb.bucketMapped = -1;
  }

  private LinkedHashSet<Block> bucket(int type, int mapped, int used) {
    return buckets.get((type * 2 + mapped) * BLOCK + used);
  }

  private static void insertAfter(Block at, Block bb) {
    bb.prev = at;
    bb.next = at.next;
    at.next.prev = bb;
    at.next = bb;
  }

  static long alignUp(long v, int align) {
    return (v + align - 1) / align * align;
  }
}

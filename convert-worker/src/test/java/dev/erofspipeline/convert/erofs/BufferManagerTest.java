package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.erofspipeline.convert.erofs.BufferManager.Head;
import dev.erofspipeline.convert.erofs.BufferManager.Kind;
import org.junit.jupiter.api.Test;

/** The allocator decisions that are easy to get subtly wrong (spec section 12.1). */
class BufferManagerTest {
  private final BufferManager bm = new BufferManager();

  @Test
  void superblockThenDeviceSlotThenFirstInode() {
    Head sb = bm.balloc(Kind.SUPERBLOCK, 0, 0);
    bm.balloon(sb, 1024 + 128);
    assertEquals(3, bm.map(sb.block));
    Head devt = bm.balloc(Kind.DEVICE_TABLE, 128, 0);
    Head inode = bm.balloc(Kind.INODE, 64, 0);
    bm.map(inode.block);
    assertEquals(1152, BufferManager.pos(devt));
    assertEquals(1280, BufferManager.pos(inode));
  }

  @Test
  void inlineTailThatCannotShareTheBlockIsRefused() {
    // 480 bytes of inode + 100 inline bytes cross a block boundary: ENOSPC, caller falls back.
    assertNull(bm.balloc(Kind.INODE, 480, 100));
    Head inode = bm.balloc(Kind.INODE, 480, 0);
    bm.map(null);
    // the empty block left behind got address 0 with no blocks; the inode is placed at 0 too
    assertEquals(0, BufferManager.pos(inode));
  }

  @Test
  void lastMappedBlockGrowsWhileItEndsAtTheTail() {
    Head a = bm.balloc(Kind.INODE, 500, 0);
    bm.map(a.block);
    Head b = bm.balloc(Kind.INODE, 100, 0); // 32-aligned at 512: extends the mapped block
    Head c = bm.balloc(Kind.INODE, 100, 0);
    assertEquals(512, BufferManager.pos(b));
    assertEquals(640, BufferManager.pos(c));
    assertEquals(2, bm.map(null));
  }

  @Test
  void mappedBlockCannotGrowOnceTheTailMovedPastIt() {
    Head a = bm.balloc(Kind.INODE, 400, 0);
    Head dir = bm.balloc(Kind.DIRECTORY_BLOCKS, 512, 0); // block-aligned: always a new block
    bm.map(dir.block);
    bm.drop(dir); // block 0 is lastMapped again, but the tail stays at 2
    Head fits = bm.balloc(Kind.INODE, 64, 0);
    Head overflows = bm.balloc(Kind.INODE, 100, 0);
    bm.map(null);
    assertEquals(0, BufferManager.pos(a));
    assertEquals(416, BufferManager.pos(fits)); // rounded up to 32 inside block 0
    assertEquals(2 * 512, BufferManager.pos(overflows)); // would cross into block 1: new block
  }

  @Test
  void fullerLastMappedBlockBeatsTheBucketCandidate() {
    Head a = bm.balloc(Kind.INODE, 256, 0);
    Head dirA = bm.balloc(Kind.DIRECTORY_BLOCKS, 512, 0);
    bm.map(dirA.block);
    bm.drop(dirA);
    Head b = bm.balloc(Kind.INODE, 448, 0); // does not fit a's mapped block: new block
    Head dirB = bm.balloc(Kind.DIRECTORY_BLOCKS, 512, 0);
    bm.map(dirB.block);
    bm.drop(dirB); // blocks: a@0, b@2; b's is lastMapped
    Head x = bm.balloc(Kind.INODE, 64, 0);
    bm.map(null);
    assertEquals(0, BufferManager.pos(a));
    assertEquals(2 * 512, BufferManager.pos(b));
    // the bucket search skips lastMapped and finds a's block (320 bytes used after x), but
    // lastMapped is tried separately and, filling its block to 512, wins
    assertEquals(2 * 512 + 448, BufferManager.pos(x));
  }

  @Test
  void dataBlocksGoRightAfterTheLastMappedBlock() {
    Head a = bm.balloc(Kind.INODE, 512, 0);
    bm.map(a.block);
    Head dir = bm.balloc(Kind.DIRECTORY_BLOCKS, 512, 0); // META, appended, unmapped
    Head data = bm.balloc(Kind.DATA_BLOCKS, 512, 0); // DATA, inserted before it
    bm.map(data.block);
    bm.map(dir.block);
    assertEquals(512, BufferManager.pos(data));
    assertEquals(1024, BufferManager.pos(dir));
  }
}

package dev.erofspipeline.convert.erofs;

import static dev.erofspipeline.convert.erofs.PlacedInode.CHUNK_BASED;

import dev.erofspipeline.convert.tar.Inode;
import java.nio.ByteBuffer;

/** Writes the on-disk inode (32-byte compact or 64-byte extended), its xattrs and chunk indexes. */
final class InodeFormat {
  private static final int CHUNK_FORMAT_INDEXES = 0x20;
  /** Chunk indexes point into extra device 1: the tar. */
  private static final int TAR_DEVICE_ID = 1;

  private InodeFormat() {}

  /** Writes everything that lives at the inode's own position into {@code image} from {@code at}. */
  static void write(ByteBuffer image, int at, PlacedInode p) {
    Inode inode = p.inode;
    int icount = XattrBody.icount(p.xattrBody.length);
    int iu = dataField(p);
    if (p.extended) {
      image.putShort(at, (short) (p.layout << 1 | 1));
      image.putShort(at + 2, (short) icount);
      image.putShort(at + 4, (short) inode.mode());
      image.putLong(at + 8, p.size);
      image.putInt(at + 16, iu);
      image.putInt(at + 20, (int) p.serial);
      image.putInt(at + 24, (int) inode.uid());
      image.putInt(at + 28, (int) inode.gid());
      image.putLong(at + 32, inode.mtime());
      image.putInt(at + 40, inode.mtimeNsec());
      image.putInt(at + 44, (int) p.nlink);
    } else {
      // Compact inodes only exist for mtime == build time, so their time delta field is 0.
      image.putShort(at, (short) (p.layout << 1));
      image.putShort(at + 2, (short) icount);
      image.putShort(at + 4, (short) inode.mode());
      image.putShort(at + 6, (short) p.nlink);
      image.putInt(at + 8, (int) p.size);
      image.putInt(at + 16, iu);
      image.putInt(at + 20, (int) p.serial);
      image.putShort(at + 24, (short) inode.uid());
      image.putShort(at + 26, (short) inode.gid());
    }
    int end = at + p.inodeSize();
    image.put(end, p.xattrBody);
    end += p.xattrBody.length;
    if (p.layout == CHUNK_BASED) {
      int idx = (end + 7) & ~7;
      long firstBlock = inode.dataOffset() / BufferManager.BLOCK;
      long blocksPerChunk = 1L << (p.chunkBits - 9);
      for (long i = 0; i < p.chunkCount; i++) {
        image.putShort(idx, (short) 0);
        image.putShort(idx + 2, (short) TAR_DEVICE_ID);
        image.putInt(idx + 4, (int) (firstBlock + i * blocksPerChunk));
        idx += 8;
      }
    }
  }

  /** The i_u union: chunk format, first data block (0 for an empty file), or device number. */
  private static int dataField(PlacedInode p) {
    Inode inode = p.inode;
    if (p.layout == CHUNK_BASED) {
      return CHUNK_FORMAT_INDEXES | (p.chunkBits - 9);
    }
    if (inode.isDirectory() || inode.isSymlink() || (inode.isRegular() && p.size > 0)) {
      return (int) p.blkaddr;
    }
    if (inode.isDevice()) {
      int major = inode.devMajor();
      int minor = inode.devMinor();
      return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
    }
    return 0;
  }
}

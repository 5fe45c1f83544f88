package dev.erofspipeline.convert.erofs;

import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.tar.FileTree;
import dev.erofspipeline.convert.tar.TarSpool;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * A full EROFS image of a layer's file tree (the native profile): file data inside the image,
 * 4096-byte blocks, uncompressed, every inode FLAT_PLAIN or FLAT_INLINE (see {@link
 * NativeImageLayout}). The tree is the same {@link FileTree} the tar index is made from and every
 * inode is described by the same code ({@link PlacedInode#describe}), so both images of a layer
 * mount to the same tree. Planned first (no bytes), then written in one sequential stream, file
 * data copied from the {@link TarSpool}; memory holds the plan and one block of the image at most
 * (plus one directory's or inode's bytes).
 */
public final class NativeImage {
  public static final int BLOCK_SIZE = NativeImageLayout.BLOCK;

  private final NativeImageLayout layout;
  private final SuperBlock.Fields superBlock;

  private NativeImage(NativeImageLayout layout, SuperBlock.Fields superBlock) {
    this.layout = layout;
    this.superBlock = superBlock;
  }

  /** Lays out the image of {@code tree}; refuses what the tar index refuses about inodes. */
  public static NativeImage plan(FileTree tree, UUID uuid) throws InvalidLayerException {
    NativeImageLayout layout = NativeImageLayout.plan(tree.root());
    boolean xattrFilter = false;
    for (PlacedInode p : layout.inodes()) {
      xattrFilter |= p.usesXattrFilter();
    }
    return new NativeImage(layout, new SuperBlock.Fields(
        BLOCK_SIZE, layout.root().nid(), layout.inodes().size(), layout.blocks(), uuid,
        tree.volumeLabel(), xattrFilter));
  }

  /** Bytes of the image: a multiple of {@link #BLOCK_SIZE}. */
  public long size() {
    return layout.blocks() * BLOCK_SIZE;
  }

  /**
   * Writes the image ({@link #size()} bytes) to {@code out}, file data read from {@code spool}
   * (the tar the tree was read from).
   */
  public void write(TarSpool spool, OutputStream out) throws IOException {
    ImageOutput image = new ImageOutput(out, this::sealBlockZero);
    for (PlacedInode p : layout.inodes()) {
      int record = p.inodeSize() + p.xattrBody.length;
      ByteBuffer bytes = ByteBuffer.allocate(record + p.idata).order(ByteOrder.LITTLE_ENDIAN);
      InodeFormat.write(bytes, 0, p);
      if (p.idata > 0) {
        long from = p.size - p.idata;
        if (p.inode.isRegular()) {
          spool.read(p.inode.dataOffset() + from, bytes.array(), record, p.idata);
        } else {
          System.arraycopy(content(p), (int) from, bytes.array(), record, p.idata);
        }
      }
      image.padTo(p.pos);
      image.write(bytes.array(), 0, bytes.capacity());
    }
    image.padTo(layout.metaBlocks() * BLOCK_SIZE);
    for (PlacedInode p : layout.withBlocks()) {
      image.padTo(p.blkaddr * BLOCK_SIZE);
      long n = NativeImageLayout.blockBytes(p);
      if (p.inode.isRegular()) {
        spool.copy(p.inode.dataOffset(), n, image);
      } else {
        image.write(content(p), 0, (int) n);
      }
    }
    image.padTo(size());
  }

  /** Directory or symlink bytes. */
  private byte[] content(PlacedInode p) {
    return p.inode.isDirectory()
        ? Directory.encode(p.entries, layout::nid, BLOCK_SIZE)
        : p.inode.symlinkTarget();
  }

  /** Puts the superblock and its checksum into block 0 (the rest of the block already written). */
  private void sealBlockZero(byte[] block) {
    ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
    SuperBlock.write(b, superBlock);
    SuperBlock.writeChecksum(b, BLOCK_SIZE);
  }

  /**
   * The image as a stream with a position: holds block 0 until it is complete, since the
   * superblock checksum covers the inodes that share its block.
   */
  private static final class ImageOutput extends OutputStream {
    private static final byte[] ZEROS = new byte[BLOCK_SIZE];
    private final OutputStream out;
    private final Consumer<byte[]> sealBlockZero;
    private final byte[] blockZero = new byte[BLOCK_SIZE];
    private long position;

    ImageOutput(OutputStream out, Consumer<byte[]> sealBlockZero) {
      this.out = out;
      this.sealBlockZero = sealBlockZero;
    }

    void padTo(long target) throws IOException {
      if (target < position) {
        throw new IllegalStateException("layout goes back from " + position + " to " + target);
      }
      while (position < target) {
        write(ZEROS, 0, (int) Math.min(ZEROS.length, target - position));
      }
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (position < BLOCK_SIZE) {
        int n = (int) Math.min(len, BLOCK_SIZE - position);
        System.arraycopy(b, off, blockZero, (int) position, n);
        position += n;
        off += n;
        len -= n;
        if (position == BLOCK_SIZE) {
          sealBlockZero.accept(blockZero);
          out.write(blockZero);
          Arrays.fill(blockZero, (byte) 0);
        }
      }
      if (len > 0) {
        out.write(b, off, len);
        position += len;
      }
    }
  }
}

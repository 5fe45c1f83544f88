package dev.erofspipeline.convert.erofs;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.tar.FileTree;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;

/**
 * Writes the EROFS tar index that {@code mkfs.erofs 1.9.3 --tar=i --aufs --quiet -T0 --mkfs-time
 * -U <uuid>} writes for the same tar, byte for byte (see shared/spec/erofs-tar-index.md).
 */
public final class TarIndexWriter {
  private TarIndexWriter() {}

  /**
   * Reads the uncompressed tar from {@code tar} through read() calls only (never skip(): the
   * caller hashes every byte passing through the stream), up to and including the end-of-archive
   * blocks (or EOF), builds the tree and returns the finished tar index image (P*512 bytes,
   * checksum set).
   */
  public static TarIndex write(InputStream tar, UUID uuid, ConversionLimits limits)
      throws IOException, InvalidLayerException {
    FileTree tree = FileTree.read(tar, limits);
    TarIndexLayout layout = TarIndexLayout.plan(tree.root());

    long imageSize = layout.primaryBlocks() * BufferManager.BLOCK;
    if (imageSize > Integer.MAX_VALUE - 8) {
      throw new InvalidLayerException(
          "limit.index-size", "the tar index would take " + imageSize + " bytes, over 2 GiB");
    }
    ByteBuffer image = ByteBuffer.allocate((int) imageSize).order(ByteOrder.LITTLE_ENDIAN);
    boolean xattrFilter = false;
    for (PlacedInode p : layout.inodes()) {
      InodeFormat.write(image, (int) BufferManager.pos(p.bh), p);
      writeData(image, p, layout);
      xattrFilter |= p.usesXattrFilter();
    }
    long tarBlocks = (tree.tarBytesUsed() + BufferManager.BLOCK - 1) / BufferManager.BLOCK;
    SuperBlock.write(image, new SuperBlock.Fields(
        BufferManager.BLOCK, layout.root().nid(), layout.inodes().size(), layout.primaryBlocks(),
        uuid, tree.volumeLabel(), xattrFilter));
    SuperBlock.writeTarDevice(image, tarBlocks, layout.primaryBlocks());
    SuperBlock.writeChecksum(image, BufferManager.BLOCK);
    return new TarIndex(image.array(), tree.tarBytesUsed(), layout.inodes().size());
  }

  /** Directory and symlink bytes: full blocks at blkaddr, the tail inline or in its own block. */
  private static void writeData(ByteBuffer image, PlacedInode p, TarIndexLayout layout) {
    byte[] content;
    if (p.inode.isDirectory()) {
      content = Directory.encode(p.entries, layout::nid, BufferManager.BLOCK);
    } else if (p.inode.isSymlink()) {
      content = p.inode.symlinkTarget();
    } else {
      return;
    }
    int full = content.length - p.idata;
    if (full > 0) {
      image.put((int) (p.blkaddr * BufferManager.BLOCK), content, 0, full);
    }
    if (p.idata > 0) {
      long at = p.inlineBh != null ? BufferManager.pos(p.inlineBh) : p.tailBlockPos;
      image.put((int) at, content, full, p.idata);
    }
  }
}

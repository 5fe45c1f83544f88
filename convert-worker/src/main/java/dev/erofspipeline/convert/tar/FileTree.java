package dev.erofspipeline.convert.tar;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The layer's file tree as mkfs.erofs builds it from a tar ({@code --tar --aufs}), plus the
 * archive facts an image needs. Independent of any image format.
 *
 * @param root the root directory
 * @param volumeLabel first 16 bytes of a GNU volume header's name, or {@code null}
 * @param tarBytesUsed offset just after the second end-of-archive block, or the file length if the
 *     archive has none
 */
public record FileTree(Inode root, byte[] volumeLabel, long tarBytesUsed) {

  /** Reads the whole archive from {@code tar} (read() calls only) and builds its tree. */
  public static FileTree read(InputStream tar, ConversionLimits limits)
      throws IOException, InvalidLayerException {
    TarReader reader = new TarReader(tar, limits);
    FileTreeBuilder builder = new FileTreeBuilder(limits);
    for (TarEntry entry = reader.next(); entry != null; entry = reader.next()) {
      builder.apply(entry);
    }
    return new FileTree(builder.root(), reader.volumeLabel(), reader.offset());
  }
}

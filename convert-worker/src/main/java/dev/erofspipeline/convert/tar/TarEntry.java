package dev.erofspipeline.convert.tar;

import java.util.List;

/**
 * One archive member as mkfs.erofs sees it, with its PAX/GNU extension headers already folded in.
 *
 * @param headerOffset tar offset of the member's own (ustar) header
 * @param typeflag one of {@code 0 1 2 3 4 5 6 7}
 * @param path raw path bytes as found in the archive (not normalised)
 * @param linkTarget hard-link or symlink target, or {@code null} for other types
 * @param permissions the 12 permission bits of the header mode
 * @param uid owner, unsigned 32-bit
 * @param gid group, unsigned 32-bit
 * @param size size field (data bytes that follow the header)
 * @param dataOffset tar offset of the first data byte (header offset + 512)
 * @param xattrs per-member xattrs merged with the global ones, in record order
 */
public record TarEntry(
    long headerOffset,
    byte typeflag,
    byte[] path,
    byte[] linkTarget,
    int permissions,
    long uid,
    long gid,
    long size,
    long mtime,
    int mtimeNsec,
    int devMajor,
    int devMinor,
    List<Xattr> xattrs,
    long dataOffset) {

  /** The path for messages; tar names are raw bytes, shown here as UTF-8 with replacement. */
  public String displayPath() {
    return Bytes.display(path);
  }
}

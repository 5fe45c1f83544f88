package dev.erofspipeline.convert.tar;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A file, directory, symlink, device or fifo of the layer tree, with the metadata mkfs.erofs
 * keeps. Hard links are several {@link Dentry dentries} sharing one inode.
 */
public final class Inode {
  public static final int S_IFMT = 0170000;
  public static final int S_IFSOCK = 0140000;
  public static final int S_IFLNK = 0120000;
  public static final int S_IFREG = 0100000;
  public static final int S_IFBLK = 0060000;
  public static final int S_IFDIR = 0040000;
  public static final int S_IFCHR = 0020000;
  public static final int S_IFIFO = 0010000;

  int mode;
  long uid;
  long gid;
  long mtime;
  int mtimeNsec;
  long size;
  int devMajor;
  int devMinor;
  /**
   * Names pointing here, counted as mkfs does (non-directories only; a directory's link count
   * follows from its subdirectories when the image is written).
   */
  long linkCount;
  long dataOffset;
  byte[] symlinkTarget;
  final List<Xattr> xattrs = new ArrayList<>();
  /**
   * The directory this inode was created in while parsing. It follows mkfs, including its quirk
   * that a replacement inherits the replaced inode's parent; used for ".." path components and
   * for the whiteout mark.
   */
  Inode parseParent;
  /** An aufs whiteout was created here: the directory gets {@code trusted.overlay.origin}. */
  boolean hasWhiteouts;
  /**
   * Children by name (directories only, else {@code null}); may hold names "." / ".." made by
   * whiteouts such as ".wh..", which the image writer drops as mkfs does.
   */
  final Map<ByteBuffer, Dentry> children;

  Inode(int mode) {
    this.mode = mode;
    this.children = (mode & S_IFMT) == S_IFDIR ? new LinkedHashMap<>() : null;
  }

  public int mode() {
    return mode;
  }

  public boolean isDirectory() {
    return (mode & S_IFMT) == S_IFDIR;
  }

  public boolean isRegular() {
    return (mode & S_IFMT) == S_IFREG;
  }

  public boolean isSymlink() {
    return (mode & S_IFMT) == S_IFLNK;
  }

  public boolean isDevice() {
    int type = mode & S_IFMT;
    return type == S_IFCHR || type == S_IFBLK;
  }

  public long uid() {
    return uid;
  }

  public long gid() {
    return gid;
  }

  public long mtime() {
    return mtime;
  }

  public int mtimeNsec() {
    return mtimeNsec;
  }

  /** Size field: file size, symlink target length, else the tar header's size (0). */
  public long size() {
    return size;
  }

  public int devMajor() {
    return devMajor;
  }

  public int devMinor() {
    return devMinor;
  }

  public long linkCount() {
    return linkCount;
  }

  /** Tar offset of a regular file's first data byte. */
  public long dataOffset() {
    return dataOffset;
  }

  public byte[] symlinkTarget() {
    return symlinkTarget;
  }

  /** In the order they were set; duplicates are possible (mkfs appends). */
  public List<Xattr> xattrs() {
    return Collections.unmodifiableList(xattrs);
  }

  public boolean hasWhiteouts() {
    return hasWhiteouts;
  }

  /** The directory's entries in no particular order ({@code null} for non-directories). */
  public Collection<Dentry> children() {
    return children == null ? null : Collections.unmodifiableCollection(children.values());
  }

  Dentry child(byte[] name) {
    return children.get(ByteBuffer.wrap(name));
  }

  void addChild(Dentry d) {
    children.put(ByteBuffer.wrap(d.name), d);
  }
}

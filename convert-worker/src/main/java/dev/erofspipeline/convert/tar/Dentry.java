package dev.erofspipeline.convert.tar;

/** A name in a directory and the inode it refers to. */
public final class Dentry {
  final byte[] name;
  /** {@code null} once the directory holding this entry was dropped from the tree. */
  Inode inode;

  Dentry(byte[] name, Inode inode) {
    this.name = name;
    this.inode = inode;
  }

  /** Raw name bytes (never "/"-containing). */
  public byte[] name() {
    return name;
  }

  public Inode inode() {
    return inode;
  }
}

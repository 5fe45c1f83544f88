package dev.erofspipeline.convert.erofs;

import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.tar.Inode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What both image profiles share about placing inodes: mkfs.erofs's walk of the tree (the root,
 * then directory by directory, depth first, each directory's new children in dirent order), the
 * inodes in i_ino order and their nids. Subclasses decide where each inode goes.
 */
abstract class InodeLayout {
  private final Map<Inode, PlacedInode> placed = new IdentityHashMap<>();
  /** In i_ino order. */
  private final List<PlacedInode> inodes = new ArrayList<>();

  List<PlacedInode> inodes() {
    return inodes;
  }

  /** The root: the first inode placed. */
  PlacedInode root() {
    return inodes.get(0);
  }

  long nid(Inode inode) {
    return placedInode(inode).nid();
  }

  PlacedInode placedInode(Inode inode) {
    return placed.get(inode);
  }

  /** Describes and places one inode (calling {@link #describe} and {@link #number}). */
  abstract PlacedInode visit(Inode inode, PlacedInode parent, byte[] name) throws InvalidLayerException;

  /** Called once the root is placed, before anything else. */
  void rootPlaced(PlacedInode root) {}

  /** Called once every child of {@code dir} is placed. */
  void childrenPlaced(PlacedInode dir) {}

  final PlacedInode describe(Inode inode, PlacedInode parent, byte[] name, int blockSize)
      throws InvalidLayerException {
    PlacedInode p = PlacedInode.describe(inode, parent, name, blockSize);
    placed.put(inode, p);
    return p;
  }

  /** Gives {@code p} the next i_ino. */
  final void number(PlacedInode p) {
    p.serial = inodes.size() + 1;
    inodes.add(p);
  }

  final void walk(Inode rootInode) throws InvalidLayerException {
    PlacedInode root = visit(rootInode, null, new byte[0]);
    rootPlaced(root);
    Deque<PlacedInode> queue = new ArrayDeque<>();
    queue.add(root);
    while (!queue.isEmpty()) {
      PlacedInode dir = queue.pollFirst();
      List<PlacedInode> newDirs = new ArrayList<>();
      for (Directory.Entry e : dir.entries) {
        if (!Directory.isDotOrDotDot(e.name()) && !placed.containsKey(e.inode())) {
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
      childrenPlaced(dir);
    }
  }
}

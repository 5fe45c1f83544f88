package dev.erofspipeline.convert.tar;

import static dev.erofspipeline.convert.tar.Inode.S_IFBLK;
import static dev.erofspipeline.convert.tar.Inode.S_IFCHR;
import static dev.erofspipeline.convert.tar.Inode.S_IFDIR;
import static dev.erofspipeline.convert.tar.Inode.S_IFIFO;
import static dev.erofspipeline.convert.tar.Inode.S_IFLNK;
import static dev.erofspipeline.convert.tar.Inode.S_IFREG;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Applies tar members to the tree with mkfs.erofs 1.9.3 semantics in aufs mode: path walk with
 * implicit directories, later-wins replacement, in-place directory updates, hard links, aufs
 * whiteouts ({@code .wh.NAME}) and opaque markers ({@code .wh..wh..opq}). Inputs on which mkfs
 * misbehaves are refused instead of imitated.
 */
final class FileTreeBuilder {
  private static final int NAME_MAX = 255;
  private static final byte[] WHITEOUT_PREFIX = Bytes.ascii(".wh.");
  private static final byte[] OPAQUE_MARKER = Bytes.ascii(".wh..wh..opq");
  private static final byte[] OPAQUE_XATTR = Bytes.ascii("trusted.overlay.opaque");

  private final ConversionLimits limits;
  private final Inode root;

  FileTreeBuilder(ConversionLimits limits) {
    this.limits = limits;
    // No root entry yet: mkfs uses mode 0777 and the owner of its process (root for the references).
    root = new Inode(S_IFDIR | 0777);
    root.parseParent = root;
  }

  Inode root() {
    return root;
  }

  /**
   * Where a path leads. {@code dentry} is the entry named by the last named component ({@code
   * null}: the path is the root); it is not yet linked into {@code dir} when {@code existing} is
   * false.
   */
  private record Walk(Dentry dentry, Inode dir, boolean existing, boolean whiteout, boolean opaque) {}

  void apply(TarEntry e) throws InvalidLayerException {
    int type = fileType(e.typeflag());
    Walk w = walk(e, e.path(), true);

    if (w.opaque()) {
      requireNoData(e, "opaque marker");
      if (w.dentry() == null) {
        throw new InvalidLayerException(
            "tar.opaque.root",
            "opaque marker " + e.displayPath() + " at tar offset " + e.headerOffset()
                + " applies to the root directory (mkfs.erofs fails with ENOTDIR)");
      }
      w.dentry().inode.xattrs.add(new Xattr(OPAQUE_XATTR, new byte[] {'y'}));
      return;
    }
    if (w.whiteout()) {
      requireNoData(e, "whiteout");
      if (type == S_IFDIR || e.typeflag() == '1') {
        // mkfs would turn a directory into a char device in place, or make a hard link instead.
        throw new InvalidLayerException(
            "tar.whiteout.type",
            "whiteout " + e.displayPath() + " at tar offset " + e.headerOffset()
                + " is a directory or hard link, not a plain marker");
      }
    }

    Inode inode;
    Dentry d = w.dentry();
    if (d == null) {
      if (type != S_IFDIR) {
        throw new InvalidLayerException(
            "tar.root.not-directory",
            "entry " + e.displayPath() + " at tar offset " + e.headerOffset()
                + " names the root but is not a directory");
      }
      inode = root;
    } else if (e.typeflag() == '1') {
      link(e, w);
      return;
    } else if (w.existing() && d.inode.isDirectory() && type == S_IFDIR) {
      inode = d.inode; // a directory listed again keeps its children; metadata is updated below
    } else {
      Inode parent = w.dir();
      if (w.existing()) {
        parent = d.inode.parseParent; // mkfs quirk: the replacement inherits the old parent
        detach(d.inode);
      }
      inode = new Inode(type);
      inode.parseParent = parent;
      d.inode = inode;
      if (!w.existing()) {
        w.dir().addChild(d);
      }
    }

    if (w.whiteout()) {
      inode.mode = S_IFCHR; // rdev 0:0, permission bits dropped
      inode.parseParent.hasWhiteouts = true;
    } else {
      inode.mode = type | e.permissions();
      inode.devMajor = e.devMajor();
      inode.devMinor = e.devMinor();
    }
    inode.uid = e.uid();
    inode.gid = e.gid();
    inode.mtime = e.mtime();
    inode.mtimeNsec = e.mtimeNsec();
    inode.size = e.size();
    if (!inode.isDirectory()) {
      if (inode.isSymlink()) {
        if (e.linkTarget().length == 0) {
          throw new InvalidLayerException(
              "tar.symlink.empty",
              "symlink " + e.displayPath() + " at tar offset " + e.headerOffset() + " has an empty target");
        }
        inode.symlinkTarget = e.linkTarget();
        inode.size = e.linkTarget().length;
      } else if (inode.isRegular() && e.size() > 0) {
        inode.dataOffset = e.dataOffset();
      }
      inode.linkCount++;
    }
    inode.xattrs.addAll(e.xattrs());
  }

  /** A hard link: the name becomes one more link to the target's inode, replacing what was there. */
  private void link(TarEntry e, Walk w) throws InvalidLayerException {
    Walk target = walk(e, e.linkTarget(), false);
    String what = "hard link " + e.displayPath() + " at tar offset " + e.headerOffset();
    if (target.dentry() == null || target.opaque() || target.dentry().inode.isDirectory()) {
      throw new InvalidLayerException(
          "tar.hardlink.directory", what + " targets a directory: " + Bytes.display(e.linkTarget()));
    }
    Dentry d = w.dentry();
    if (target.dentry() == d) {
      return; // linking a name to itself changes nothing
    }
    if (w.existing()) {
      detach(d.inode);
    }
    Inode inode = target.dentry().inode;
    if (inode == null) {
      throw new InvalidLayerException(
          "tar.hardlink.missing", what + " targets " + Bytes.display(e.linkTarget()) + ", which it replaces");
    }
    d.inode = inode;
    if (!w.existing()) {
      w.dir().addChild(d);
    }
    inode.linkCount++;
  }

  /**
   * Walks a path as mkfs's erofs_rebuild_get_dentry does: empty components are skipped, "."
   * stays, ".." goes to the parse-time parent, missing intermediate directories are created
   * (only when {@code create}; a hard-link target must exist). In aufs mode the last component
   * may be an opaque marker or a {@code .wh.} whiteout name.
   */
  private Walk walk(TarEntry e, byte[] path, boolean create) throws InvalidLayerException {
    Inode pwd = root;
    Dentry d = null;
    Inode dir = null;
    boolean existing = true;
    boolean whiteout = false;
    int depth = 0;
    int i = 0;
    int n = path.length;
    while (i < n) {
      if (path[i] == '/') {
        i++;
        continue;
      }
      int slash = Bytes.indexOf(path, (byte) '/', i, n);
      boolean last = slash < 0;
      int end = last ? n : slash;
      byte[] name = Arrays.copyOfRange(path, i, end);
      if (isDot(name)) {
        // stays in pwd
      } else if (isDotDot(name)) {
        pwd = pwd.parseParent;
      } else {
        if (last && Arrays.equals(name, OPAQUE_MARKER)) {
          return new Walk(d, dir, true, false, true);
        }
        if (last && Bytes.startsWith(name, WHITEOUT_PREFIX)) {
          name = Arrays.copyOfRange(name, WHITEOUT_PREFIX.length, name.length);
          whiteout = true;
        }
        checkName(e, path, name);
        if (++depth > limits.maxDepth()) {
          throw new InvalidLayerException(
              "limit.depth",
              "path " + Bytes.display(path) + " at tar offset " + e.headerOffset() + " is deeper than "
                  + limits.maxDepth() + " components");
        }
        Dentry found = pwd.child(name);
        dir = pwd;
        if (found != null) {
          if (!last && !found.inode.isDirectory()) {
            throw new InvalidLayerException(
                "tar.path.through-nondirectory",
                "path " + Bytes.display(path) + " at tar offset " + e.headerOffset() + " goes through "
                    + Bytes.display(name) + ", which is not a directory");
          }
          d = found;
          existing = true;
          pwd = found.inode;
        } else if (last) {
          if (!create) {
            throw missing(e, path);
          }
          d = new Dentry(name, null);
          existing = false;
        } else {
          if (!create) {
            throw missing(e, path);
          }
          d = new Dentry(name, implicitDirectory(pwd));
          pwd.addChild(d);
          existing = true;
          pwd = d.inode;
        }
      }
      if (last) {
        break;
      }
      i = slash + 1;
    }
    return new Walk(d, dir, existing, whiteout, false);
  }

  /** A directory created because a path goes through it before (or without) its own entry. */
  private static Inode implicitDirectory(Inode parent) {
    Inode dir = new Inode(S_IFDIR | 0755 | (parent.mode & 0022));
    dir.parseParent = parent;
    dir.uid = parent.uid;
    dir.gid = parent.gid;
    dir.mtime = parent.mtime;
    dir.mtimeNsec = parent.mtimeNsec;
    return dir;
  }

  /**
   * Drops an inode from its name, as mkfs's tarerofs_remove_inode does: one link fewer, and for a
   * directory its whole subtree goes too (dentries inside lose their inode). Iterative, so deep
   * trees cannot overflow the stack.
   */
  private static void detach(Inode inode) {
    Deque<Inode> pending = new ArrayDeque<>();
    pending.push(inode);
    while (!pending.isEmpty()) {
      Inode x = pending.pop();
      x.linkCount--;
      if (x.isDirectory()) {
        for (Dentry child : x.children.values()) {
          // mkfs does not descend into children literally named "." or ".."
          if (child.inode != null && !isDot(child.name) && !isDotDot(child.name)) {
            pending.push(child.inode);
          }
          child.inode = null;
        }
      }
    }
  }

  private static void requireNoData(TarEntry e, String what) throws InvalidLayerException {
    if (e.size() > 0) {
      throw new InvalidLayerException(
          "tar.nonregular.data",
          what + " " + e.displayPath() + " at tar offset " + e.headerOffset() + " carries "
              + e.size() + " data bytes");
    }
  }

  private static void checkName(TarEntry e, byte[] path, byte[] name) throws InvalidLayerException {
    if (name.length > NAME_MAX) {
      throw new InvalidLayerException(
          "tar.name.too-long",
          "path " + Bytes.display(path) + " at tar offset " + e.headerOffset() + " has a "
              + name.length + "-byte component (EROFS allows " + NAME_MAX + ")");
    }
    if (name.length == 0) {
      throw new InvalidLayerException(
          "tar.name.invalid",
          "path " + Bytes.display(path) + " at tar offset " + e.headerOffset() + " is a whiteout of an empty name");
    }
  }

  private static InvalidLayerException missing(TarEntry e, byte[] target) {
    return new InvalidLayerException(
        "tar.hardlink.missing",
        "hard link " + e.displayPath() + " at tar offset " + e.headerOffset() + " targets "
            + Bytes.display(target) + ", which does not exist yet");
  }

  private static int fileType(byte typeflag) {
    return switch (typeflag) {
      case '2' -> S_IFLNK;
      case '3' -> S_IFCHR;
      case '4' -> S_IFBLK;
      case '5' -> S_IFDIR;
      case '6' -> S_IFIFO;
      default -> S_IFREG; // '0', '7' and the hard link '1'
    };
  }

  static boolean isDot(byte[] name) {
    return name.length == 1 && name[0] == '.';
  }

  static boolean isDotDot(byte[] name) {
    return name.length == 2 && name[0] == '.' && name[1] == '.';
  }
}

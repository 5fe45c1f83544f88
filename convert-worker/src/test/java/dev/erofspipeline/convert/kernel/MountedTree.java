package dev.erofspipeline.convert.kernel;

import static org.junit.jupiter.api.Assertions.fail;

import dev.erofspipeline.convert.GoldenCases;
import dev.erofspipeline.convert.Processes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Assumptions;

/**
 * A tree as the kernel shows it once mounted: per path (relative to the mount point, "" for the
 * root) the stat fields and the xattrs. The kernel tests' one way of reading and comparing mounted
 * trees, and of mounting images.
 *
 * @param nodes by relative path, in walk order
 * @param xattrs by relative path (paths without xattrs may be missing)
 */
record MountedTree(Map<String, MountedTree.Node> nodes, Map<String, Map<String, byte[]>> xattrs) {

  /** One path's stat fields; {@code path} is where it is mounted now. */
  record Node(
      char type, int perm, long uid, long gid, long mtime, int nsec, long size, long ino,
      int nlink, long rdev, Path path) {}

  /** Needs root, loop devices and UTF-8 file names: fails when {@code CI} is set, else skips. */
  static void requireKernelMounts(Path tmp) throws Exception {
    String why = null;
    String jnu = System.getProperty("sun.jnu.encoding", "");
    if (!jnu.equalsIgnoreCase("UTF-8")) {
      // file names of the mounted tree are read through java.nio: non-ASCII names need UTF-8
      fail("file names are decoded as " + jnu + ", not UTF-8: run the tests with LANG=C.UTF-8");
    }
    if (!"0".equals(Processes.exec("id", "-u").out().strip())) {
      why = "not running as root";
    } else if (!Files.exists(Path.of("/dev/loop-control"))) {
      why = "no /dev/loop-control (loop devices unavailable)";
    } else {
      // probe with a golden tar index
      GoldenCases.Case c = GoldenCases.all().get(0);
      Path probe = tmp.resolve("probe.img");
      try (OutputStream o = Files.newOutputStream(probe)) {
        o.write(Files.readAllBytes(c.erofs()));
        o.write(Files.readAllBytes(c.tar()));
      }
      Path mnt = Files.createDirectories(tmp.resolve("probe"));
      Processes.Result r = mount(probe, mnt);
      if (r.code() != 0) {
        why = "cannot mount an EROFS image over a loop device: " + r.out().strip();
      } else {
        Processes.exec("umount", mnt.toString());
      }
    }
    if (why != null) {
      if (System.getenv("CI") != null) {
        fail("kernel mount test cannot run in CI: " + why);
      }
      Assumptions.abort("kernel mount test skipped (set CI to make this a failure): " + why);
    }
  }

  static Processes.Result mount(Path image, Path mnt) throws IOException, InterruptedException {
    return Processes.exec("mount", "-t", "erofs", "-o", "loop,ro", image.toString(), mnt.toString());
  }

  /** What to do with a mounted tree. */
  interface WhileMounted {
    void run(Path mnt) throws Exception;
  }

  /**
   * Mounts {@code image} at {@code mnt}, runs {@code action}, unmounts; a failed mount or unmount is
   * one line in {@code problems}. Returns whether the image could be mounted.
   */
  static boolean withMounted(Path image, Path mnt, String name, List<String> problems, WhileMounted action)
      throws Exception {
    Files.createDirectories(mnt);
    Processes.Result m = mount(image, mnt);
    if (m.code() != 0) {
      problems.add(name + ": mount failed: " + m.out().strip());
      return false;
    }
    try {
      action.run(mnt);
    } finally {
      Processes.Result u = Processes.exec("umount", mnt.toString());
      if (u.code() != 0) {
        problems.add(name + ": umount failed: " + u.out().strip());
      }
    }
    return true;
  }

  /** Keeps at most 20 lines of problems added since {@code before}, and a count of the rest. */
  static void capProblems(String name, List<String> problems, int before) {
    if (problems.size() - before > 20) {
      List<String> mine = new ArrayList<>(problems.subList(before, before + 20));
      mine.add(name + ": ... " + (problems.size() - before - 20) + " more");
      problems.subList(before, problems.size()).clear();
      problems.addAll(mine);
    }
  }

  /** Reads the mounted tree at {@code mnt}: a walk for the stat fields, one getfattr for xattrs. */
  static MountedTree read(Path mnt) throws Exception {
    Map<String, Node> nodes = new LinkedHashMap<>();
    Files.walkFileTree(
        mnt,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
            visit(dir);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            visit(file);
            return FileVisitResult.CONTINUE;
          }

          private void visit(Path p) throws IOException {
            Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            char type =
                switch (mode & 0170000) {
                  case 0040000 -> 'd';
                  case 0100000 -> 'f';
                  case 0120000 -> 'l';
                  case 0020000 -> 'c';
                  case 0060000 -> 'b';
                  case 0010000 -> 'p';
                  default -> '?';
                };
            Instant i = ((FileTime) a.get("lastModifiedTime")).toInstant();
            nodes.put(
                mnt.relativize(p).toString(),
                new Node(type, mode & 07777, ((Integer) a.get("uid")) & 0xffffffffL,
                    ((Integer) a.get("gid")) & 0xffffffffL, i.getEpochSecond(), i.getNano(),
                    (Long) a.get("size"), (Long) a.get("ino"), (Integer) a.get("nlink"),
                    (Long) a.get("rdev"), p));
          }
        });
    return new MountedTree(nodes, getfattr(mnt));
  }

  Map<String, byte[]> xattrsOf(String path) {
    return xattrs.getOrDefault(path, Map.of());
  }

  /**
   * Adds to {@code problems} every difference of {@code got} from {@code want}, both mounted now:
   * paths, stat fields, contents, symlink targets, xattrs, and which paths share an inode. Inode
   * numbers may differ between images, and so may directory sizes: they are the length of the
   * directory's dirent blocks, which depends on the block size (512 or 4096).
   */
  static void compare(String name, MountedTree want, MountedTree got, List<String> problems)
      throws IOException {
    TreeSet<String> missing = new TreeSet<>(want.nodes.keySet());
    missing.removeAll(got.nodes.keySet());
    TreeSet<String> extra = new TreeSet<>(got.nodes.keySet());
    extra.removeAll(want.nodes.keySet());
    missing.forEach(p -> problems.add(name + ": missing /" + p));
    extra.forEach(p -> problems.add(name + ": unexpected /" + p));
    Map<String, String> wantGroups = linkGroups(want);
    Map<String, String> gotGroups = linkGroups(got);
    for (Map.Entry<String, Node> e : want.nodes.entrySet()) {
      Node w = e.getValue();
      Node g = got.nodes.get(e.getKey());
      if (g == null) {
        continue;
      }
      String at = name + ": /" + e.getKey() + ": ";
      Node wantFields = comparable(w);
      Node gotFields = comparable(g);
      if (!wantFields.equals(gotFields)) {
        problems.add(at + gotFields + ", want " + wantFields);
        continue;
      }
      if (w.type == 'f' && !Arrays.equals(Files.readAllBytes(w.path), Files.readAllBytes(g.path))) {
        problems.add(at + "content differs");
      }
      if (w.type == 'l' && !Files.readSymbolicLink(w.path).equals(Files.readSymbolicLink(g.path))) {
        problems.add(at + "symlink target differs");
      }
      if (!sameXattrs(want.xattrsOf(e.getKey()), got.xattrsOf(e.getKey()))) {
        problems.add(at + "xattrs " + show(got.xattrsOf(e.getKey())) + ", want " + show(want.xattrsOf(e.getKey())));
      }
      if (!wantGroups.get(e.getKey()).equals(gotGroups.get(e.getKey()))) {
        problems.add(at + "shares its inode with /" + gotGroups.get(e.getKey()) + ", want /" + wantGroups.get(e.getKey()));
      }
    }
  }

  /** The fields two images of one layer must agree on. */
  private static Node comparable(Node n) {
    long size = n.type == 'd' ? 0 : n.size;
    return new Node(n.type, n.perm, n.uid, n.gid, n.mtime, n.nsec, size, 0, n.nlink, n.rdev, null);
  }

  /** Each path's hard-link group, named by the group's first path in sorted order. */
  private static Map<String, String> linkGroups(MountedTree t) {
    Map<Long, String> first = new HashMap<>();
    new TreeMap<>(t.nodes).forEach((p, n) -> first.merge(n.ino, p, (a, b) -> a.compareTo(b) <= 0 ? a : b));
    Map<String, String> groups = new HashMap<>();
    t.nodes.forEach((p, n) -> groups.put(p, first.get(n.ino)));
    return groups;
  }

  static boolean sameXattrs(Map<String, byte[]> a, Map<String, byte[]> b) {
    if (!a.keySet().equals(b.keySet())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : a.entrySet()) {
      if (!Arrays.equals(e.getValue(), b.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  static String show(Map<String, byte[]> x) {
    Map<String, String> s = new TreeMap<>();
    x.forEach((k, v) -> s.put(k, HexFormat.of().formatHex(v)));
    return s.toString();
  }

  /** Every xattr of the mounted tree, by relative path, from one {@code getfattr -R} run. */
  private static Map<String, Map<String, byte[]>> getfattr(Path mnt) throws Exception {
    Processes.Result r = Processes.exec(
        "getfattr", "-R", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", mnt.toString());
    Map<String, Map<String, byte[]>> out = new HashMap<>();
    String prefix = mnt.toString();
    Map<String, byte[]> cur = null;
    for (String line : r.out().split("\n")) {
      if (line.startsWith("# file: ")) {
        String path = unescape(line.substring("# file: ".length()));
        String rel = path.equals(prefix) ? "" : path.substring(prefix.length() + 1);
        cur = out.computeIfAbsent(rel, k -> new HashMap<>());
      } else if (!line.isEmpty() && cur != null) {
        int eq = line.indexOf('=');
        String k = eq < 0 ? line : line.substring(0, eq);
        String v = eq < 0 ? "" : line.substring(eq + 1);
        byte[] value;
        if (v.startsWith("0x")) {
          value = HexFormat.of().parseHex(v.substring(2));
        } else if (v.isEmpty() || v.equals("\"\"")) {
          value = new byte[0];
        } else {
          throw new IllegalStateException("getfattr value not in hex: " + line);
        }
        cur.put(unescape(k), value);
      }
    }
    return out;
  }

  /** getfattr writes unprintable bytes of names as backslash and three octal digits. */
  private static String unescape(String s) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    byte[] raw = s.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < raw.length; i++) {
      if (raw[i] == '\\' && isOctal(raw, i + 1)) {
        b.write(Integer.parseInt(new String(raw, i + 1, 3, StandardCharsets.US_ASCII), 8));
        i += 3;
      } else if (raw[i] == '\\' && i + 1 < raw.length && raw[i + 1] == '\\') {
        b.write('\\');
        i++;
      } else {
        b.write(raw[i]);
      }
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  private static boolean isOctal(byte[] raw, int i) {
    if (i + 3 > raw.length) {
      return false;
    }
    for (int k = i; k < i + 3; k++) {
      if (raw[k] < '0' || raw[k] > '7') {
        return false;
      }
    }
    return true;
  }
}

package dev.erofspipeline.convert.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.GoldenCases;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.Processes;
import dev.erofspipeline.testkit.HostileCorpus;
import java.io.ByteArrayInputStream;
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
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mounts {@code index || tar} with the kernel's EROFS driver (loop device, read-only) and compares
 * the mounted tree with what the tar describes, computed by {@link TarModel} (a tar reader of its
 * own, not the converter's parser). Cases: every golden layer and 200 tars from {@code
 * gen_tars.py}. Needs root and loop devices: without them the test fails when {@code CI} is set and
 * is skipped otherwise.
 */
class KernelMountTest {

  private static final int RANDOM_TARS = 200;
  private static final int FIRST_SEED = 1000;
  private static final LayerConverter CONVERTER =
      new LayerConverter(ConversionLimits.DEFAULT, LayerConverter.Options.DEFAULT.withParallel(false));

  @TempDir static Path tmp;

  @BeforeAll
  static void needsRootAndLoopDevices() throws Exception {
    String why = null;
    String jnu = System.getProperty("sun.jnu.encoding", "");
    if (!jnu.equalsIgnoreCase("UTF-8")) {
      // file names of the mounted tree are read through java.nio: non-ASCII names need UTF-8
      fail("file names are decoded as " + jnu + ", not UTF-8: run the tests with LANG=C.UTF-8");
    }
    if (!"0".equals(exec("id", "-u").out().strip())) {
      why = "not running as root";
    } else if (!Files.exists(Path.of("/dev/loop-control"))) {
      why = "no /dev/loop-control (loop devices unavailable)";
    } else {
      // probe with a golden image
      GoldenCases.Case c = GoldenCases.all().get(0);
      Path data = tmp.resolve("probe.img");
      try (OutputStream o = Files.newOutputStream(data)) {
        o.write(Files.readAllBytes(c.erofs()));
        o.write(Files.readAllBytes(c.tar()));
      }
      Path mnt = Files.createDirectories(tmp.resolve("probe"));
      Processes.Result r = exec("mount", "-t", "erofs", "-o", "loop,ro", data.toString(), mnt.toString());
      if (r.code() != 0) {
        why = "cannot mount an EROFS image over a loop device: " + r.out().strip();
      } else {
        exec("umount", mnt.toString());
      }
    }
    if (why != null) {
      if (System.getenv("CI") != null) {
        fail("kernel mount test cannot run in CI: " + why);
      }
      Assumptions.abort("kernel mount test skipped (set CI to make this a failure): " + why);
    }
  }

  @Test
  void goldenLayersMountAsTheirTarsDescribe() throws Exception {
    List<String> problems = new ArrayList<>();
    for (GoldenCases.Case c : GoldenCases.all()) {
      byte[] tar = Files.readAllBytes(c.tar());
      check(c.name(), tar, c.layerDigest(), problems);
    }
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }

  @Test
  void randomTarsMountAsTheyDescribe() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("gen"));
    String gen = GoldenCases.sharedDir().resolve("tools/gen_tars.py").toString();
    Processes.Result g = exec("python3", gen, "--seed", "" + FIRST_SEED, "--count", "" + RANDOM_TARS, "--out", dir.toString());
    assertEquals(0, g.code(), g.out());
    List<String> problems = new ArrayList<>();
    for (int s = FIRST_SEED; s < FIRST_SEED + RANDOM_TARS; s++) {
      Path t = dir.resolve("rand-" + s + ".tar");
      byte[] tar = Files.readAllBytes(t);
      String d = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tar));
      check("gen_tars --seed " + s, tar, d, problems);
      Files.delete(t);
    }
    assertTrue(problems.isEmpty(), problems.size() + " problems:\n" + String.join("\n", problems));
  }

  @Test
  void acceptedHostileCasesMountAsTheirTarsDescribe() throws Exception {
    List<String> problems = new ArrayList<>();
    int checked = 0;
    for (HostileCorpus.Case c : HostileCorpus.layers()) {
      if (c.accepted()) {
        check("hostile " + c.name(), c.tar(), c.layerDigest(), problems);
        checked++;
      }
    }
    assertTrue(checked >= 10, checked + " accepted cases");
    assertTrue(problems.isEmpty(), problems.size() + " problems:\n" + String.join("\n", problems));
  }

  /** Converts, mounts, compares; adds one line per difference to {@code problems}. */
  private static void check(String name, byte[] tar, String d, List<String> problems)
      throws Exception {
    ByteArrayOutputStream index = new ByteArrayOutputStream();
    try {
      ConversionResult r =
          CONVERTER.convert(new ByteArrayInputStream(tar), d, false, null, index, OutputStream.nullOutputStream());
      assertEquals(index.size(), r.indexSize());
    } catch (InvalidLayerException e) {
      problems.add(name + ": conversion failed: " + e.reason() + ": " + e.getMessage());
      return;
    }
    Path data = tmp.resolve("data.img");
    try (OutputStream o = Files.newOutputStream(data)) {
      index.writeTo(o);
      o.write(tar);
    }
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    Processes.Result m = exec("mount", "-t", "erofs", "-o", "loop,ro", data.toString(), mnt.toString());
    if (m.code() != 0) {
      problems.add(name + ": mount failed: " + m.out().strip());
      return;
    }
    int before = problems.size();
    try {
      compare(name, TarModel.of(tar), mnt, tar, problems);
    } finally {
      Processes.Result u = exec("umount", mnt.toString());
      if (u.code() != 0) {
        problems.add(name + ": umount failed: " + u.out().strip());
      }
      Files.delete(data);
    }
    if (problems.size() - before > 20) {
      List<String> mine = new ArrayList<>(problems.subList(before, before + 20));
      mine.add(name + ": ... " + (problems.size() - before - 20) + " more");
      problems.subList(before, problems.size()).clear();
      problems.addAll(mine);
    }
  }

  private record Seen(
      char type, int perm, long uid, long gid, long mtime, int nsec, long size, long ino,
      int nlink, long rdev, Path path) {}

  private static void compare(
      String name, TarModel model, Path mnt, byte[] tar, List<String> problems) throws Exception {
    Map<String, TarModel.Expected> want = model.expected();
    Map<String, Seen> seen = new LinkedHashMap<>();
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
            FileTime t = (FileTime) a.get("lastModifiedTime");
            java.time.Instant i = t.toInstant();
            String rel = mnt.relativize(p).toString();
            seen.put(
                rel,
                new Seen(type, mode & 07777, ((Integer) a.get("uid")) & 0xffffffffL,
                    ((Integer) a.get("gid")) & 0xffffffffL, i.getEpochSecond(), i.getNano(),
                    (Long) a.get("size"), (Long) a.get("ino"), (Integer) a.get("nlink"),
                    (Long) a.get("rdev"), p));
          }
        });
    Map<String, Map<String, byte[]>> xattrs = getfattr(mnt);

    TreeSet<String> missing = new TreeSet<>(want.keySet());
    missing.removeAll(seen.keySet());
    TreeSet<String> extra = new TreeSet<>(seen.keySet());
    extra.removeAll(want.keySet());
    for (String p : missing) {
      problems.add(name + ": missing /" + p);
    }
    for (String p : extra) {
      problems.add(name + ": unexpected /" + p);
    }
    Map<TarModel.Node, Long> inoOfNode = new IdentityHashMap<>();
    Map<Long, TarModel.Node> nodeOfIno = new HashMap<>();
    for (TarModel.Expected e : want.values()) {
      Seen s = seen.get(e.path());
      if (s == null) {
        continue;
      }
      String at = name + ": /" + e.path() + ": ";
      if (s.type() != e.type()) {
        problems.add(at + "type " + s.type() + ", want " + e.type());
        continue;
      }
      if (s.perm() != e.perm()) {
        problems.add(at + "mode " + Integer.toOctalString(s.perm()) + ", want " + Integer.toOctalString(e.perm()));
      }
      if (s.uid() != e.uid() || s.gid() != e.gid()) {
        problems.add(at + "owner " + s.uid() + ":" + s.gid() + ", want " + e.uid() + ":" + e.gid());
      }
      if (s.mtime() != e.mtime() || s.nsec() != e.nsec()) {
        problems.add(at + "mtime " + s.mtime() + "." + s.nsec() + ", want " + e.mtime() + "." + e.nsec());
      }
      if (s.nlink() != e.nlink()) {
        problems.add(at + "nlink " + s.nlink() + ", want " + e.nlink());
      }
      switch (e.type()) {
        case 'f' -> {
          if (s.size() != e.size()) {
            problems.add(at + "size " + s.size() + ", want " + e.size());
          } else {
            byte[] got = Files.readAllBytes(s.path());
            if (!Arrays.equals(got, 0, got.length, tar, e.dataOffset(), e.dataOffset() + (int) e.size())) {
              problems.add(at + "content differs");
            }
          }
        }
        case 'l' -> {
          byte[] got = Files.readSymbolicLink(s.path()).toString().getBytes(StandardCharsets.UTF_8);
          if (!Arrays.equals(got, e.link())) {
            problems.add(at + "symlink target differs (" + got.length + " bytes, want " + e.link().length + ")");
          }
        }
        case 'c', 'b' -> {
          // Linux dev_t encoding (new_encode_dev / glibc makedev)
          long rdev = s.rdev();
          long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
          long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
          if (major != e.major() || minor != e.minor()) {
            problems.add(at + "device " + major + ":" + minor + ", want " + e.major() + ":" + e.minor());
          }
        }
        default -> {}
      }
      Map<String, byte[]> gotX = xattrs.getOrDefault(e.path(), Map.of());
      if (!sameXattrs(gotX, e.xattrs())) {
        problems.add(at + "xattrs " + show(gotX) + ", want " + show(e.xattrs()));
      }
      // hard-link groups: one inode number per tar inode, and the other way round
      Long prev = inoOfNode.putIfAbsent(e.node(), s.ino());
      if (prev != null && prev != s.ino()) {
        problems.add(at + "inode " + s.ino() + " is not that of its hard-link group (" + prev + ")");
      }
      TarModel.Node other = nodeOfIno.putIfAbsent(s.ino(), e.node());
      if (other != null && other != e.node()) {
        problems.add(at + "shares inode " + s.ino() + " with an unrelated path");
      }
    }
  }

  private static boolean sameXattrs(Map<String, byte[]> a, Map<String, byte[]> b) {
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

  private static String show(Map<String, byte[]> x) {
    Map<String, String> s = new java.util.TreeMap<>();
    x.forEach((k, v) -> s.put(k, HexFormat.of().formatHex(v)));
    return s.toString();
  }

  /** Every xattr of the mounted tree, by relative path, from one {@code getfattr -R} run. */
  private static Map<String, Map<String, byte[]>> getfattr(Path mnt) throws Exception {
    Processes.Result r = exec("getfattr", "-R", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", mnt.toString());
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

  private static Processes.Result exec(String... cmd) throws IOException, InterruptedException {
    return Processes.exec(cmd);
  }
}

package dev.erofspipeline.convert.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.LayerConverter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
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
    MountedTree.requireKernelMounts(tmp);
  }

  @Test
  void goldenLayersMountAsTheirTarsDescribe() throws Exception {
    KernelCases.golden(KernelMountTest::check);
  }

  @Test
  void randomTarsMountAsTheyDescribe() throws Exception {
    KernelCases.generated(tmp.resolve("gen"), FIRST_SEED, RANDOM_TARS, KernelMountTest::check);
  }

  @Test
  void acceptedHostileCasesMountAsTheirTarsDescribe() throws Exception {
    KernelCases.acceptedHostile(KernelMountTest::check);
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
    int before = problems.size();
    MountedTree.withMounted(data, tmp.resolve("mnt"), name, problems,
        mnt -> compare(name, TarModel.of(tar), MountedTree.read(mnt), tar, problems));
    Files.delete(data);
    MountedTree.capProblems(name, problems, before);
  }

  private static void compare(
      String name, TarModel model, MountedTree tree, byte[] tar, List<String> problems) throws Exception {
    Map<String, TarModel.Expected> want = model.expected();
    Map<String, MountedTree.Node> seen = tree.nodes();
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
      MountedTree.Node s = seen.get(e.path());
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
      Map<String, byte[]> gotX = tree.xattrsOf(e.path());
      if (!MountedTree.sameXattrs(gotX, e.xattrs())) {
        problems.add(at + "xattrs " + MountedTree.show(gotX) + ", want " + MountedTree.show(e.xattrs()));
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
}

package dev.erofspipeline.convert.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.NativeConversionResult;
import dev.erofspipeline.convert.NativeLayerConverter;
import dev.erofspipeline.convert.Processes;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native profile under the kernel: every golden layer, {@value #RANDOM_TARS} tars from {@code
 * gen_tars.py} and the hostile corpus's accepted layers converted by both profiles, both images mounted ({@code mount -t erofs -o
 * loop,ro}; the native blob as written, tree appended) and the two trees compared with {@link
 * MountedTree#compare} (the tar index's tree is checked against the tars by {@link
 * KernelMountTest}). The golden images also go through erofs-utils 1.5: {@code fsck.erofs
 * --extract} (every file's data read back) and {@code dump.erofs}. Needs root and loop devices
 * like {@link KernelMountTest}.
 */
class NativeKernelMountTest {
  private static final int RANDOM_TARS = 300;
  private static final int FIRST_SEED = 5000;
  private static final LayerConverter.Options SEQUENTIAL = LayerConverter.Options.DEFAULT.withParallel(false);
  private static final LayerConverter TAR_INDEX = new LayerConverter(ConversionLimits.DEFAULT, SEQUENTIAL);
  private static final NativeLayerConverter NATIVE = new NativeLayerConverter(ConversionLimits.DEFAULT, SEQUENTIAL);

  @TempDir static Path tmp;

  @BeforeAll
  static void needsRootAndLoopDevices() throws Exception {
    MountedTree.requireKernelMounts(tmp);
  }

  @Test
  void goldenLayersMountAsTheirTarIndexAndPassFsck() throws Exception {
    KernelCases.golden((name, tar, d, problems) -> check(name, tar, d, true, problems));
  }

  @Test
  void randomTarsMountAsTheirTarIndex() throws Exception {
    KernelCases.generated(tmp.resolve("gen"), FIRST_SEED, RANDOM_TARS,
        (name, tar, d, problems) -> check(name, tar, d, false, problems));
  }

  @Test
  void acceptedHostileCasesMountAsTheirTarIndex() throws Exception {
    KernelCases.acceptedHostile((name, tar, d, problems) -> check(name, tar, d, false, problems));
  }

  /** Converts both ways, mounts both, compares; adds one line per difference to {@code problems}. */
  private static void check(String name, byte[] tar, String d, boolean erofsUtils, List<String> problems)
      throws Exception {
    Path tarIndex = tmp.resolve("tar-index.img");
    Path nativeBlob = tmp.resolve("native.img");
    String tarIndexFailure = null;
    try (OutputStream o = Files.newOutputStream(tarIndex)) {
      TAR_INDEX.convert(new ByteArrayInputStream(tar), d, false, null, o, OutputStream.nullOutputStream());
      o.write(tar);
    } catch (InvalidLayerException e) {
      tarIndexFailure = e.reason();
    }
    NativeConversionResult r;
    try (OutputStream o = Files.newOutputStream(nativeBlob)) {
      r = NATIVE.convert(new ByteArrayInputStream(tar), d, false, null, o);
    } catch (InvalidLayerException e) {
      if (!e.reason().equals(tarIndexFailure)) {
        problems.add(name + ": native conversion failed (" + e.reason() + ": " + e.getMessage()
            + "), the tar index " + (tarIndexFailure == null ? "did not" : "with " + tarIndexFailure));
      }
      return;
    }
    if (tarIndexFailure != null) {
      problems.add(name + ": the tar index failed (" + tarIndexFailure + "), the native image did not");
      return;
    }
    assertEquals(Files.size(nativeBlob), r.blobSize(), name);
    if (erofsUtils) {
      checkWithErofsUtils(name, nativeBlob, problems);
    }
    int before = problems.size();
    MountedTree.withMounted(tarIndex, tmp.resolve("mnt-tar-index"), name + " (tar index)", problems,
        want -> MountedTree.withMounted(nativeBlob, tmp.resolve("mnt-native"), name + " (native)", problems,
            got -> MountedTree.compare(name, MountedTree.read(want), MountedTree.read(got), problems)));
    MountedTree.capProblems(name, problems, before);
  }

  /** fsck.erofs reads every file back; dump.erofs shows the superblock and lists the root. */
  private static void checkWithErofsUtils(String name, Path image, List<String> problems) throws Exception {
    Processes.Result fsck = Processes.exec("fsck.erofs", "--extract", image.toString());
    if (fsck.code() != 0) {
      problems.add(name + ": fsck.erofs --extract: " + fsck.out().strip());
    }
    Processes.Result sb = Processes.exec("dump.erofs", "-s", image.toString());
    if (sb.code() != 0 || !sb.out().contains("Filesystem UUID")) {
      problems.add(name + ": dump.erofs -s: " + sb.out().strip());
    }
    Processes.Result ls = Processes.exec("dump.erofs", "--ls", "--path=/", image.toString());
    if (ls.code() != 0 || !ls.out().contains("..")) {
      problems.add(name + ": dump.erofs --ls --path=/: " + ls.out().strip());
    }
  }
}

package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.erofs.ErofsImageReader.Dirent;
import dev.erofspipeline.convert.erofs.ErofsImageReader.InodeView;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random archives from {@code <shared>/tools/gen_tars.py} (seeds other than the golden ones).
 * mkfs.erofs 1.9.3 is not available here, so byte identity is the golden test's job; this one
 * reads each image back with an independent reader and checks it against the generator's own
 * model of the resulting tree (paths, types, whiteouts, opaque directories), plus the format's
 * invariants: checksum, dirent order, "." and "..", link counts, chunk indexes that land on the
 * member's data in the tar. Needs python3; skipped (with a reason) without it.
 */
class RandomTarTest {
  private static final String DUMP_MODEL = String.join("\n",
      "import sys",
      "sys.path.insert(0, sys.argv[1])",
      "import gen_tars",
      "g = gen_tars.Generator(int(sys.argv[2])).generate()",
      "g.write(sys.argv[3])",
      "for path, kind in g.tree.items():",
      "    print(kind + '\\t' + '/'.join(path).encode('utf-8', 'surrogateescape').hex())");

  /** Seeds as "FIRST-LAST"; widen with -Derofs.random.seeds=1-2000 for a longer fuzz run. */
  static IntStream seeds() {
    String[] range = System.getProperty("erofs.random.seeds", "1001-1040").split("-");
    return IntStream.rangeClosed(Integer.parseInt(range[0]), Integer.parseInt(range[1]));
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void imageMatchesTheGeneratorsTree(int seed, @TempDir Path tmp) throws Exception {
    Path tools = GoldenTarIndexTest.goldenDir().resolveSibling("tools");
    Path tar = tmp.resolve("rand.tar");
    Map<String, String> model = generate(tools, seed, tar);

    TarIndex index;
    try (InputStream in = Files.newInputStream(tar)) {
      index = TarIndexWriter.write(in, UUID.nameUUIDFromBytes(new byte[] {(byte) seed}),
          ConversionLimits.DEFAULT);
    }
    byte[] tarBytes = Files.readAllBytes(tar);
    byte[] image = index.image();
    ByteBuffer img = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    checkSuperblock(img, image, index, tarBytes.length);

    ErofsImageReader reader = new ErofsImageReader(image);
    Map<String, InodeView> tree = reader.walk();
    Map<String, Character> expected = new TreeMap<>();
    model.forEach((path, kind) -> {
      if (!kind.equals("w") && !kind.equals("o")) {
        expected.put(path, kind.charAt(0));
      }
    });
    Map<String, Character> actual = new TreeMap<>();
    tree.forEach((path, inode) -> actual.put(path, kindOf(inode)));
    assertEquals(expected, actual, "paths and types differ from the generator's model");

    Map<Long, Integer> names = new HashMap<>();
    tree.values().forEach(i -> names.merge(i.nid(), 1, Integer::sum));
    for (Map.Entry<String, InodeView> e : tree.entrySet()) {
      String path = e.getKey();
      InodeView inode = e.getValue();
      if (inode.isDir()) {
        checkDirectory(reader, tree, path, inode);
      } else {
        assertEquals((long) names.get(inode.nid()), inode.nlink(), path + ": nlink");
      }
      if ((inode.mode() & 0170000) == 0100000 && inode.size() > 0) {
        checkChunkIndex(tarBytes, path, inode);
      }
      if (model.get(path) != null && model.get(path).equals("W")) {
        assertEquals(0020000, inode.mode(), path + ": whiteout mode");
        assertEquals(0, inode.iu(), path + ": whiteout rdev");
        assertTrue(tree.get(parent(path)).xattrNames().contains("trusted.overlay.origin"),
            path + ": parent lacks trusted.overlay.origin");
      }
    }
    model.forEach((path, kind) -> {
      if (kind.equals("o")) {
        assertTrue(tree.get(parent(path)).xattrNames().contains("trusted.overlay.opaque"),
            path + ": directory not opaque");
      }
    });
  }

  private static void checkSuperblock(ByteBuffer img, byte[] image, TarIndex index, long tarLength) {
    assertEquals(0, image.length % 512);
    assertEquals(image.length / 512, img.getInt(1024 + 0x24), "blocks_lo");
    assertEquals(image.length / 512, img.getInt(1152 + 68), "uniaddr");
    assertTrue(index.tarBytesUsed() <= tarLength);
    assertEquals((index.tarBytesUsed() + 511) / 512, img.getInt(1152 + 64), "device blocks");
    int stored = img.getInt(1028);
    byte[] copy = image.clone();
    Arrays.fill(copy, 1028, 1032, (byte) 0);
    CRC32C crc = new CRC32C();
    crc.update(copy, 1024, 512);
    assertEquals((int) ~crc.getValue(), stored, "superblock checksum");
  }

  private static void checkDirectory(ErofsImageReader reader, Map<String, InodeView> tree,
      String path, InodeView dir) {
    List<Dirent> dirents = ErofsImageReader.dirents(dir);
    for (int i = 1; i < dirents.size(); i++) {
      byte[] a = dirents.get(i - 1).name().getBytes(StandardCharsets.UTF_8);
      byte[] b = dirents.get(i).name().getBytes(StandardCharsets.UTF_8);
      assertTrue(Arrays.compareUnsigned(a, b) < 0, path + ": dirents out of order");
    }
    long subdirs = 0;
    for (Dirent d : dirents) {
      if (d.name().equals(".")) {
        assertEquals(dir.nid(), d.nid(), path + ": '.'");
      } else if (d.name().equals("..")) {
        long parentNid = path.isEmpty() ? dir.nid() : tree.get(parent(path)).nid();
        assertEquals(parentNid, d.nid(), path + ": '..'");
      } else {
        InodeView child = reader.inode(d.nid());
        subdirs += child.isDir() ? 1 : 0;
        assertEquals(fileType(child.mode()), d.fileType(), path + "/" + d.name() + ": file type");
      }
    }
    assertEquals(2 + subdirs, dir.nlink(), path + ": nlink");
  }

  /** The chunk must start right after a ustar header of a regular member of the same size. */
  private static void checkChunkIndex(byte[] tar, String path, InodeView file) {
    assertEquals(4, file.layout(), path + ": layout");
    int header = (int) (file.chunkStartBlock() * 512 - 512);
    assertTrue(header >= 0 && header + 512 + file.size() <= tar.length, path + ": chunk outside the tar");
    assertEquals("ustar", new String(tar, header + 257, 5, StandardCharsets.US_ASCII), path + ": no header");
    byte type = tar[header + 156];
    assertTrue(type == '0' || type == '7', path + ": member type " + (char) type);
    String sizeField = new String(tar, header + 124, 11, StandardCharsets.US_ASCII);
    assertEquals(file.size(), Long.parseLong(sizeField.trim(), 8), path + ": size in tar header");
  }

  private static Map<String, String> generate(Path tools, int seed, Path tar)
      throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder("python3", "-c", DUMP_MODEL, tools.toString(), Integer.toString(seed),
          tar.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    } catch (IOException e) {
      assumeTrue(false, "python3 is not installed: " + e.getMessage());
      throw e;
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "gen_tars.py failed");
    Map<String, String> model = new HashMap<>();
    for (String line : out.split("\n")) {
      if (!line.isEmpty()) {
        String[] f = line.split("\t", -1);
        model.put(new String(HexFormat.of().parseHex(f[1]), StandardCharsets.UTF_8), f[0]);
      }
    }
    return model;
  }

  private static char kindOf(InodeView inode) {
    int mode = inode.mode();
    return switch (mode & 0170000) {
      case 0040000 -> 'd';
      case 0100000 -> 'f';
      case 0120000 -> 'l';
      case 0020000 -> mode == 0020000 && inode.iu() == 0 ? 'W' : 'c';
      case 0060000 -> 'b';
      case 0010000 -> 'p';
      default -> '?';
    };
  }

  private static int fileType(int mode) {
    return switch (mode & 0170000) {
      case 0100000 -> 1;
      case 0040000 -> 2;
      case 0020000 -> 3;
      case 0060000 -> 4;
      case 0010000 -> 5;
      case 0140000 -> 6;
      case 0120000 -> 7;
      default -> 0;
    };
  }

  private static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }
}

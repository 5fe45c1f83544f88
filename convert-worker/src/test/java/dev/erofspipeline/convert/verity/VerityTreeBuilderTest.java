package dev.erofspipeline.convert.verity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.GoldenCases;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Golden files read from shared/golden in place (see {@link GoldenCases}). */
class VerityTreeBuilderTest {

  @TempDir Path tmp;

  static List<GoldenCases.Case> cases() {
    return GoldenCases.all();
  }

  private static VerityTreeBuilder.Result build(
      VerityTreeBuilder b, byte[] head, byte[] tail, UUID uuid, ByteArrayOutputStream out, long seed)
      throws IOException {
    // feed the tail in random, unaligned pieces
    Random r = new Random(seed);
    int off = 0;
    while (off < tail.length) {
      int n = Math.min(tail.length - off, 1 + r.nextInt(3000));
      b.update(tail, off, n);
      off += n;
    }
    return b.finish(head, uuid, out);
  }

  @ParameterizedTest
  @MethodSource("cases")
  void indexThenTarGivesTheGoldenTree(GoldenCases.Case c) throws IOException {
    byte[] head = Files.readAllBytes(c.erofs());
    byte[] tail = Files.readAllBytes(c.tar());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VerityTreeBuilder.Result res;
    try (VerityTreeBuilder b = VerityTreeBuilder.contract()) {
      res = build(b, head, tail, UUID.fromString(c.verityUuid()), out, c.name().hashCode());
      assertFalse(b.spilled());
    }
    assertEquals(c.rootHash(), res.rootHashHex());
    assertEquals(c.dataBlocks(), res.dataBlocks());
    assertEquals(c.veritySize(), res.hashFileSize());
    assertArrayEquals(Files.readAllBytes(c.verity()), out.toByteArray());
  }

  @Test
  void spillingToAFileGivesTheSameBytes() throws IOException {
    for (String name : new String[] {"deb-tzdata", "edge-bigdirs", "rand-3"}) {
      GoldenCases.Case c =
          GoldenCases.all().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
      byte[] head = Files.readAllBytes(c.erofs());
      byte[] tail = Files.readAllBytes(c.tar());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      VerityTreeBuilder.Result res;
      // 100 bytes: 3 digests in memory, the rest of every level in temp files
      try (VerityTreeBuilder b = VerityTreeBuilder.contract(100, tmp)) {
        res = build(b, head, tail, UUID.fromString(c.verityUuid()), out, 7);
        assertTrue(b.spilled(), name);
        assertTrue(Files.list(tmp).count() > 0);
      }
      assertEquals(c.rootHash(), res.rootHashHex(), name);
      assertArrayEquals(Files.readAllBytes(c.verity()), out.toByteArray(), name);
      assertEquals(0, Files.list(tmp).count(), "spill files are deleted on close");
    }
  }

  @Test
  void matchesVeritysetupForOtherShapes() throws Exception {
    // 1 block, 16 blocks (one level), 17 blocks, 4096-byte hash blocks, sha1, empty salt
    Random r = new Random(3);
    int[][] shapes = {{1, 512, 512}, {16, 512, 512}, {17, 512, 512}, {300, 512, 4096}, {257, 4096, 4096}};
    String[] algs = {"sha256", "sha1"};
    for (int[] s : shapes) {
      for (String alg : algs) {
        for (byte[] salt : new byte[][] {new byte[0], new byte[32], {1, 2, 3}}) {
          byte[] data = new byte[s[0] * s[1]];
          r.nextBytes(data);
          int headBlocks = s[0] / 3;
          byte[] head = java.util.Arrays.copyOf(data, headBlocks * s[1]);
          byte[] tail = java.util.Arrays.copyOfRange(data, head.length, data.length);
          UUID uuid = UUID.randomUUID();
          ByteArrayOutputStream out = new ByteArrayOutputStream();
          VerityTreeBuilder.Result res;
          try (VerityTreeBuilder b = new VerityTreeBuilder(alg, s[1], s[2], salt, 1 << 20, tmp)) {
            res = build(b, head, tail, uuid, out, 1);
          }
          Path dataFile = tmp.resolve("data");
          Path hashFile = tmp.resolve("hash");
          Files.write(dataFile, data);
          Files.deleteIfExists(hashFile);
          Files.createFile(hashFile);
          String saltHex = salt.length == 0 ? "-" : java.util.HexFormat.of().formatHex(salt);
          String outText =
              VeritySetup.run(
                  "format", dataFile.toString(), hashFile.toString(), "--hash=" + alg, "--format=1",
                  "--data-block-size=" + s[1], "--hash-block-size=" + s[2], "--salt=" + saltHex,
                  "--uuid=" + uuid);
          String what = alg + " " + java.util.Arrays.toString(s) + " salt " + saltHex;
          assertTrue(outText.contains(res.rootHashHex()), what + "\n" + outText);
          assertArrayEquals(Files.readAllBytes(hashFile), out.toByteArray(), what);
        }
      }
    }
  }
}

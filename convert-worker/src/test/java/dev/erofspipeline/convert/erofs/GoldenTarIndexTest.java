package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.erofspipeline.convert.ConversionLimits;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Byte identity with mkfs.erofs 1.9.3 on every reference layer. The golden files are read in place
 * from {@code <shared>/golden}, where {@code <shared>} is the system property {@code
 * erofs.shared.dir} (the parent pom sets it to {@code <repo>/../shared}) or else {@code
 * /work/shared}; a missing golden set fails the test rather than skipping it.
 */
class GoldenTarIndexTest {
  static Path goldenDir() {
    Path shared = Path.of(System.getProperty("erofs.shared.dir", "/work/shared"));
    Path golden = shared.resolve("golden");
    assertTrue(Files.isRegularFile(golden.resolve("manifest.tsv")),
        "golden set missing: " + golden.toAbsolutePath() + "/manifest.tsv (set -Derofs.shared.dir)");
    return golden;
  }

  static Stream<Arguments> cases() throws IOException {
    List<String> lines = Files.readAllLines(goldenDir().resolve("manifest.tsv"));
    List<String> header = Arrays.asList(lines.get(0).split("\t"));
    int name = header.indexOf("name");
    int uuid = header.indexOf("erofs_uuid");
    return lines.stream().skip(1).filter(l -> !l.isBlank()).map(l -> l.split("\t"))
        .map(f -> Arguments.of(f[name], UUID.fromString(f[uuid])));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void identicalToMkfs(String name, UUID uuid) throws Exception {
    Path golden = goldenDir();
    byte[] expected = Files.readAllBytes(golden.resolve(name + ".erofs"));
    TarIndex index;
    try (InputStream in = Files.newInputStream(golden.resolve(name + ".tar"))) {
      index = TarIndexWriter.write(in, uuid, ConversionLimits.DEFAULT);
    }
    int diff = Arrays.mismatch(expected, index.image());
    if (diff >= 0) {
      fail(String.format("%s: first differing byte at offset %d (0x%x): expected %s, got %s;"
              + " sizes expected %d, got %d", name, diff, diff, byteAt(expected, diff),
          byteAt(index.image(), diff), expected.length, index.image().length));
    }
    long tarLength = Files.size(golden.resolve(name + ".tar"));
    assertTrue(index.tarBytesUsed() <= tarLength && index.tarBytesUsed() % 512 == 0,
        "tarBytesUsed " + index.tarBytesUsed() + " of " + tarLength);
    assertEquals(
        java.nio.ByteBuffer.wrap(expected).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(1024 + 0x10),
        index.inodeCount());
  }

  private static String byteAt(byte[] b, int i) {
    return i < b.length ? String.format("0x%02x", b[i] & 0xFF) : "end of image";
  }
}

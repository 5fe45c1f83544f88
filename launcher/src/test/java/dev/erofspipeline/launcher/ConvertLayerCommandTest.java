package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code convert-layer} in-process on golden layers read in place from shared/golden. */
class ConvertLayerCommandTest {

  @TempDir Path tmp;

  private static Path golden() {
    String p = System.getProperty("erofs.shared.dir");
    Path dir = Path.of(p != null && !p.isBlank() ? p : "/work/shared").resolve("golden");
    assertTrue(Files.isDirectory(dir), "golden files not found at " + dir);
    return dir;
  }

  /** The manifest line of a case, by column name. */
  private static java.util.Map<String, String> manifest(String name) throws Exception {
    List<String> lines = Files.readAllLines(golden().resolve("manifest.tsv"));
    String[] head = lines.get(0).split("\t");
    for (String l : lines) {
      String[] f = l.split("\t");
      if (f[0].equals(name)) {
        java.util.Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < head.length; i++) {
          m.put(head[i], f[i]);
        }
        return m;
      }
    }
    throw new AssertionError("no case " + name);
  }

  @Test
  void convertsAGoldenTarGzAndPrintsOneJsonObject() throws Exception {
    var m = manifest("gnutar-pax-xattrs");
    Path index = tmp.resolve("out.erofs");
    Path tree = tmp.resolve("out.verity");
    CommandRun r =
        run(
            "convert-layer",
            "--input", golden().resolve("gnutar-pax-xattrs.tar.gz").toString(),
            "--diff-id", m.get("diff_id"),
            "--index-out", index.toString(),
            "--tree-out", tree.toString());
    assertEquals(0, r.exitCode(), r.err());
    assertEquals("", r.err());
    assertEquals(1, r.out().strip().lines().count(), r.out());
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertEquals(
        List.of("layerDigest", "diffId", "rootHash", "erofsUuid", "verityUuid", "indexSize",
            "indexSha256", "treeSize", "treeSha256", "dataBlocks", "salt", "erofsUtilsVersion"),
        iterable(j.fieldNames()));
    assertEquals(m.get("layer_digest"), j.get("layerDigest").asText());
    assertEquals(m.get("diff_id"), j.get("diffId").asText());
    assertEquals(m.get("root_hash"), j.get("rootHash").asText());
    assertEquals(m.get("erofs_uuid"), j.get("erofsUuid").asText());
    assertEquals(m.get("verity_uuid"), j.get("verityUuid").asText());
    assertEquals(Long.parseLong(m.get("index_size")), j.get("indexSize").asLong());
    assertEquals(m.get("index_sha256"), j.get("indexSha256").asText());
    assertEquals(Long.parseLong(m.get("verity_size")), j.get("treeSize").asLong());
    assertEquals(m.get("verity_sha256"), j.get("treeSha256").asText());
    assertEquals(Long.parseLong(m.get("data_blocks")), j.get("dataBlocks").asLong());
    assertEquals("0".repeat(64), j.get("salt").asText());
    assertEquals("1.9.3", j.get("erofsUtilsVersion").asText());
    assertArrayEquals(Files.readAllBytes(golden().resolve("gnutar-pax-xattrs.erofs")), Files.readAllBytes(index));
    assertArrayEquals(Files.readAllBytes(golden().resolve("gnutar-pax-xattrs.verity")), Files.readAllBytes(tree));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(2, s.count(), "no temporary files left");
    }
  }

  @Test
  void aWrongLayerDigestFailsWithOneLineAndNoOutputFiles() throws Exception {
    var other = manifest("rand-2");
    Path index = tmp.resolve("out.erofs");
    Path tree = tmp.resolve("out.verity");
    CommandRun r =
        run(
            "convert-layer",
            "--input", golden().resolve("rand-1.tar.gz").toString(),
            "--layer-digest", other.get("layer_digest"),
            "--index-out", index.toString(),
            "--tree-out", tree.toString());
    assertEquals(1, r.exitCode());
    assertEquals("", r.out());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().startsWith("erofs-pipeline: "), r.err());
    assertTrue(r.err().contains("digest.mismatch"), r.err());
    assertFalse(Files.exists(index));
    assertFalse(Files.exists(tree));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(0, s.count(), "no temporary files left");
    }
  }

  @Test
  void aMissingInputFailsWithAReason() {
    CommandRun r =
        run(
            "convert-layer",
            "--input", tmp.resolve("nope.tar").toString(),
            "--index-out", tmp.resolve("i").toString(),
            "--tree-out", tmp.resolve("t").toString());
    assertEquals(1, r.exitCode());
    assertTrue(r.err().startsWith("erofs-pipeline: no such file"), r.err());
  }

  @Test
  void theNativeProfileWritesOneBlobAndPrintsItsFields() throws Exception {
    var m = manifest("gnutar-pax-xattrs");
    Path image = tmp.resolve("out.native");
    CommandRun r =
        run(
            "convert-layer",
            "--profile", "native",
            "--input", golden().resolve("gnutar-pax-xattrs.tar.gz").toString(),
            "--diff-id", m.get("diff_id"),
            "--image-out", image.toString());
    assertEquals(0, r.exitCode(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertEquals(
        List.of("layerDigest", "diffId", "rootHash", "erofsUuid", "verityUuid", "imageSize",
            "blobSize", "blobSha256", "dataBlocks", "blockSize", "salt"),
        iterable(j.fieldNames()));
    assertEquals(m.get("layer_digest"), j.get("layerDigest").asText());
    assertEquals(m.get("verity_uuid"), j.get("verityUuid").asText());
    assertEquals(Files.size(image), j.get("blobSize").asLong());
    assertEquals(j.get("imageSize").asLong() / 4096, j.get("dataBlocks").asLong());
    assertEquals(4096, j.get("blockSize").asInt());
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(1, s.count(), "no temporary files left");
    }
  }

  @Test
  void eachProfileTakesOnlyItsOwnOutputs() {
    Path input = golden().resolve("rand-1.tar.gz");
    CommandRun nativeWithIndex = run("convert-layer", "--profile", "native", "--input", input.toString(),
        "--index-out", tmp.resolve("i").toString(), "--tree-out", tmp.resolve("t").toString());
    assertEquals(2, nativeWithIndex.exitCode(), nativeWithIndex.err());
    assertTrue(nativeWithIndex.err().contains("--image-out"), nativeWithIndex.err());
    CommandRun tarIndexWithImage = run("convert-layer", "--input", input.toString(),
        "--image-out", tmp.resolve("n").toString());
    assertEquals(2, tarIndexWithImage.exitCode(), tarIndexWithImage.err());
    CommandRun unknown = run("convert-layer", "--profile", "squashfs", "--input", input.toString(),
        "--image-out", tmp.resolve("n").toString());
    assertEquals(2, unknown.exitCode(), unknown.err());
    assertTrue(unknown.err().contains("tar-index or native"), unknown.err());
  }

  private static List<String> iterable(java.util.Iterator<String> it) {
    List<String> l = new java.util.ArrayList<>();
    it.forEachRemaining(l::add);
    return l;
  }
}

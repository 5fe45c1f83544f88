package dev.erofspipeline.convert;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The golden layers, read in place from {@code shared/golden} (system property {@code
 * erofs.shared.dir}, set by the parent pom; fallback {@code /work/shared}). They are not copied into
 * the test resources: a missing directory fails the tests instead of skipping them.
 */
public final class GoldenCases {
  private GoldenCases() {}

  /** One line of {@code manifest.tsv}. */
  public record Case(
      String name,
      String layerDigest,
      String diffId,
      String erofsUuid,
      long indexSize,
      String indexSha256,
      String verityUuid,
      long dataBlocks,
      long veritySize,
      String veritySha256,
      String rootHash) {

    public Path tar() {
      return dir().resolve(name + ".tar");
    }

    public Path tarGz() {
      return dir().resolve(name + ".tar.gz");
    }

    public Path erofs() {
      return dir().resolve(name + ".erofs");
    }

    public Path verity() {
      return dir().resolve(name + ".verity");
    }

    @Override
    public String toString() {
      return name;
    }
  }

  public static Path sharedDir() {
    String p = System.getProperty("erofs.shared.dir");
    Path dir = Path.of(p != null && !p.isBlank() ? p : "/work/shared");
    if (!Files.isDirectory(dir.resolve("golden"))) {
      throw new IllegalStateException(
          "golden files not found at " + dir.resolve("golden") + " (set -Derofs.shared.dir)");
    }
    return dir;
  }

  public static Path dir() {
    return sharedDir().resolve("golden");
  }

  public static List<Case> all() {
    try {
      List<String> lines = Files.readAllLines(dir().resolve("manifest.tsv"));
      return lines.stream()
          .skip(1)
          .filter(l -> !l.isBlank())
          .map(
              l -> {
                String[] f = l.split("\t");
                return new Case(
                    f[0],
                    f[1],
                    f[2],
                    f[3],
                    Long.parseLong(f[4]),
                    f[5],
                    f[6],
                    Long.parseLong(f[7]),
                    Long.parseLong(f[8]),
                    f[9],
                    f[10]);
              })
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

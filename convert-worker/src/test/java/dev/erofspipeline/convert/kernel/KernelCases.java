package dev.erofspipeline.convert.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.GoldenCases;
import dev.erofspipeline.convert.Processes;
import dev.erofspipeline.testkit.HostileCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The layers the kernel tests mount: every golden layer, tars from {@code gen_tars.py}, and the
 * hostile corpus's accepted layers.
 */
final class KernelCases {
  private KernelCases() {}

  /** Checks one layer, adding a line per problem. */
  interface Check {
    void check(String name, byte[] tar, String layerDigest, List<String> problems) throws Exception;
  }

  /** Runs {@code check} on every golden layer; fails listing every problem. */
  static void golden(Check check) throws Exception {
    List<String> problems = new ArrayList<>();
    for (GoldenCases.Case c : GoldenCases.all()) {
      check.check(c.name(), Files.readAllBytes(c.tar()), c.layerDigest(), problems);
    }
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }

  /**
   * Runs {@code check} on {@code count} tars generated from {@code firstSeed} on into {@code dir}
   * (each deleted once checked; the digest is the tar's own); fails listing every problem.
   */
  static void generated(Path dir, int firstSeed, int count, Check check) throws Exception {
    Files.createDirectories(dir);
    String gen = GoldenCases.sharedDir().resolve("tools/gen_tars.py").toString();
    Processes.Result g = Processes.exec(
        "python3", gen, "--seed", "" + firstSeed, "--count", "" + count, "--out", dir.toString());
    assertEquals(0, g.code(), g.out());
    List<String> problems = new ArrayList<>();
    for (int s = firstSeed; s < firstSeed + count; s++) {
      Path t = dir.resolve("rand-" + s + ".tar");
      byte[] tar = Files.readAllBytes(t);
      String d = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tar));
      check.check("gen_tars --seed " + s, tar, d, problems);
      Files.delete(t);
    }
    assertTrue(problems.isEmpty(), problems.size() + " problems:\n" + String.join("\n", problems));
  }

  /** Runs {@code check} on every layer the hostile corpus expects to be accepted (at least 10). */
  static void acceptedHostile(Check check) throws Exception {
    List<String> problems = new ArrayList<>();
    int checked = 0;
    for (HostileCorpus.Case c : HostileCorpus.layers()) {
      if (c.accepted()) {
        check.check("hostile " + c.name(), c.tar(), c.layerDigest(), problems);
        checked++;
      }
    }
    assertTrue(checked >= 10, checked + " accepted cases");
    assertTrue(problems.isEmpty(), problems.size() + " problems:\n" + String.join("\n", problems));
  }
}

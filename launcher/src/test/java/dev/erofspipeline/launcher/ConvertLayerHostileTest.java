package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.testkit.HostileCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every layer of the hostile corpus through {@code convert-layer}, with the corpus limits set as
 * configuration keys: a refused layer exits 1 with one line naming its reason and leaves no file
 * behind; an accepted one exits 0 with its JSON object and both outputs. The timeout only guards
 * against a hang.
 */
class ConvertLayerHostileTest {
  @TempDir Path tmp;

  static List<HostileCorpus.Case> cases() {
    return HostileCorpus.layers();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void endsInItsReasonOrAConversion(HostileCorpus.Case c) throws Exception {
    Path input = tmp.resolve("layer.blob");
    c.blob().writeTo(input);
    Path out = Files.createDirectories(tmp.resolve("out"));
    List<String> args = new ArrayList<>(List.of("convert-layer", "--input", input.toString(),
        "--layer-digest", c.layerDigest(),
        "--index-out", out.resolve("index.erofs").toString(), "--tree-out", out.resolve("tree.verity").toString()));
    if (c.claimedDiffId() != null) {
      args.addAll(List.of("--diff-id", c.claimedDiffId()));
    }
    for (String s : HostileCorpus.limitSettings()) {
      args.addAll(List.of("--set", s));
    }
    CommandRun r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> run(args.toArray(String[]::new)));
    if (c.accepted()) {
      assertEquals(0, r.exitCode(), r.err());
      JsonNode j = new ObjectMapper().readTree(r.out());
      assertEquals(c.layerDigest(), j.get("layerDigest").asText());
      assertEquals(j.get("indexSize").asLong(), Files.size(out.resolve("index.erofs")));
      assertEquals(j.get("treeSize").asLong(), Files.size(out.resolve("tree.verity")));
    } else {
      assertEquals(1, r.exitCode(), r.out());
      assertEquals("", r.out());
      assertEquals(1, r.err().strip().lines().count(), r.err());
      assertTrue(r.err().startsWith("erofs-pipeline: layer refused (" + c.reason() + "): "), r.err());
      try (Stream<Path> s = Files.list(out)) {
        assertEquals(List.of(), s.toList(), "no output or temporary file is left");
      }
    }
  }
}

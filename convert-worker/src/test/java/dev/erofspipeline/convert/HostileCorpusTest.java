package dev.erofspipeline.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.testkit.HostileCorpus;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every layer of the hostile corpus through the converter core with the corpus limits: a refused
 * case ends in its reason with nothing written to either output, an accepted one in an index and a
 * tree (the kernel check compares accepted trees with their tars: KernelMountTest). The timeout only
 * guards against a hang.
 */
class HostileCorpusTest {
  static final ConversionLimits LIMITS = new ConversionLimits(
      HostileCorpus.MAX_ENTRIES, HostileCorpus.MAX_DEPTH, HostileCorpus.MAX_UNCOMPRESSED_BYTES,
      HostileCorpus.MAX_EXTENSION_RECORD_BYTES, HostileCorpus.MAX_LAYER_BYTES);

  static List<HostileCorpus.Case> cases() {
    return HostileCorpus.layers();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void endsInItsReasonOrAConversion(HostileCorpus.Case c) {
    LayerConverter converter = new LayerConverter(LIMITS);
    ByteArrayOutputStream index = new ByteArrayOutputStream();
    ByteArrayOutputStream tree = new ByteArrayOutputStream();
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      try (InputStream in = c.blob().open()) {
        if (c.accepted()) {
          ConversionResult r = converter.convert(in, c.layerDigest(), true, c.claimedDiffId(), index, tree);
          assertEquals(index.size(), r.indexSize());
          assertEquals(tree.size(), r.treeSize());
        } else {
          InvalidLayerException e = assertThrows(InvalidLayerException.class,
              () -> converter.convert(in, c.layerDigest(), true, c.claimedDiffId(), index, tree));
          assertEquals(c.reason(), e.reason(), e.getMessage());
          assertEquals(0, index.size() + tree.size(), "nothing written for a refused layer");
        }
      }
    });
  }

  @Test
  void docsHostileInputHasTheCorpusTable() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "hostile-input.md"));
    assertTrue(doc.contains(HostileCorpus.markdownTable()),
        "docs/hostile-input.md is out of date: paste the output of HostileCorpus.markdownTable()");
  }

  @Test
  void theCorpusHasAtLeastFortyLayerCasesWithDistinctNames() {
    List<HostileCorpus.Case> all = HostileCorpus.layers();
    assertTrue(all.size() >= 40, all.size() + " cases");
    assertEquals(all.size(), all.stream().map(HostileCorpus.Case::name).distinct().count());
  }
}

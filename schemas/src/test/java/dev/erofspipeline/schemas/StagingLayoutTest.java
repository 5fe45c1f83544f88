package dev.erofspipeline.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class StagingLayoutTest {
  private static final String HEX = "a1".repeat(32);
  private static final String FP = "9f86d081884c7d65";

  @Test
  void keysFollowTheArchitecture() {
    assertEquals("layers/sha256/" + HEX + "/" + FP + "/", StagingLayout.folder("", Samples.LAYER, FP));
    assertEquals("layers/sha256/" + HEX + "/" + FP + "/", StagingLayout.folder(null, Samples.LAYER, FP));
    for (String prefix : List.of("erofs", "/erofs/", "erofs//")) {
      assertEquals("erofs/layers/sha256/" + HEX + "/" + FP + "/index.erofs",
          StagingLayout.indexKey(prefix, Samples.LAYER, FP));
    }
    assertEquals("a/b/layers/sha256/" + HEX + "/" + FP + "/tree.verity", StagingLayout.treeKey("a/b", Samples.LAYER, FP));
    assertEquals("layers/sha256/" + HEX + "/" + FP + "/result.json", StagingLayout.resultKey("", Samples.LAYER, FP));
  }

  @Test
  void stagingValidatesInALayerResult() {
    LayerResult.Staging s = StagingLayout.staging("erofs-staging", "p", Samples.LAYER, FP);
    assertEquals("p/layers/sha256/" + HEX + "/" + FP + "/index.erofs", s.indexKey());
    LayerResult r = new LayerResult(Samples.result(), s, null, null, false, "c");
    RecordValidator v = RecordValidator.defaults();
    assertEquals(r, v.read(LayerResult.class, v.write(r)));
  }

  @Test
  void refusesMalformedDigestsAndFingerprints() {
    assertThrows(IllegalArgumentException.class, () -> StagingLayout.folder("", "sha256:AB", FP));
    assertThrows(IllegalArgumentException.class, () -> StagingLayout.folder("", HEX, FP));
    assertThrows(IllegalArgumentException.class, () -> StagingLayout.folder("", Samples.LAYER, "../x"));
    assertThrows(IllegalArgumentException.class, () -> StagingLayout.folder("", Samples.LAYER, null));
  }
}

package dev.erofspipeline.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class LayerUuidsTest {

  static List<GoldenCases.Case> cases() {
    return GoldenCases.all();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void uuidsMatchTheManifest(GoldenCases.Case c) {
    assertEquals(UUID.fromString(c.erofsUuid()), LayerUuids.erofs(c.layerDigest()));
    assertEquals(UUID.fromString(c.verityUuid()), LayerUuids.verity(c.layerDigest()));
    assertEquals(5, LayerUuids.erofs(c.layerDigest()).version());
  }
}

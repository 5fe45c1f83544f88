package dev.erofspipeline.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ConversionProfileTest {
  @Test
  void fingerprintIsStableSixteenHexAndFollowsTheParameters() {
    ConversionProfile a = ConversionProfile.fromParameters("p", "x=1");
    assertEquals(a, ConversionProfile.fromParameters("p", "x=1"));
    assertNotEquals(a.fingerprint(), ConversionProfile.fromParameters("p", "x=2").fingerprint());
    assertEquals("1f206b11c23e28cc", a.fingerprint(), "first 8 bytes of sha256(\"x=1\")");
    assertTrue(ConversionProfile.TAR_INDEX.fingerprint().matches("[0-9a-f]{16}"));
    // a usable S3 folder name under the schemas' own rules
    assertTrue(StagingLayout.folder("", "sha256:" + "0".repeat(64), ConversionProfile.TAR_INDEX.fingerprint())
        .endsWith("/" + ConversionProfile.TAR_INDEX.fingerprint() + "/"));
  }
}

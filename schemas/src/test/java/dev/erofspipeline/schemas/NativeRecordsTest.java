package dev.erofspipeline.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The native profile's fields in result documents, layer results and staging keys. */
class NativeRecordsTest {
  private final RecordValidator validator = RecordValidator.defaults();

  static ResultDocument nativeResult() {
    return new ResultDocument(Samples.LAYER, Samples.DIFF, 10240L, null, null, null, null, Samples.ROOT,
        "00".repeat(32), null, 4096, 4096, 3, "6f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b",
        "0b1c2d3e-4f50-5162-8374-85960a1b2c3d", null, "0.1.0", ConversionProfile.NATIVE, null,
        new ResultDocument.NativeBlob(20480, Samples.HEX, 12288));
  }

  @Test
  void nativeProfileIsDistinctFromTheTarIndexProfile() {
    assertEquals("native", ConversionProfile.NATIVE.name());
    assertTrue(ConversionProfile.NATIVE.fingerprint().matches("[0-9a-f]{16}"));
    assertNotEquals(ConversionProfile.TAR_INDEX.fingerprint(), ConversionProfile.NATIVE.fingerprint());
    assertTrue(ConversionProfile.NATIVE.isNative());
    assertFalse(ConversionProfile.TAR_INDEX.isNative());
  }

  @Test
  void nativeStagingHasTheBlobAndTheResultOnly() {
    LayerResult.Staging s = StagingLayout.staging("b", "p/", Samples.LAYER, ConversionProfile.NATIVE);
    String folder = "p/layers/sha256/" + Samples.LAYER.substring(7) + "/" + ConversionProfile.NATIVE.fingerprint() + "/";
    assertEquals(folder + "layer.erofs", s.blobKey());
    assertEquals(folder + "result.json", s.resultKey());
    assertNull(s.indexKey());
    assertNull(s.treeKey());
    assertEquals(StagingLayout.staging("b", "p", Samples.LAYER, ConversionProfile.TAR_INDEX.fingerprint()),
        StagingLayout.staging("b", "p", Samples.LAYER, ConversionProfile.TAR_INDEX));
  }

  @Test
  void nativeResultAndLayerResultRoundTrip() {
    ResultDocument doc = nativeResult();
    byte[] json = validator.write(doc);
    assertEquals(doc, validator.read(ResultDocument.class, json));
    String text = new String(json, StandardCharsets.UTF_8);
    assertFalse(text.contains("indexSize") || text.contains("treeSha256") || text.contains("erofsUtilsVersion"), text);
    assertTrue(text.contains("\"blob\":{\"size\":20480,\"sha256\":\"" + Samples.HEX + "\",\"hashOffset\":12288}"), text);
    assertEquals("sha256:" + Samples.HEX, doc.blob().digest());

    LayerResult r = new LayerResult(doc, StagingLayout.staging("bucket", "", Samples.LAYER, ConversionProfile.NATIVE),
        null, null, false, "c");
    assertEquals(r, validator.read(LayerResult.class, validator.write(r)));
  }

  @Test
  void aResultIsEitherNativeOrTarIndexNeverBothOrNeither() {
    ObjectNode both = (ObjectNode) RecordValidator.objectMapper().valueToTree(nativeResult());
    both.put("indexSize", 512);
    assertThrows(SchemaViolationException.class, () -> validator.validate(RecordType.RESULT_DOCUMENT, both));
    ObjectNode neither = (ObjectNode) RecordValidator.objectMapper().valueToTree(nativeResult());
    neither.remove("blob");
    assertThrows(SchemaViolationException.class, () -> validator.validate(RecordType.RESULT_DOCUMENT, neither));

    ObjectNode staging = (ObjectNode) RecordValidator.objectMapper().valueToTree(new LayerResult(nativeResult(),
        StagingLayout.staging("bucket", "", Samples.LAYER, ConversionProfile.NATIVE), null, null, false, "c"));
    ((ObjectNode) staging.get("staging")).put("indexKey", "x");
    assertThrows(SchemaViolationException.class, () -> validator.validate(RecordType.LAYER_RESULT, staging));
    ((ObjectNode) staging.get("staging")).remove("blobKey");
    assertThrows(SchemaViolationException.class, () -> validator.validate(RecordType.LAYER_RESULT, staging));
  }
}

package dev.erofspipeline.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rules of particular fields, and the helpers of the record types. */
class RecordRulesTest {
  private static final ObjectMapper MAPPER = RecordValidator.objectMapper();
  private final RecordValidator validator = RecordValidator.defaults();

  private static ObjectNode json(RecordType type) {
    return RecordValidatorTest.fullJson(type);
  }

  private <T> T read(Class<T> type, ObjectNode node) throws IOException {
    return validator.read(type, MAPPER.writeValueAsBytes(node));
  }

  private SchemaViolationException refused(RecordType type, ObjectNode node) throws IOException {
    byte[] raw = MAPPER.writeValueAsBytes(node);
    return assertThrows(SchemaViolationException.class, () -> validator.read(type.javaType(), raw));
  }

  // ---- image request

  @ParameterizedTest
  @ValueSource(strings = {
      "registry.example/app:1.0",
      "registry.example:5000/team/app",
      "localhost:5000/a/b/c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "localhost:5000/app:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "docker://127.0.0.1:5000/library/busybox:latest",
      "[::1]:5000/app:tag",
      "ghcr.io/org/some_repo.name-x:1.2.3-rc_1",
      "oci:/tmp/layout",
      "oci:relative/dir:v1"})
  void imageReferencesAccepted(String reference) throws IOException {
    ObjectNode node = json(RecordType.IMAGE_REQUEST);
    node.put("reference", reference);
    assertEquals(reference, read(ImageRequest.class, node).reference());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "busybox",
      "registry.example/App:1",
      "registry.example/app:",
      "registry.example/app:tag with space",
      "registry.example/app@sha256:abc",
      "registry.example/app@md5:0123456789abcdef0123456789abcdef",
      "registry.example/-app",
      "oci:",
      "https://registry.example/app:1"})
  void badImageReferencesRefusedNamingTheField(String reference) throws IOException {
    ObjectNode node = json(RecordType.IMAGE_REQUEST);
    node.put("reference", reference);
    SchemaViolationException e = refused(RecordType.IMAGE_REQUEST, node);
    assertTrue(e.violations().stream().allMatch(v -> v.pointer().equals("/reference")), e.getMessage());
    assertTrue(e.getMessage().contains("/reference: "), e.getMessage());
  }

  @Test
  void platformFilters() throws IOException {
    ObjectNode node = json(RecordType.IMAGE_REQUEST);
    node.putArray("platforms").add("linux/amd64").add("linux");
    assertTrue(refused(RecordType.IMAGE_REQUEST, node).getMessage().contains("/platforms/1: "));
    node.putArray("platforms").add("linux/amd64").add("linux/amd64");
    SchemaViolationException e = refused(RecordType.IMAGE_REQUEST, node);
    assertEquals("uniqueItems", e.violations().get(0).rule(), e.getMessage());
    node.putArray("platforms");
    assertEquals(List.of(), read(ImageRequest.class, node).platforms());
  }

  @Test
  void requestDefaultsAndEnums() throws IOException {
    ObjectNode node = json(RecordType.IMAGE_REQUEST);
    node.remove(List.of("priority", "force", "platforms", "submittedAt"));
    ImageRequest r = read(ImageRequest.class, node);
    assertEquals(Priority.NORMAL, r.priority());
    assertFalse(r.force());
    assertEquals(List.of(), r.platforms());
    node.put("priority", "urgent");
    SchemaViolationException e = refused(RecordType.IMAGE_REQUEST, node);
    assertEquals("/priority", e.violations().get(0).pointer());
    assertEquals("enum", e.violations().get(0).rule());
    node.put("priority", "high");
    node.put("correlationId", "has space");
    assertTrue(refused(RecordType.IMAGE_REQUEST, node).getMessage().contains("/correlationId: "));
  }

  @Test
  void timestampsMustBeUtcInstants() throws IOException {
    ObjectNode node = json(RecordType.IMAGE_REQUEST);
    for (String bad : List.of("2026-11-27 03:22:39Z", "2026-11-27T03:22:39+01:00", "yesterday")) {
      node.put("submittedAt", bad);
      assertTrue(refused(RecordType.IMAGE_REQUEST, node).getMessage().contains("/submittedAt: "), bad);
    }
    node.put("submittedAt", "2026-11-27T03:22:39Z");
    assertEquals(java.time.Instant.parse("2026-11-27T03:22:39Z"), read(ImageRequest.class, node).submittedAt());
  }

  // ---- layer job

  @Test
  void layerJobMediaTypeMustBeConvertible() throws IOException {
    ObjectNode node = json(RecordType.LAYER_JOB);
    ((ObjectNode) node.get("layer")).put("mediaType", MediaTypes.OCI_MANIFEST);
    SchemaViolationException e = refused(RecordType.LAYER_JOB, node);
    assertEquals("/layer/mediaType", e.violations().get(0).pointer());
    assertEquals("enum", e.violations().get(0).rule());
    for (String mt : MediaTypes.CONVERTIBLE_LAYERS) {
      ((ObjectNode) node.get("layer")).put("mediaType", mt);
      assertEquals(mt, read(LayerJob.class, node).layer().mediaType());
    }
  }

  @Test
  void layerJobNeedsASubjectAndBoundedSizes() throws IOException {
    ObjectNode node = json(RecordType.LAYER_JOB);
    node.putArray("subjects");
    SchemaViolationException e = refused(RecordType.LAYER_JOB, node);
    assertEquals("/subjects", e.violations().get(0).pointer());
    assertEquals("minItems", e.violations().get(0).rule());
    node = json(RecordType.LAYER_JOB);
    ((ObjectNode) node.get("layer")).put("size", -1);
    assertEquals("/layer/size", refused(RecordType.LAYER_JOB, node).violations().get(0).pointer());
    node = json(RecordType.LAYER_JOB);
    ((ObjectNode) node.get("profile")).put("fingerprint", "xyz");
    assertEquals("/profile/fingerprint", refused(RecordType.LAYER_JOB, node).violations().get(0).pointer());
    assertEquals(Samples.LAYER, ((LayerJob) Samples.full().get(RecordType.LAYER_JOB)).key());
  }

  @Test
  void longStringsAreRefusedWithoutExhaustingTheStack() throws IOException {
    RecordValidator big = new RecordValidator(4 * 1024 * 1024);
    ObjectNode node = json(RecordType.LAYER_JOB);
    node.put("repository", "a.".repeat(1_000_000) + "a");
    byte[] raw = MAPPER.writeValueAsBytes(node);
    SchemaViolationException e = assertThrows(SchemaViolationException.class, () -> big.read(LayerJob.class, raw));
    assertTrue(e.violations().stream().anyMatch(v -> v.pointer().equals("/repository") && v.rule().equals("maxLength")),
        e.getMessage());
  }

  @Test
  void tooManyViolationsAreCapped() throws IOException {
    ObjectNode node = json(RecordType.IMAGE_STATUS);
    var layers = node.putArray("layers");
    for (int i = 0; i < 100; i++) {
      layers.addObject().put("digest", "bad").put("state", "bad");
    }
    SchemaViolationException e = refused(RecordType.IMAGE_STATUS, node);
    assertEquals(RecordValidator.MAX_VIOLATIONS, e.violations().size());
  }

  // ---- result document

  @Test
  void resultDocumentFieldRules() throws IOException {
    record Case(String field, Object value, String rule) {}
    for (Case c : List.of(
        new Case("rootHash", Samples.ROOT.toUpperCase(), "pattern"),
        new Case("rootHash", Samples.ROOT.substring(1), "minLength"),
        new Case("indexSha256", "sha256:" + Samples.HEX, "maxLength"),
        new Case("erofsUuid", "6F1D2C3B-4A59-5E6F-8A7B-9C0D1E2F3A4B", "pattern"),
        new Case("verityUuid", "6f1d2c3b4a595e6f8a7b9c0d1e2f3a4b", "minLength"),
        new Case("salt", "000", "pattern"),
        new Case("dataBlockSize", 1000, "enum"),
        new Case("hashAlgorithm", "sha1", "enum"),
        new Case("dataBlocks", 0, "minimum"),
        new Case("erofsUtilsVersion", "latest", "pattern"),
        new Case("indexSize", -5, "minimum"))) {
      ObjectNode node = json(RecordType.RESULT_DOCUMENT);
      node.set(c.field(), MAPPER.valueToTree(c.value()));
      SchemaViolationException e = refused(RecordType.RESULT_DOCUMENT, node);
      RecordValidatorTest.assertViolation(e, "/" + c.field(), c.rule());
    }
  }

  @Test
  void layerResultEmbedsAValidResultDocument() throws IOException {
    ObjectNode node = json(RecordType.LAYER_RESULT);
    ((ObjectNode) node.get("result")).put("treeSha256", "nope");
    RecordValidatorTest.assertViolation(refused(RecordType.LAYER_RESULT, node), "/result/treeSha256", "pattern");
    node = json(RecordType.LAYER_RESULT);
    ((ObjectNode) node.get("staging")).put("indexKey", "/absolute");
    RecordValidatorTest.assertViolation(refused(RecordType.LAYER_RESULT, node), "/staging/indexKey", "pattern");
    assertEquals(Samples.LAYER, ((LayerResult) Samples.full().get(RecordType.LAYER_RESULT)).key());
  }

  // ---- image record and status

  @Test
  void imageRecordLayersNamedByIndex() throws IOException {
    ObjectNode node = json(RecordType.IMAGE_RECORD);
    ((ObjectNode) node.get("layers").get(1)).put("diffId", "sha256:zz");
    RecordValidatorTest.assertViolation(refused(RecordType.IMAGE_RECORD, node), "/layers/1/diffId", "pattern");
    node = json(RecordType.IMAGE_RECORD);
    ((ObjectNode) node.get("subject")).put("mediaType", MediaTypes.OCI_INDEX);
    RecordValidatorTest.assertViolation(refused(RecordType.IMAGE_RECORD, node), "/subject/mediaType", "enum");
    ImageRecord r = (ImageRecord) Samples.full().get(RecordType.IMAGE_RECORD);
    assertEquals(Samples.SUBJECT, r.key());
    assertEquals(List.of(Samples.LAYER, Samples.LAYER2), r.layers().stream().map(ImageRecord.Layer::digest).toList());
  }

  @Test
  void failedStatusNeedsAReason() throws IOException {
    ObjectNode node = json(RecordType.IMAGE_STATUS);
    node.remove("reason");
    SchemaViolationException e = refused(RecordType.IMAGE_STATUS, node);
    RecordValidatorTest.assertViolation(e, "/reason", "required");
    for (String state : List.of("queued", "converting", "publishing", "published")) {
      node.put("state", state);
      assertEquals(state, read(ImageStatus.class, node).state().name().toLowerCase());
    }
    node.put("state", "done");
    RecordValidatorTest.assertViolation(refused(RecordType.IMAGE_STATUS, node), "/state", "enum");
    node = json(RecordType.IMAGE_STATUS);
    ((ObjectNode) node.get("layers").get(0)).put("state", "lost");
    RecordValidatorTest.assertViolation(refused(RecordType.IMAGE_STATUS, node), "/layers/0/state", "enum");
  }

  // ---- dead letters

  @Test
  void deadLetterInputIsBoundedText() {
    byte[] huge = new byte[300_000];
    Arrays.fill(huge, (byte) 'x');
    DeadLetter.Input in = DeadLetter.Input.of("erofs.layer-jobs", 0, 5L, "k", huge);
    assertTrue(in.truncated());
    assertEquals(DeadLetter.MAX_INPUT_CHARS, in.text().length());
    assertEquals(300_000, in.sizeBytes());
    DeadLetter d = DeadLetter.of(DeadLetter.Stage.CONVERT, in, new IllegalArgumentException("m".repeat(20_000)),
        "schema-violation", 0, null);
    assertEquals(DeadLetter.MAX_MESSAGE_CHARS, d.message().length());
    assertEquals(1, d.attempts());
    assertEquals(IllegalArgumentException.class.getName(), d.errorClass());
    assertEquals(d, validator.read(DeadLetter.class, validator.write(d)));

    DeadLetter.Input binary = DeadLetter.Input.of(new byte[] {'{', (byte) 0xff, (byte) 0xfe, '}'});
    assertFalse(binary.truncated());
    assertEquals("{\ufffd\ufffd}", binary.text());
    DeadLetter.Input none = DeadLetter.Input.of(null);
    assertEquals("", none.text());
    assertEquals(0, none.sizeBytes());
  }

  @Test
  void deadLetterForARefusedRecordCarriesTheReadableReason() {
    byte[] raw = "{\"schemaVersion\":1,\"reference\":\"busybox\",\"correlationId\":\"c\"}".getBytes(
        StandardCharsets.UTF_8);
    SchemaViolationException e =
        assertThrows(SchemaViolationException.class, () -> validator.read(ImageRequest.class, raw));
    DeadLetter d = DeadLetter.of(DeadLetter.Stage.INGEST, DeadLetter.Input.of(Topics.IMAGE_REQUESTS, 0, 0L, null, raw),
        e, e.reasonCode(), 1, null);
    DeadLetter back = validator.read(DeadLetter.class, validator.write(d));
    assertEquals("schema-violation", back.reasonCode());
    assertEquals(SchemaViolationException.class.getName(), back.errorClass());
    assertTrue(back.message().startsWith("image-request record refused: /reference: "), back.message());
    assertEquals(new String(raw, StandardCharsets.UTF_8), back.input().text());
  }

  @Test
  void deadLetterStageAndAttempts() throws IOException {
    ObjectNode node = json(RecordType.DEAD_LETTER);
    node.put("stage", "somewhere");
    RecordValidatorTest.assertViolation(refused(RecordType.DEAD_LETTER, node), "/stage", "enum");
    node = json(RecordType.DEAD_LETTER);
    node.put("attempts", 0);
    RecordValidatorTest.assertViolation(refused(RecordType.DEAD_LETTER, node), "/attempts", "minimum");
    node = json(RecordType.DEAD_LETTER);
    ((ObjectNode) node.get("input")).put("text", "x".repeat(DeadLetter.MAX_INPUT_CHARS + 1));
    RecordValidatorTest.assertViolation(refused(RecordType.DEAD_LETTER, node), "/input/text", "maxLength");
  }

  // ---- signing

  @Test
  void signatureFields() throws IOException {
    ObjectNode node = json(RecordType.SIGNATURE);
    node.put("signature", "not base64!");
    RecordValidatorTest.assertViolation(refused(RecordType.SIGNATURE, node), "/signature", "pattern");
    node = json(RecordType.SIGNATURE);
    node.putArray("certificateChain");
    RecordValidatorTest.assertViolation(refused(RecordType.SIGNATURE, node), "/certificateChain", "minItems");
    node = json(RecordType.SIGNATURE);
    node.put("rootHash", "sha256:" + Samples.ROOT);
    RecordValidatorTest.assertViolation(refused(RecordType.SIGNATURE, node), "/rootHash", "pattern");
    RootHashSignature s = (RootHashSignature) Samples.full().get(RecordType.SIGNATURE);
    assertArrayEquals(new byte[] {0x30, (byte) 0x82, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06}, s.signatureDer());
    assertEquals(2, s.certificateChainDer().size());
    assertEquals(Samples.LAYER, s.key());
  }

  @Test
  void signingRequestNeedsHexRootHash() throws IOException {
    ObjectNode node = json(RecordType.SIGNING_REQUEST);
    node.put("rootHash", "");
    RecordValidatorTest.assertViolation(refused(RecordType.SIGNING_REQUEST, node), "/rootHash", "minLength");
    assertEquals(Samples.LAYER, ((SigningRequest) Samples.full().get(RecordType.SIGNING_REQUEST)).key());
  }

  // ---- concurrency

  @Test
  void oneValidatorServesManyThreads() {
    byte[] job = validator.write(Samples.full().get(RecordType.LAYER_JOB));
    byte[] bad = "{\"schemaVersion\":1}".getBytes(StandardCharsets.UTF_8);
    long ok = java.util.stream.IntStream.range(0, 2000).parallel().filter(i -> {
      if (i % 2 == 0) {
        return validator.read(LayerJob.class, job).equals(Samples.full().get(RecordType.LAYER_JOB));
      }
      try {
        validator.read(LayerJob.class, bad);
        return false;
      } catch (SchemaViolationException e) {
        return e.getMessage().contains("/registry: ");
      }
    }).count();
    assertEquals(2000, ok);
  }

  // ---- writing

  @Test
  void producersCannotWriteInvalidRecords() {
    ImageRequest bad = ImageRequest.of("busybox", "c");
    SchemaViolationException e = assertThrows(SchemaViolationException.class, () -> validator.write(bad));
    assertEquals("/reference", e.violations().get(0).pointer());
    LayerJob noProfile = new LayerJob("r.example", "a", new LayerJob.Descriptor(Samples.LAYER, 1,
        MediaTypes.OCI_LAYER_TAR), Samples.DIFF, null, List.of(), null, false, "c");
    e = assertThrows(SchemaViolationException.class, () -> validator.write(noProfile));
    assertTrue(e.getMessage().contains("/profile: "), e.getMessage());
    assertTrue(e.getMessage().contains("/subjects: "), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> validator.write("just a string"));
    assertThrows(IllegalArgumentException.class, () -> validator.read(String.class, "{}"));
    assertThrows(IllegalArgumentException.class, () -> new RecordValidator(1));
  }

  @Test
  void readingAParsedNodeSkipsOnlyTheSizeCheck() {
    ObjectNode node = json(RecordType.SIGNING_REQUEST);
    assertDoesNotThrow(() -> new RecordValidator(2).read(SigningRequest.class, node));
    node.remove("layerDigest");
    SchemaViolationException e =
        assertThrows(SchemaViolationException.class, () -> validator.read(SigningRequest.class, node));
    assertEquals("/layerDigest", e.violations().get(0).pointer());
    assertEquals(RecordType.SIGNING_REQUEST, e.recordType());
  }
}

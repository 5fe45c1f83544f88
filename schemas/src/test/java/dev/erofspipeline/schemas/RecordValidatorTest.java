package dev.erofspipeline.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * For every record type: a valid record is accepted and bound, each kind of invalid record is
 * refused with a message naming the field, and Java → JSON → validated → Java is the identity.
 */
class RecordValidatorTest {
  private static final ObjectMapper MAPPER = RecordValidator.objectMapper();
  private final RecordValidator validator = RecordValidator.defaults();

  // ------------------------------------------------------------------ valid records

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void fullRecordRoundTripsThroughJson(RecordType type) {
    Object record = Samples.full().get(type);
    byte[] json = validator.write(record);
    Object back = validator.read(type.javaType(), json);
    assertEquals(record, back);
    assertEquals(record, validator.read(type, json));
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void minimalRecordRoundTripsThroughJson(RecordType type) {
    Object record = Samples.minimal().get(type);
    String json = validator.writeString(record);
    assertEquals(record, validator.read(type.javaType(), json));
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void everyJavaTypesJsonOutputValidatesAgainstItsSchema(RecordType type) {
    for (Map<RecordType, Object> samples : List.of(Samples.full(), Samples.minimal())) {
      Object record = samples.get(type);
      assertEquals(type.javaType(), record.getClass());
      // serialized with any mapper configured as objectMapper() says, not only through write()
      JsonNode node = MAPPER.valueToTree(record);
      validator.validate(type, node);
      assertEquals(1, node.get("schemaVersion").intValue(), "schemaVersion is always written");
      assertEquals(record, validator.read(type.javaType(), node));
    }
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void handWrittenJsonWithOnlyRequiredFieldsIsAccepted(RecordType type) throws IOException {
    ObjectNode node = fullJson(type);
    List<String> required = new ArrayList<>(requiredFields(type));
    // a tar-index result needs its index and tree (if/then/else on blob); keep those
    if (type == RecordType.RESULT_DOCUMENT) {
      required.addAll(List.of("indexSize", "indexSha256", "treeSize", "treeSha256", "erofsUtilsVersion"));
    }
    node.retain(required);
    // a failed image status needs its reason (if/then); keep that one
    if (type == RecordType.IMAGE_STATUS) {
      node.put("state", "queued");
    }
    assertTrue(type.javaType().isInstance(validator.read(type.javaType(), MAPPER.writeValueAsBytes(node))));
  }

  // ------------------------------------------------------------------ invalid records

  @TestFactory
  Stream<DynamicTest> missingRequiredFieldIsRefusedNamingTheField() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    for (RecordType type : RecordType.values()) {
      for (String field : requiredFields(type)) {
        tests.add(DynamicTest.dynamicTest(type.schemaName() + " without " + field, () -> {
          ObjectNode node = fullJson(type);
          node.remove(field);
          SchemaViolationException e = refused(type, node);
          assertViolation(e, "/" + field, "required");
          assertTrue(e.getMessage().contains("'" + field + "'"), e.getMessage());
        }));
      }
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> wrongTypeIsRefusedNamingTheField() {
    List<DynamicTest> tests = new ArrayList<>();
    for (RecordType type : RecordType.values()) {
      ObjectNode full = fullJson(type);
      for (Iterator<String> it = full.fieldNames(); it.hasNext(); ) {
        String field = it.next();
        tests.add(DynamicTest.dynamicTest(type.schemaName() + "." + field + " of the wrong type", () -> {
          ObjectNode node = fullJson(type);
          node.set(field, wrongTypeFor(node.get(field)));
          SchemaViolationException e = refused(type, node);
          assertViolation(e, "/" + field, "type");
        }));
      }
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> badDigestIsRefusedNamingTheField() {
    List<DynamicTest> tests = new ArrayList<>();
    for (RecordType type : RecordType.values()) {
      List<String> digests = pointersWhere(fullJson(type), v -> v.isTextual() && v.textValue().startsWith("sha256:"));
      digests.remove("/input/key"); // a dead letter's record key is free text
      assertTrue(type == RecordType.IMAGE_REQUEST || !digests.isEmpty(), type + " has digest fields");
      for (String pointer : digests) {
        for (String bad : List.of("sha256:ABC", "sha512:" + "a".repeat(64), Samples.LAYER.toUpperCase(),
            Samples.LAYER.substring(7))) {
          tests.add(DynamicTest.dynamicTest(type.schemaName() + pointer + " = " + bad, () -> {
            ObjectNode node = fullJson(type);
            set(node, pointer, TextNode.valueOf(bad));
            SchemaViolationException e = refused(type, node);
            assertViolation(e, pointer, "pattern");
            assertTrue(e.getMessage().contains("sha256:[0-9a-f]{64}"), e.getMessage());
          }));
        }
      }
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> unknownExtraFieldIsRefusedNamingTheField() {
    List<DynamicTest> tests = new ArrayList<>();
    for (RecordType type : RecordType.values()) {
      List<String> objects = pointersWhere(fullJson(type), JsonNode::isObject);
      objects.add(0, "");
      for (String pointer : objects) {
        tests.add(DynamicTest.dynamicTest(type.schemaName() + pointer + "/surplus", () -> {
          ObjectNode node = fullJson(type);
          ((ObjectNode) (pointer.isEmpty() ? node : node.at(pointer))).put("surplus", "x");
          SchemaViolationException e = refused(type, node);
          assertViolation(e, pointer + "/surplus", "additionalProperties");
          assertTrue(e.getMessage().contains("'surplus'"), e.getMessage());
        }));
      }
    }
    return tests.stream();
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void wrongSchemaVersionIsRefused(RecordType type) {
    for (JsonNode version : List.of(IntNode.valueOf(2), IntNode.valueOf(0), TextNode.valueOf("1"))) {
      ObjectNode node = fullJson(type);
      node.set("schemaVersion", version);
      SchemaViolationException e = refused(type, node);
      assertEquals("/schemaVersion", e.violations().get(0).pointer(), e.getMessage());
      assertTrue(e.getMessage().contains("/schemaVersion"), e.getMessage());
    }
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void oversizedRecordIsRefusedBeforeParsing(RecordType type) {
    byte[] json = validator.write(Samples.full().get(type));
    new RecordValidator(json.length).read(type.javaType(), json); // exactly at the limit: fine
    SchemaViolationException e =
        assertThrows(SchemaViolationException.class, () -> new RecordValidator(json.length - 1).read(type, json));
    assertEquals(SchemaViolationException.Kind.TOO_LARGE, e.kind());
    assertEquals("record-too-large", e.reasonCode());
    assertTrue(e.getMessage().contains(json.length + " bytes"), e.getMessage());
    assertTrue(e.getMessage().contains("limit of " + (json.length - 1) + " bytes"), e.getMessage());
    // write() refuses what a consumer with the same limit would refuse
    assertThrows(SchemaViolationException.class,
        () -> new RecordValidator(json.length - 1).write(Samples.full().get(type)));
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void notJsonIsRefused(RecordType type) {
    Map<String, String> cases = Map.of(
        "{\"schemaVersion\":1,", "Unexpected end-of-input",
        "schemaVersion=1", "Unrecognized token",
        "{'schemaVersion':1}", "was expecting double-quote",
        "{\"schemaVersion\":1} {}", "Trailing token",
        "{\"schemaVersion\":1,\"schemaVersion\":1}", "Duplicate field 'schemaVersion'");
    for (var c : cases.entrySet()) {
      SchemaViolationException e = refused(type, c.getKey().getBytes(StandardCharsets.UTF_8));
      assertEquals(SchemaViolationException.Kind.NOT_JSON, e.kind(), c.getKey());
      assertEquals("not-json", e.reasonCode());
      assertTrue(e.getMessage().startsWith(type.schemaName() + " record refused: (record): not JSON: "), e.getMessage());
      assertTrue(e.getMessage().contains(c.getValue()), e.getMessage());
      assertTrue(e.getMessage().contains("line 1, column"), e.getMessage());
    }
    SchemaViolationException binary = refused(type, new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2});
    assertEquals(SchemaViolationException.Kind.NOT_JSON, binary.kind());
    for (byte[] empty : new byte[][] {null, new byte[0], "  \n".getBytes(StandardCharsets.UTF_8)}) {
      SchemaViolationException e = refused(type, empty);
      assertEquals(SchemaViolationException.Kind.EMPTY, e.kind());
      assertTrue(e.getMessage().contains("empty record"), e.getMessage());
    }
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void jsonThatIsNotAnObjectIsRefused(RecordType type) {
    for (String json : List.of("[]", "\"text\"", "42", "null", "true")) {
      SchemaViolationException e = refused(type, json.getBytes(StandardCharsets.UTF_8));
      assertEquals(SchemaViolationException.Kind.SCHEMA, e.kind());
      assertViolation(e, "", "type");
      assertTrue(e.getMessage().contains("object expected"), e.getMessage());
    }
  }

  // ------------------------------------------------------------------ helpers

  static ObjectNode fullJson(RecordType type) {
    return (ObjectNode) MAPPER.valueToTree(Samples.full().get(type));
  }

  static List<String> requiredFields(RecordType type) {
    try (InputStream in = RecordValidatorTest.class.getClassLoader().getResourceAsStream(type.resourcePath())) {
      List<String> out = new ArrayList<>();
      MAPPER.readTree(in).get("required").forEach(n -> out.add(n.textValue()));
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  SchemaViolationException refused(RecordType type, JsonNode node) {
    try {
      return refused(type, MAPPER.writeValueAsBytes(node));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  SchemaViolationException refused(RecordType type, byte[] raw) {
    SchemaViolationException e =
        assertThrows(SchemaViolationException.class, () -> validator.read(type.javaType(), raw));
    assertEquals(type, e.recordType());
    assertFalse(e.violations().isEmpty());
    assertTrue(e.getMessage().startsWith(type.schemaName() + " record refused: "), e.getMessage());
    return e;
  }

  static void assertViolation(SchemaViolationException e, String pointer, String rule) {
    assertEquals(SchemaViolationException.Kind.SCHEMA, e.kind(), e.getMessage());
    assertEquals("schema-violation", e.reasonCode());
    assertTrue(e.violations().stream().anyMatch(v -> v.pointer().equals(pointer) && v.rule().equals(rule)),
        "expected " + rule + " at '" + pointer + "' in: " + e.getMessage());
    String shown = pointer.isEmpty() ? "(record)" : pointer;
    assertTrue(e.getMessage().contains(shown + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("[" + rule + "]"), e.getMessage());
  }

  static JsonNode wrongTypeFor(JsonNode v) {
    if (v.isTextual()) {
      return IntNode.valueOf(12345);
    }
    if (v.isNumber()) {
      return TextNode.valueOf("12");
    }
    if (v.isBoolean()) {
      return TextNode.valueOf("true");
    }
    if (v.isArray()) {
      return MAPPER.createObjectNode();
    }
    return MAPPER.createArrayNode();
  }

  static List<String> pointersWhere(JsonNode root, Function<JsonNode, Boolean> test) {
    List<String> out = new ArrayList<>();
    walk(root, "", test, out);
    return out;
  }

  private static void walk(JsonNode node, String at, Function<JsonNode, Boolean> test, List<String> out) {
    if (node.isObject()) {
      node.properties().forEach(f -> {
        String p = at + "/" + f.getKey();
        if (test.apply(f.getValue())) {
          out.add(p);
        }
        walk(f.getValue(), p, test, out);
      });
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        String p = at + "/" + i;
        if (test.apply(node.get(i))) {
          out.add(p);
        }
        walk(node.get(i), p, test, out);
      }
    }
  }

  static void set(ObjectNode root, String pointer, JsonNode value) {
    int slash = pointer.lastIndexOf('/');
    JsonNode parent = slash == 0 ? root : root.at(pointer.substring(0, slash));
    String last = pointer.substring(slash + 1);
    if (parent.isArray()) {
      ((ArrayNode) parent).set(Integer.parseInt(last), value);
    } else {
      ((ObjectNode) parent).set(last, value);
    }
  }
}

package dev.erofspipeline.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The schema files follow the house rules: 2020-12, versioned, closed, bounded. */
class SchemaFilesTest {

  private static JsonNode load(String resource) throws IOException {
    try (InputStream in = SchemaFilesTest.class.getClassLoader().getResourceAsStream(resource)) {
      assertNotNull(in, resource);
      return RecordValidator.objectMapper().readTree(in);
    }
  }

  @Test
  void everySchemaFileBelongsToARecordType() throws IOException, URISyntaxException {
    Path dir = Path.of(getClass().getClassLoader().getResource("schemas").toURI());
    Set<String> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
    Set<String> expected = Arrays.stream(RecordType.values()).map(RecordType::schemaFile).collect(Collectors.toSet());
    expected = new java.util.HashSet<>(expected);
    expected.add("common.schema.json");
    assertEquals(expected, files);
  }

  @ParameterizedTest
  @EnumSource(RecordType.class)
  void recordSchemaIsVersionedAndClosed(RecordType type) throws IOException {
    JsonNode s = load(type.resourcePath());
    assertEquals("https://json-schema.org/draft/2020-12/schema", s.get("$schema").textValue());
    assertEquals(type.schemaId(), s.get("$id").textValue());
    assertEquals("object", s.get("type").textValue());
    assertTrue(s.get("additionalProperties").isBoolean() && !s.get("additionalProperties").booleanValue());
    List<String> required = new ArrayList<>();
    s.get("required").forEach(n -> required.add(n.textValue()));
    assertEquals("schemaVersion", required.get(0));
    assertEquals("common.schema.json#/$defs/schemaVersion", s.at("/properties/schemaVersion/$ref").textValue());
    for (String r : required) {
      assertTrue(s.get("properties").has(r), type + " requires undeclared " + r);
    }
    JsonNode version = load("schemas/common.schema.json").at("/$defs/schemaVersion");
    assertEquals(1, version.get("const").intValue());
    assertEquals("integer", version.get("type").textValue());
  }

  @Test
  void everyObjectIsClosedAndEveryStringAndArrayBounded() throws IOException {
    List<String> problems = new ArrayList<>();
    List<String> files = new ArrayList<>();
    files.add("schemas/common.schema.json");
    for (RecordType t : RecordType.values()) {
      files.add(t.resourcePath());
    }
    for (String f : files) {
      check(load(f), f + "#", problems);
    }
    assertEquals(List.of(), problems);
  }

  private static void check(JsonNode node, String at, List<String> problems) {
    if (node.isObject()) {
      // an "if" condition only tests a value; it defines nothing and need not be closed
      if (node.has("properties") && !at.endsWith("/if") && !node.path("additionalProperties").isBoolean()) {
        problems.add(at + ": object without additionalProperties: false");
      }
      String type = node.path("type").asText("");
      boolean fixed = node.has("enum") || node.has("const");
      if (type.equals("string") && !fixed && !node.has("maxLength")) {
        problems.add(at + ": string without maxLength");
      }
      if (type.equals("array") && !node.has("maxItems")) {
        problems.add(at + ": array without maxItems");
      }
      if (node.has("pattern")) {
        String p = node.get("pattern").textValue();
        if (!p.startsWith("^") || !p.endsWith("$")) {
          problems.add(at + ": pattern not anchored: " + p);
        }
      }
      node.properties().forEach(e -> check(e.getValue(), at + "/" + e.getKey(), problems));
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        check(node.get(i), at + "/" + i, problems);
      }
    }
  }
}

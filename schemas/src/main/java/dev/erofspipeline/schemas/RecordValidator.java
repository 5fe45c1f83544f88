package dev.erofspipeline.schemas;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.PathType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Checks records against their JSON Schemas and binds them to their Java types. Every consumer
 * reads through {@link #read(Class, byte[])} and every producer writes through {@link
 * #write(Object)}, so a record that does not match its schema never gets past either side.
 *
 * <p>A refused record raises {@link SchemaViolationException}, whose message names each offending
 * field (JSON pointer) and the rule; {@link SchemaViolationException#reasonCode()} is ready for a
 * dead letter. Instances are immutable and thread-safe; the schemas are loaded once per JVM from
 * the classpath ({@code /schemas/*.schema.json}), never from the network.
 */
public final class RecordValidator {
  /** Default largest record accepted: 1 MiB (Kafka's default {@code max.message.bytes} is about that). */
  public static final int DEFAULT_MAX_BYTES = 1024 * 1024;
  /** At most this many violations are reported for one record. */
  public static final int MAX_VIOLATIONS = 20;

  private static final ObjectMapper MAPPER = newObjectMapper();
  private static final Map<RecordType, Schema> SCHEMAS = loadSchemas();
  private static final Set<String> KEYWORDS_NAMING_A_PROPERTY =
      Set.of("required", "additionalProperties", "unevaluatedProperties", "dependentRequired", "propertyNames");
  private static final RecordValidator DEFAULT = new RecordValidator(DEFAULT_MAX_BYTES);

  private final int maxBytes;

  /** A validator accepting records up to {@link #DEFAULT_MAX_BYTES}. */
  public RecordValidator() {
    this(DEFAULT_MAX_BYTES);
  }

  /** A validator accepting records up to {@code maxBytes} bytes of UTF-8 JSON. */
  public RecordValidator(int maxBytes) {
    if (maxBytes < 2) {
      throw new IllegalArgumentException("maxBytes must be at least 2, got " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  /** The shared validator with {@link #DEFAULT_MAX_BYTES}. */
  public static RecordValidator defaults() {
    return DEFAULT;
  }

  public int maxBytes() {
    return maxBytes;
  }

  /**
   * A new ObjectMapper configured as the records need (java.time as ISO-8601 text, strict
   * duplicate-key and trailing-token checks). Use it for anything record-shaped that does not go
   * through this class.
   */
  public static ObjectMapper objectMapper() {
    return MAPPER.copy();
  }

  // ------------------------------------------------------------------ reading

  /** Validates {@code raw} against {@code type}'s schema and binds it. */
  public <T> T read(Class<T> type, byte[] raw) {
    RecordType rt = RecordType.of(type);
    return bind(rt, type, validate(rt, raw));
  }

  /** Validates {@code json} against {@code type}'s schema and binds it. */
  public <T> T read(Class<T> type, String json) {
    RecordType rt = RecordType.of(type);
    return bind(rt, type, validate(rt, json == null ? null : json.getBytes(StandardCharsets.UTF_8)));
  }

  /** Validates an already parsed record (no size check) and binds it. */
  public <T> T read(Class<T> type, JsonNode node) {
    RecordType rt = RecordType.of(type);
    validate(rt, node);
    return bind(rt, type, node);
  }

  /** Validates {@code raw} against {@code type}'s schema and binds it to {@link RecordType#javaType()}. */
  public Object read(RecordType type, byte[] raw) {
    return bind(type, type.javaType(), validate(type, raw));
  }

  /**
   * Checks size, JSON syntax and schema; returns the parsed record.
   *
   * @throws SchemaViolationException if the record is empty, too large, not JSON or not valid
   */
  public JsonNode validate(RecordType type, byte[] raw) {
    Objects.requireNonNull(type, "type");
    if (raw == null || raw.length == 0) {
      throw refuse(type, SchemaViolationException.Kind.EMPTY, "", "json",
          "empty record (" + (raw == null ? "null value" : "0 bytes") + "), expected a JSON object", null);
    }
    if (raw.length > maxBytes) {
      throw refuse(type, SchemaViolationException.Kind.TOO_LARGE, "", "maxBytes",
          "record is " + raw.length + " bytes, larger than the limit of " + maxBytes + " bytes", null);
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(raw);
    } catch (JsonProcessingException e) {
      throw refuse(type, SchemaViolationException.Kind.NOT_JSON, "", "json", "not JSON: " + describe(e), e);
    } catch (IOException e) {
      throw refuse(type, SchemaViolationException.Kind.NOT_JSON, "", "json", "not JSON: " + e.getMessage(), e);
    }
    if (node == null || node.isMissingNode()) {
      throw refuse(type, SchemaViolationException.Kind.EMPTY, "", "json",
          "empty record (only whitespace), expected a JSON object", null);
    }
    validate(type, node);
    return node;
  }

  /**
   * Checks a parsed record against {@code type}'s schema.
   *
   * @throws SchemaViolationException naming every offending field (at most {@link #MAX_VIOLATIONS})
   */
  public void validate(RecordType type, JsonNode node) {
    Objects.requireNonNull(type, "type");
    if (node == null || node.isMissingNode()) {
      throw refuse(type, SchemaViolationException.Kind.EMPTY, "", "json", "empty record, expected a JSON object",
          null);
    }
    List<Error> errors = SCHEMAS.get(type).validate(node);
    if (errors.isEmpty()) {
      return;
    }
    List<SchemaViolationException.Violation> violations = new ArrayList<>();
    for (Error e : errors) {
      if (violations.size() == MAX_VIOLATIONS) {
        break;
      }
      SchemaViolationException.Violation v = toViolation(e);
      if (!violations.contains(v)) {
        violations.add(v);
      }
    }
    throw new SchemaViolationException(type, SchemaViolationException.Kind.SCHEMA, violations, null);
  }

  // ------------------------------------------------------------------ writing

  /**
   * Serializes a record to UTF-8 JSON after checking it against its schema, so a producer cannot
   * send what a consumer would refuse.
   *
   * @throws SchemaViolationException if the record breaks its schema or exceeds {@link #maxBytes()}
   * @throws IllegalArgumentException if {@code record} is not one of the record types
   */
  public byte[] write(Object record) {
    Objects.requireNonNull(record, "record");
    RecordType type = RecordType.of(record.getClass());
    JsonNode node = MAPPER.valueToTree(record);
    validate(type, node);
    byte[] bytes;
    try {
      bytes = MAPPER.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialize " + type.schemaName() + " record", e);
    }
    if (bytes.length > maxBytes) {
      throw refuse(type, SchemaViolationException.Kind.TOO_LARGE, "", "maxBytes",
          "record is " + bytes.length + " bytes, larger than the limit of " + maxBytes + " bytes", null);
    }
    return bytes;
  }

  /** {@link #write(Object)} as a string. */
  public String writeString(Object record) {
    return new String(write(record), StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------ internals

  private static <T> T bind(RecordType rt, Class<T> type, JsonNode node) {
    try {
      return MAPPER.treeToValue(node, type);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      // the schema and the Java type disagree: a bug here, but still the record's refusal
      String msg = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
      throw refuse(rt, SchemaViolationException.Kind.SCHEMA, "", "binding",
          "valid against the schema but cannot be bound to " + type.getSimpleName() + ": " + msg, e);
    }
  }

  private static SchemaViolationException refuse(RecordType type, SchemaViolationException.Kind kind, String pointer,
      String rule, String message, Throwable cause) {
    return new SchemaViolationException(type, kind,
        List.of(new SchemaViolationException.Violation(pointer, rule, message)), cause);
  }

  private static String describe(JsonProcessingException e) {
    String msg = e.getOriginalMessage();
    if (msg != null) {
      int nl = msg.indexOf('\n');
      if (nl >= 0) {
        msg = msg.substring(0, nl);
      }
    }
    JsonLocation loc = e.getLocation();
    if (loc != null && loc.getLineNr() > 0) {
      msg += " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
    }
    return msg;
  }

  private static SchemaViolationException.Violation toViolation(Error e) {
    String pointer = e.getInstanceLocation() == null ? "" : e.getInstanceLocation().toString();
    if ("/".equals(pointer)) {
      pointer = "";
    }
    String keyword = e.getKeyword() == null ? "schema" : e.getKeyword();
    String property = e.getProperty();
    if (property != null && KEYWORDS_NAMING_A_PROPERTY.contains(keyword)) {
      pointer = pointer + "/" + property.replace("~", "~0").replace("/", "~1");
    }
    String message = e.getMessage();
    if (message == null || message.isBlank()) {
      message = "breaks the rule '" + keyword + "'";
    }
    return new SchemaViolationException.Violation(pointer, keyword, message);
  }

  private static ObjectMapper newObjectMapper() {
    return JsonMapper.builder()
        .addModule(new JavaTimeModule())
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .build();
  }

  private static Map<RecordType, Schema> loadSchemas() {
    SchemaRegistryConfig config = SchemaRegistryConfig.builder()
        .pathType(PathType.JSON_POINTER)
        .locale(Locale.ENGLISH)
        .build();
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
        b -> b.schemaRegistryConfig(config)
            .schemaLoader(l -> l.fetchRemoteResources(false)
                .schemaIdResolvers(r -> r.mapPrefix(RecordType.SCHEMA_ID_PREFIX,
                    "classpath:" + RecordType.RESOURCE_FOLDER))));
    Map<RecordType, Schema> schemas = new EnumMap<>(RecordType.class);
    for (RecordType t : RecordType.values()) {
      Schema s = registry.getSchema(SchemaLocation.of(t.schemaId()));
      s.initializeValidators();
      schemas.put(t, s);
    }
    return schemas;
  }
}

package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Topic {@code erofs.dead-letters} (schema {@code dead-letter.schema.json}): an input a stage gave
 * up on, with a reason a person can read.
 *
 * @param stage where it failed
 * @param input the input as bounded text
 * @param errorClass class name of the error
 * @param reasonCode machine-readable reason, e.g. {@code schema-violation}, {@code digest-mismatch}
 * @param message the readable reason (at most {@value #MAX_MESSAGE_CHARS} characters)
 * @param timestamp when it was given up
 * @param attempts how many times it was tried (at least 1)
 * @param layerDigest (optional)
 * @param subjectDigest (optional)
 * @param correlationId (optional: unknown for an input that could not be read)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "stage", "input", "errorClass", "reasonCode", "message", "timestamp",
    "attempts", "layerDigest", "subjectDigest", "correlationId"})
public record DeadLetter(
    Stage stage,
    Input input,
    String errorClass,
    String reasonCode,
    String message,
    Instant timestamp,
    int attempts,
    String layerDigest,
    String subjectDigest,
    String correlationId) {

  public static final int SCHEMA_VERSION = 1;
  /** Largest {@code input.text} the schema allows, in characters. */
  public static final int MAX_INPUT_CHARS = 65536;
  /** Largest {@code message} the schema allows, in characters. */
  public static final int MAX_MESSAGE_CHARS = 8192;

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /**
   * A dead letter for {@code error}, its message cut to {@link #MAX_MESSAGE_CHARS} (the error's class
   * name stands in for an empty message).
   */
  public static DeadLetter of(Stage stage, Input input, Throwable error, String reasonCode, int attempts,
      String correlationId) {
    String msg = error.getMessage();
    if (msg == null || msg.isBlank()) {
      msg = error.getClass().getName();
    }
    return new DeadLetter(stage, input, error.getClass().getName(), reasonCode, truncate(msg, MAX_MESSAGE_CHARS),
        Instant.now(), Math.max(1, attempts), null, null, correlationId);
  }

  /** This dead letter, about the layer {@code digest}. */
  public DeadLetter withLayerDigest(String digest) {
    return new DeadLetter(stage, input, errorClass, reasonCode, message, timestamp, attempts, digest, subjectDigest,
        correlationId);
  }

  /** {@code s} cut to at most {@code max} characters, never splitting a surrogate pair. */
  public static String truncate(String s, int max) {
    if (s == null || s.length() <= max) {
      return s;
    }
    int end = max;
    if (end > 0 && Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(0, end);
  }

  /** The stage that gave up. */
  public enum Stage {
    @JsonProperty("ingest") INGEST,
    @JsonProperty("webhook") WEBHOOK,
    @JsonProperty("backfill") BACKFILL,
    @JsonProperty("convert") CONVERT,
    @JsonProperty("publish") PUBLISH,
    @JsonProperty("sign") SIGN
  }

  /**
   * The failed input.
   *
   * @param topic Kafka topic it came from (optional)
   * @param partition (optional)
   * @param offset (optional)
   * @param key record key as text (optional, at most 1024 characters)
   * @param text the value as UTF-8 text (invalid bytes replaced), at most {@link #MAX_INPUT_CHARS}
   * @param truncated whether {@code text} was cut
   * @param sizeBytes size of the whole input in bytes
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"topic", "partition", "offset", "key", "text", "truncated", "sizeBytes"})
  public record Input(String topic, Integer partition, Long offset, String key, String text, boolean truncated,
      long sizeBytes) {

    /** An input from raw bytes (null is an empty input), without Kafka coordinates. */
    public static Input of(byte[] value) {
      return of(null, null, null, null, value);
    }

    /** An input from a Kafka record; its text is bounded to {@link #MAX_INPUT_CHARS} characters. */
    public static Input of(String topic, Integer partition, Long offset, String key, byte[] value) {
      byte[] v = value == null ? new byte[0] : value;
      // decode at most 4 bytes per char we keep: bounded work for an oversized record
      int take = (int) Math.min(v.length, 4L * MAX_INPUT_CHARS);
      CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPLACE)
          .onUnmappableCharacter(CodingErrorAction.REPLACE);
      String decoded;
      try {
        CharBuffer cb = dec.decode(ByteBuffer.wrap(v, 0, take));
        decoded = cb.toString();
      } catch (java.nio.charset.CharacterCodingException e) {
        decoded = "";
      }
      String text = truncate(decoded, MAX_INPUT_CHARS);
      boolean truncated = take < v.length || text.length() < decoded.length();
      return new Input(topic, partition, offset, truncate(key, 1024), text, truncated, v.length);
    }
  }
}

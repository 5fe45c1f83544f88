package dev.erofspipeline.schemas;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A record was refused: not JSON, too large, or not valid against its schema. The message names
 * the record type, each offending field as a JSON pointer and the rule it broke, for example
 * {@code layer-job record refused: /layer/digest: does not match the pattern ^sha256:[0-9a-f]{64}$
 * [pattern]}.
 */
public class SchemaViolationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What kind of refusal. {@link #reasonCode()} gives it as a dead-letter reason code. */
  public enum Kind {
    /** Null or zero bytes. */
    EMPTY("empty-record"),
    /** Larger than the configured maximum. */
    TOO_LARGE("record-too-large"),
    /** Not parseable as one JSON value. */
    NOT_JSON("not-json"),
    /** Valid JSON that breaks its schema. */
    SCHEMA("schema-violation");

    private final String reasonCode;

    Kind(String reasonCode) {
      this.reasonCode = reasonCode;
    }

    public String reasonCode() {
      return reasonCode;
    }
  }

  /**
   * One broken rule.
   *
   * @param pointer JSON pointer of the offending field ({@code ""} for the whole record)
   * @param rule the schema keyword, e.g. {@code required}, {@code pattern}, {@code type}
   * @param message readable explanation
   */
  public record Violation(String pointer, String rule, String message) {
    @Override
    public String toString() {
      return (pointer.isEmpty() ? "(record)" : pointer) + ": " + message + " [" + rule + "]";
    }
  }

  private final RecordType recordType;
  private final Kind kind;
  private final List<Violation> violations;

  public SchemaViolationException(RecordType recordType, Kind kind, List<Violation> violations, Throwable cause) {
    super(format(recordType, violations), cause);
    this.recordType = recordType;
    this.kind = kind;
    this.violations = List.copyOf(violations);
  }

  private static String format(RecordType type, List<Violation> violations) {
    String what = type == null ? "record" : type.schemaName() + " record";
    return what + " refused: " + violations.stream().map(Violation::toString).collect(Collectors.joining("; "));
  }

  public RecordType recordType() {
    return recordType;
  }

  public Kind kind() {
    return kind;
  }

  /** Reason code for a dead letter: {@code schema-violation}, {@code not-json}, {@code record-too-large}, {@code empty-record}. */
  public String reasonCode() {
    return kind.reasonCode();
  }

  /** Every broken rule, in document order (at least one). */
  public List<Violation> violations() {
    return violations;
  }
}

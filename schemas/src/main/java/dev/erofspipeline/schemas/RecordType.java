package dev.erofspipeline.schemas;

import java.util.Optional;

/** Every record kind: its schema resource, its Java type and, for Kafka records, its base topic. */
public enum RecordType {
  IMAGE_REQUEST("image-request", ImageRequest.class, Topics.IMAGE_REQUESTS),
  LAYER_JOB("layer-job", LayerJob.class, Topics.LAYER_JOBS),
  LAYER_RESULT("layer-result", LayerResult.class, Topics.LAYER_RESULTS),
  IMAGE_RECORD("image-record", ImageRecord.class, Topics.IMAGES),
  IMAGE_STATUS("image-status", ImageStatus.class, Topics.STATUS),
  DEAD_LETTER("dead-letter", DeadLetter.class, Topics.DEAD_LETTERS),
  SIGNING_REQUEST("signing-request", SigningRequest.class, Topics.SIGNING_REQUESTS),
  SIGNATURE("signature", RootHashSignature.class, Topics.SIGNATURES),
  /** {@code result.json} in S3 (not a Kafka record of its own). */
  RESULT_DOCUMENT("result", ResultDocument.class, null);

  /** Prefix of every schema's {@code $id}; the schema files are under {@code /schemas/} on the classpath. */
  public static final String SCHEMA_ID_PREFIX = "https://erofs-pipeline.dev/schemas/";
  /** Classpath folder holding the schema files. */
  public static final String RESOURCE_FOLDER = "schemas/";

  private final String schemaName;
  private final Class<?> javaType;
  private final String topic;

  RecordType(String schemaName, Class<?> javaType, String topic) {
    this.schemaName = schemaName;
    this.javaType = javaType;
    this.topic = topic;
  }

  /** Short name used in messages, e.g. {@code layer-job}. */
  public String schemaName() {
    return schemaName;
  }

  /** File name of the schema, e.g. {@code layer-job.schema.json}. */
  public String schemaFile() {
    return schemaName + ".schema.json";
  }

  /** Classpath resource of the schema, e.g. {@code schemas/layer-job.schema.json}. */
  public String resourcePath() {
    return RESOURCE_FOLDER + schemaFile();
  }

  /** The schema's {@code $id}. */
  public String schemaId() {
    return SCHEMA_ID_PREFIX + schemaFile();
  }

  public Class<?> javaType() {
    return javaType;
  }

  /** Base topic name (without prefix), empty for {@link #RESULT_DOCUMENT}. */
  public Optional<String> topic() {
    return Optional.ofNullable(topic);
  }

  /** The record type bound to {@code type}. */
  public static RecordType of(Class<?> type) {
    for (RecordType t : values()) {
      if (t.javaType.equals(type)) {
        return t;
      }
    }
    throw new IllegalArgumentException(type.getName() + " is not a record type with a schema");
  }

  /** The record type carried by a base topic name (one of {@link Topics}' constants). */
  public static Optional<RecordType> forTopic(String baseTopic) {
    for (RecordType t : values()) {
      if (t.topic != null && t.topic.equals(baseTopic)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}

package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * Topic {@code erofs.layer-results}, keyed by layer digest (schema {@code layer-result.schema.json}):
 * emitted once the staged objects are durable in S3.
 *
 * @param result the {@code result.json} document
 * @param staging where the objects are
 * @param registry where the layer blob was read from (optional)
 * @param repository (optional)
 * @param reused true when the result already existed and nothing was converted
 * @param correlationId carried through every stage
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "result", "staging", "registry", "repository", "reused", "correlationId"})
public record LayerResult(
    ResultDocument result,
    Staging staging,
    String registry,
    String repository,
    boolean reused,
    String correlationId) {

  public static final int SCHEMA_VERSION = 1;

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /** The Kafka key of this record. */
  public String key() {
    return result == null ? null : result.layerDigest();
  }

  /**
   * S3 bucket and object keys of {@code index.erofs}, {@code tree.verity} and {@code result.json}
   * (tar-index profile), or of {@code layer.erofs} ({@code blobKey}) and {@code result.json} (native
   * profile).
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"bucket", "indexKey", "treeKey", "resultKey", "blobKey"})
  public record Staging(String bucket, String indexKey, String treeKey, String resultKey, String blobKey) {
    /** A tar-index staging. */
    public Staging(String bucket, String indexKey, String treeKey, String resultKey) {
      this(bucket, indexKey, treeKey, resultKey, null);
    }
  }
}

package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.List;

/**
 * Compacted topic {@code erofs.status}, keyed by subject digest (schema {@code
 * image-status.schema.json}): the latest state of one image manifest and each of its layers.
 *
 * @param subjectDigest the image manifest
 * @param registry {@code host[:port]} or {@code oci:DIR}
 * @param repository repository of the image
 * @param reference as requested (optional)
 * @param platform (optional)
 * @param state queued, converting, publishing, published or failed
 * @param layersTotal number of layers of the image
 * @param layersDone layers converted so far ("converting n/m")
 * @param reason why it failed; required when {@code state} is {@link State#FAILED}
 * @param reasonCode machine-readable reason (optional)
 * @param layers per-layer states
 * @param messages notes for people (optional, may be empty)
 * @param profile (optional)
 * @param correlationId (optional)
 * @param updatedAt when this status was written
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "subjectDigest", "registry", "repository", "reference", "platform", "state",
    "layersTotal", "layersDone", "reason", "reasonCode", "layers", "messages", "profile", "correlationId",
    "updatedAt"})
public record ImageStatus(
    String subjectDigest,
    String registry,
    String repository,
    String reference,
    String platform,
    State state,
    int layersTotal,
    int layersDone,
    String reason,
    String reasonCode,
    List<Layer> layers,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> messages,
    ConversionProfile profile,
    String correlationId,
    Instant updatedAt) {

  public static final int SCHEMA_VERSION = 1;

  public ImageStatus {
    layers = layers == null ? List.of() : List.copyOf(layers);
    messages = messages == null ? List.of() : List.copyOf(messages);
  }

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /** The Kafka key of this record. */
  public String key() {
    return subjectDigest;
  }

  /** State of the image. */
  public enum State {
    @JsonProperty("queued") QUEUED,
    @JsonProperty("converting") CONVERTING,
    @JsonProperty("publishing") PUBLISHING,
    @JsonProperty("published") PUBLISHED,
    @JsonProperty("failed") FAILED
  }

  /** State of one layer. {@code unsupported}: a layer type the pipeline cannot convert. */
  public enum LayerState {
    @JsonProperty("queued") QUEUED,
    @JsonProperty("converting") CONVERTING,
    @JsonProperty("converted") CONVERTED,
    @JsonProperty("signed") SIGNED,
    @JsonProperty("published") PUBLISHED,
    @JsonProperty("failed") FAILED,
    @JsonProperty("unsupported") UNSUPPORTED
  }

  /**
   * One layer's state, with a reason when it failed or is unsupported.
   *
   * @param size bytes of the layer blob as the manifest gives them (optional: progress in MB/s)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"digest", "size", "state", "reason"})
  public record Layer(String digest, Long size, LayerState state, String reason) {
    /** A layer whose size is not given. */
    public Layer(String digest, LayerState state, String reason) {
      this(digest, null, state, reason);
    }
  }
}

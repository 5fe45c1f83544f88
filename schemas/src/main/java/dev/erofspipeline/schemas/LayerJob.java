package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * Topic {@code erofs.layer-jobs}, keyed by layer digest (schema {@code layer-job.schema.json}): one
 * layer for a convert-worker.
 *
 * @param registry {@code host[:port]} or {@code oci:DIR}
 * @param repository repository the blob is read from
 * @param layer the layer descriptor as in the manifest
 * @param diffId expected sha256 of the uncompressed tar
 * @param profile conversion profile
 * @param subjects image manifests containing the layer (at least one)
 * @param priority {@link Priority#NORMAL} when absent
 * @param force convert even if a result exists
 * @param correlationId carried through every stage
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "registry", "repository", "layer", "diffId", "profile", "subjects",
    "priority", "force", "correlationId"})
public record LayerJob(
    String registry,
    String repository,
    Descriptor layer,
    String diffId,
    ConversionProfile profile,
    List<Subject> subjects,
    Priority priority,
    boolean force,
    String correlationId) {

  public static final int SCHEMA_VERSION = 1;

  public LayerJob {
    subjects = subjects == null ? List.of() : List.copyOf(subjects);
    priority = priority == null ? Priority.NORMAL : priority;
  }

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /** The Kafka key of this record. */
  public String key() {
    return layer == null ? null : layer.digest();
  }

  /**
   * A layer descriptor.
   *
   * @param mediaType one of {@link MediaTypes#CONVERTIBLE_LAYERS}
   * @param urls alternate locations of a non-distributable layer; empty for ordinary layers
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"digest", "size", "mediaType", "urls"})
  public record Descriptor(
      String digest, long size, String mediaType, @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> urls) {
    public Descriptor {
      urls = urls == null ? List.of() : List.copyOf(urls);
    }

    public Descriptor(String digest, long size, String mediaType) {
      this(digest, size, mediaType, List.of());
    }
  }

  /** An image manifest that contains the layer. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"repository", "digest", "platform"})
  public record Subject(String repository, String digest, String platform) {}
}

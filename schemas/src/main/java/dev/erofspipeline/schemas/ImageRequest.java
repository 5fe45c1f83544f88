package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.List;

/**
 * Topic {@code erofs.image-requests} (schema {@code image-request.schema.json}): convert and
 * publish one image reference.
 *
 * @param reference {@code host[:port]/repo[:tag][@sha256:hex]} (optionally {@code docker://...}) or
 *     {@code oci:DIR[:tag]}
 * @param platforms only these platforms ({@code os/arch[/variant]}) of an index; empty means all
 * @param priority scheduling hint, {@link Priority#NORMAL} when absent
 * @param force convert again even if results exist
 * @param correlationId carried through every stage
 * @param submittedAt optional
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "reference", "platforms", "priority", "force", "correlationId", "submittedAt"})
public record ImageRequest(
    String reference,
    List<String> platforms,
    Priority priority,
    boolean force,
    String correlationId,
    Instant submittedAt) {

  public static final int SCHEMA_VERSION = 1;

  public ImageRequest {
    platforms = platforms == null ? List.of() : List.copyOf(platforms);
    priority = priority == null ? Priority.NORMAL : priority;
  }

  /** A request for every platform, normal priority, not forced. */
  public static ImageRequest of(String reference, String correlationId) {
    return new ImageRequest(reference, List.of(), Priority.NORMAL, false, correlationId, null);
  }

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }
}

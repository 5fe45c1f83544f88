package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * Topic {@code erofs.images}, keyed by subject digest (schema {@code image-record.schema.json}):
 * one platform image manifest and its ordered layers, so the publisher knows when it is complete.
 *
 * @param registry {@code host[:port]} or {@code oci:DIR}
 * @param repository repository of the image
 * @param subject the image manifest (digest, media type, size)
 * @param platform {@code os/arch[/variant]} when known (optional)
 * @param indexDigest the index the manifest was reached through (optional)
 * @param reference the reference as requested (optional)
 * @param layers the manifest's layers, in order, with their diffIDs
 * @param profile conversion profile
 * @param correlationId carried through every stage
 * @param nativeImage set when the native profile is on: the image is also published as an EROFS
 *     image (optional)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "registry", "repository", "subject", "platform", "indexDigest", "reference",
    "layers", "profile", "correlationId", "nativeImage"})
public record ImageRecord(
    String registry,
    String repository,
    Subject subject,
    String platform,
    String indexDigest,
    String reference,
    List<Layer> layers,
    ConversionProfile profile,
    String correlationId,
    NativeImage nativeImage) {

  public static final int SCHEMA_VERSION = 1;

  @JsonCreator
  public ImageRecord {
    layers = layers == null ? List.of() : List.copyOf(layers);
  }

  /** A record without the native profile. */
  public ImageRecord(String registry, String repository, Subject subject, String platform, String indexDigest,
      String reference, List<Layer> layers, ConversionProfile profile, String correlationId) {
    this(registry, repository, subject, platform, indexDigest, reference, layers, profile, correlationId, null);
  }

  /** This record with {@code n} as its native part. */
  public ImageRecord withNativeImage(NativeImage n) {
    return new ImageRecord(registry, repository, subject, platform, indexDigest, reference, layers, profile,
        correlationId, n);
  }

  /**
   * The native profile's part of an image record: every layer also needs a result under {@code
   * profile}, and the EROFS image index lists the legacy manifests and the EROFS twins of {@code
   * manifests}.
   *
   * @param profile the native conversion profile
   * @param manifests the image manifests of the same request in index order (this one included): the
   *     EROFS index is written once all of them have their EROFS twin
   */
  @JsonPropertyOrder({"profile", "manifests"})
  public record NativeImage(ConversionProfile profile, List<String> manifests) {
    public NativeImage {
      manifests = manifests == null ? List.of() : List.copyOf(manifests);
    }
  }

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /** The Kafka key of this record. */
  public String key() {
    return subject == null ? null : subject.digest();
  }

  /** The image manifest: {@link MediaTypes#OCI_MANIFEST} or {@link MediaTypes#DOCKER_MANIFEST}. */
  @JsonPropertyOrder({"digest", "mediaType", "size"})
  public record Subject(String digest, String mediaType, long size) {}

  /** A layer descriptor of the manifest with the diffID from the image config. */
  @JsonPropertyOrder({"digest", "size", "mediaType", "diffId"})
  public record Layer(String digest, long size, String mediaType, String diffId) {}
}

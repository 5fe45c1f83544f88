package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * Topic {@code erofs.signing-requests}, keyed by layer digest (schema {@code
 * signing-request.schema.json}): asks a signer for a detached PKCS#7 signature (DER, no signed
 * attributes, SHA-256, RSA PKCS#1 v1.5) over the 64 ASCII bytes of the lowercase hex root hash.
 *
 * @param profile (optional)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "layerDigest", "rootHash", "profile", "correlationId"})
public record SigningRequest(String layerDigest, String rootHash, ConversionProfile profile, String correlationId) {

  public static final int SCHEMA_VERSION = 1;

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /** The Kafka key of this record. */
  public String key() {
    return layerDigest;
  }
}

package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * Topic {@code erofs.signatures}, keyed by layer digest (schema {@code signature.schema.json}): a
 * signer's answer to a {@link SigningRequest}.
 *
 * @param signature base64 of the DER CMS SignedData (detached) over the ASCII root hash
 * @param certificateChain base64 DER certificates, signer first
 * @param signer name of the signer implementation or key (optional)
 * @param signedAt (optional)
 * @param profile (optional)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "layerDigest", "rootHash", "signature", "certificateChain", "signer",
    "signedAt", "profile", "correlationId"})
public record RootHashSignature(
    String layerDigest,
    String rootHash,
    String signature,
    List<String> certificateChain,
    String signer,
    Instant signedAt,
    ConversionProfile profile,
    String correlationId) {

  public static final int SCHEMA_VERSION = 1;

  public RootHashSignature {
    certificateChain = certificateChain == null ? List.of() : List.copyOf(certificateChain);
  }

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /** The Kafka key of this record. */
  public String key() {
    return layerDigest;
  }

  /** The DER bytes of the signature. */
  public byte[] signatureDer() {
    return Base64.getDecoder().decode(signature);
  }

  /** The DER bytes of each certificate, signer first. */
  public List<byte[]> certificateChainDer() {
    return certificateChain.stream().map(c -> Base64.getDecoder().decode(c)).toList();
  }
}

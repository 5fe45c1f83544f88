package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;

/**
 * {@code result.json} next to {@code index.erofs} and {@code tree.verity} in S3 (schema {@code
 * result.schema.json}); also the {@code result} of a {@link LayerResult}.
 *
 * @param layerDigest compressed layer digest {@code sha256:<hex>} as in the manifest
 * @param diffId {@code sha256:<hex>} of the uncompressed tar
 * @param tarSize size of the uncompressed tar (optional)
 * @param indexSize size of {@code index.erofs}
 * @param indexSha256 lowercase hex sha256 of {@code index.erofs} (no {@code sha256:} prefix)
 * @param treeSize size of {@code tree.verity}
 * @param treeSha256 lowercase hex sha256 of {@code tree.verity}
 * @param rootHash dm-verity root hash, lowercase hex
 * @param salt dm-verity salt, lowercase hex
 * @param hashAlgorithm {@code sha256}
 * @param dataBlockSize dm-verity data block size (512 per the consumer contract)
 * @param hashBlockSize dm-verity hash block size (512 per the consumer contract)
 * @param dataBlocks number of data blocks of {@code index || tar}
 * @param erofsUuid the EROFS superblock UUID
 * @param verityUuid the verity superblock UUID
 * @param erofsUtilsVersion mkfs.erofs version whose output the index matches, e.g. {@code 1.9.3}
 * @param converterVersion version of this project's converter
 * @param profile conversion profile (its fingerprint is part of the S3 key)
 * @param createdAt optional
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "layerDigest", "diffId", "tarSize", "indexSize", "indexSha256", "treeSize",
    "treeSha256", "rootHash", "salt", "hashAlgorithm", "dataBlockSize", "hashBlockSize", "dataBlocks", "erofsUuid",
    "verityUuid", "erofsUtilsVersion", "converterVersion", "profile", "createdAt"})
public record ResultDocument(
    String layerDigest,
    String diffId,
    Long tarSize,
    long indexSize,
    String indexSha256,
    long treeSize,
    String treeSha256,
    String rootHash,
    String salt,
    String hashAlgorithm,
    int dataBlockSize,
    int hashBlockSize,
    long dataBlocks,
    String erofsUuid,
    String verityUuid,
    String erofsUtilsVersion,
    String converterVersion,
    ConversionProfile profile,
    Instant createdAt) {

  public static final int SCHEMA_VERSION = 1;
  /** Name of the object in the layer's S3 folder. */
  public static final String FILE_NAME = "result.json";
  /** The only hash algorithm produced. */
  public static final String SHA256 = "sha256";

  public ResultDocument {
    hashAlgorithm = hashAlgorithm == null ? SHA256 : hashAlgorithm;
  }

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }
}

package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;

/**
 * {@code result.json} next to {@code index.erofs} and {@code tree.verity} (tar-index profile) or
 * {@code layer.erofs} (native profile, {@code blob} set; the index and tree fields and {@code
 * erofsUtilsVersion} are then absent) in S3 (schema {@code result.schema.json}); also the {@code
 * result} of a {@link LayerResult}.
 *
 * @param layerDigest compressed layer digest {@code sha256:<hex>} as in the manifest
 * @param diffId {@code sha256:<hex>} of the uncompressed tar
 * @param tarSize size of the uncompressed tar (optional)
 * @param indexSize size of {@code index.erofs} (tar-index profile)
 * @param indexSha256 lowercase hex sha256 of {@code index.erofs} (no {@code sha256:} prefix)
 * @param treeSize size of {@code tree.verity}
 * @param treeSha256 lowercase hex sha256 of {@code tree.verity}
 * @param rootHash dm-verity root hash, lowercase hex
 * @param salt dm-verity salt, lowercase hex
 * @param hashAlgorithm {@code sha256}
 * @param dataBlockSize dm-verity data block size (512 per the consumer contract)
 * @param hashBlockSize dm-verity hash block size (512 per the consumer contract)
 * @param dataBlocks number of data blocks of {@code index || tar}, or of the native EROFS image
 * @param erofsUuid the EROFS superblock UUID
 * @param verityUuid the verity superblock UUID
 * @param erofsUtilsVersion mkfs.erofs version whose output the index matches, e.g. {@code 1.9.3}
 * @param converterVersion version of this project's converter
 * @param profile conversion profile (its fingerprint is part of the S3 key)
 * @param createdAt optional
 * @param blob the native profile's {@code layer.erofs}; null for the tar-index profile
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(value = "schemaVersion", allowGetters = true)
@JsonPropertyOrder({"schemaVersion", "layerDigest", "diffId", "tarSize", "indexSize", "indexSha256", "treeSize",
    "treeSha256", "rootHash", "salt", "hashAlgorithm", "dataBlockSize", "hashBlockSize", "dataBlocks", "erofsUuid",
    "verityUuid", "erofsUtilsVersion", "converterVersion", "profile", "createdAt", "blob"})
public record ResultDocument(
    String layerDigest,
    String diffId,
    Long tarSize,
    Long indexSize,
    String indexSha256,
    Long treeSize,
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
    Instant createdAt,
    NativeBlob blob) {

  public static final int SCHEMA_VERSION = 1;
  /** Name of the object in the layer's S3 folder. */
  public static final String FILE_NAME = "result.json";
  /** The only hash algorithm produced. */
  public static final String SHA256 = "sha256";

  @JsonCreator
  public ResultDocument {
    hashAlgorithm = hashAlgorithm == null ? SHA256 : hashAlgorithm;
  }

  /** A tar-index result. */
  public ResultDocument(String layerDigest, String diffId, Long tarSize, long indexSize, String indexSha256,
      long treeSize, String treeSha256, String rootHash, String salt, String hashAlgorithm, int dataBlockSize,
      int hashBlockSize, long dataBlocks, String erofsUuid, String verityUuid, String erofsUtilsVersion,
      String converterVersion, ConversionProfile profile, Instant createdAt) {
    this(layerDigest, diffId, tarSize, (Long) indexSize, indexSha256, (Long) treeSize, treeSha256, rootHash, salt,
        hashAlgorithm, dataBlockSize, hashBlockSize, dataBlocks, erofsUuid, verityUuid, erofsUtilsVersion,
        converterVersion, profile, createdAt, null);
  }

  /**
   * The native profile's {@code layer.erofs}: {@code [EROFS image][verity superblock][tree]}.
   *
   * @param size bytes of the blob
   * @param sha256 lowercase hex sha256 of the blob (its OCI digest without {@code sha256:})
   * @param hashOffset bytes of the EROFS image, where the verity superblock starts (a multiple of the
   *     data block size)
   */
  @JsonPropertyOrder({"size", "sha256", "hashOffset"})
  public record NativeBlob(long size, String sha256, long hashOffset) {
    /** The blob's OCI digest. */
    @JsonIgnore
    public String digest() {
      return "sha256:" + sha256;
    }
  }

  /** Whether this is a native-profile result. */
  @JsonIgnore
  public boolean isNative() {
    return blob != null;
  }

  @JsonProperty("schemaVersion")
  public int schemaVersion() {
    return SCHEMA_VERSION;
  }
}

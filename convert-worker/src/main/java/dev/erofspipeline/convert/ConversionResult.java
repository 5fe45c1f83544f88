package dev.erofspipeline.convert;

/**
 * What one layer conversion produced: the fields of the {@code convert-layer} JSON and of the S3
 * {@code result.json} (see ARCHITECTURE.md). Digests are {@code sha256:<hex>}, the root hash and
 * artifact digests plain lowercase hex, sizes in bytes.
 *
 * @param layerDigest D, the sha256 of the blob as received
 * @param diffId sha256 of the whole uncompressed tar
 * @param rootHash dm-verity root hash over index || tar
 * @param erofsUuid UUID in the EROFS superblock (v5 of {@code "erofs:blobs/" + D})
 * @param verityUuid UUID in the verity superblock (v5 of {@code "dmverity:blobs/" + D})
 * @param indexSize bytes of the tar index
 * @param indexSha256 hex sha256 of the tar index
 * @param treeSize bytes of the hash device (superblock and tree)
 * @param treeSha256 hex sha256 of the hash device
 * @param dataBlocks 512-byte data blocks covered by the tree ((index + tar) / 512)
 * @param salt the verity salt, hex
 * @param erofsUtilsVersion the mkfs.erofs version whose output the index reproduces
 */
public record ConversionResult(
    String layerDigest,
    String diffId,
    String rootHash,
    String erofsUuid,
    String verityUuid,
    long indexSize,
    String indexSha256,
    long treeSize,
    String treeSha256,
    long dataBlocks,
    String salt,
    String erofsUtilsVersion) {}

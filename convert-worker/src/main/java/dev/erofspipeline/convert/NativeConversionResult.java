package dev.erofspipeline.convert;

/**
 * What one native conversion produced: a full EROFS image with its dm-verity tree appended, as one
 * blob {@code [image][verity superblock][tree]}. Digests are {@code sha256:<hex>}, the root hash
 * and the blob digest plain lowercase hex, sizes in bytes.
 *
 * @param layerDigest D, the sha256 of the blob as received
 * @param diffId sha256 of the whole uncompressed tar
 * @param rootHash dm-verity root hash over the EROFS image (data blocks of 4096 bytes)
 * @param erofsUuid UUID in the EROFS superblock (v5 of {@code "erofs-native:blobs/" + D})
 * @param verityUuid UUID in the verity superblock (v5 of {@code "dmverity:blobs/" + D})
 * @param imageSize bytes of the EROFS image, which is also the verity hash offset; a multiple of
 *     4096
 * @param blobSize bytes written: image, verity superblock (padded to a hash block) and tree
 * @param blobSha256 hex sha256 of everything written (the OCI blob digest)
 * @param dataBlocks data blocks covered by the tree: imageSize / 4096
 * @param blockSize data and hash block size: 4096
 * @param salt the verity salt, hex
 */
public record NativeConversionResult(
    String layerDigest,
    String diffId,
    String rootHash,
    String erofsUuid,
    String verityUuid,
    long imageSize,
    long blobSize,
    String blobSha256,
    long dataBlocks,
    int blockSize,
    String salt) {}

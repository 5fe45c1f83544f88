package dev.erofspipeline.convert.erofs;

/**
 * A finished EROFS tar index.
 *
 * @param image the index, P * 512 bytes, checksum set; append the tar to get one mountable image
 * @param tarBytesUsed tar offset just after the second end-of-archive block (or the tar length if
 *     it has none): what the index's device table covers
 * @param inodeCount inodes in the image
 */
public record TarIndex(byte[] image, long tarBytesUsed, long inodeCount) {}

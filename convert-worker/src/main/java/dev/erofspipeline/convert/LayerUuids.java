package dev.erofspipeline.convert;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.UUID;

/**
 * The name-based UUIDs of the consumer contract (sections 2 and 3): version 5 (SHA-1) in the URL
 * namespace, of {@code "erofs:blobs/" + D} for the EROFS superblock and {@code "dmverity:blobs/" +
 * D} for the verity superblock, where D is the compressed layer digest {@code sha256:<hex>}. A
 * native (full) image of the layer is a different filesystem, so its superblock gets a name of its
 * own, {@code "erofs-native:blobs/" + D}; its verity superblock uses the contract's name.
 */
public final class LayerUuids {
  /** RFC 4122 namespace for URLs. */
  public static final UUID NAMESPACE_URL = UUID.fromString("6ba7b811-9dad-11d1-80b4-00c04fd430c8");

  private LayerUuids() {}

  public static UUID erofs(String layerDigest) {
    return nameUuidV5(NAMESPACE_URL, "erofs:blobs/" + layerDigest);
  }

  /** The EROFS superblock UUID of the layer's native (full) image. */
  public static UUID erofsNative(String layerDigest) {
    return nameUuidV5(NAMESPACE_URL, "erofs-native:blobs/" + layerDigest);
  }

  public static UUID verity(String layerDigest) {
    return nameUuidV5(NAMESPACE_URL, "dmverity:blobs/" + layerDigest);
  }

  /** RFC 4122 section 4.3 with SHA-1: hash of namespace bytes then the UTF-8 name. */
  public static UUID nameUuidV5(UUID namespace, String name) {
    MessageDigest sha1;
    try {
      sha1 = MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha1.update(
        ByteBuffer.allocate(16)
            .putLong(namespace.getMostSignificantBits())
            .putLong(namespace.getLeastSignificantBits())
            .array());
    byte[] h = sha1.digest(name.getBytes(StandardCharsets.UTF_8));
    h[6] = (byte) ((h[6] & 0x0f) | 0x50);
    h[8] = (byte) ((h[8] & 0x3f) | 0x80);
    ByteBuffer b = ByteBuffer.wrap(h, 0, 16);
    return new UUID(b.getLong(), b.getLong());
  }
}

package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A conversion profile: a name for people and the fingerprint of its parameters (lowercase hex, 16
 * to 64 characters). The fingerprint is part of every S3 key: a layer already converted under the
 * same fingerprint is not converted again, and changing any parameter that changes output bytes
 * (a new mkfs.erofs version to match, other verity parameters) gives a new fingerprint, so a
 * nightly re-conversion under the new profile does not collide with the old results.
 */
@JsonPropertyOrder({"name", "fingerprint"})
public record ConversionProfile(String name, String fingerprint) {

  /**
   * The tar-index profile of consumer-contract.md sections 2 and 3. The parameter text is hashed
   * as written; edit it whenever the bytes the converter produces would change.
   */
  public static final ConversionProfile TAR_INDEX =
      fromParameters(
          "tar-index",
          "index=mkfs.erofs 1.9.3 --tar=i --aufs --quiet -T0 --mkfs-time -U v5(url,erofs:blobs/D);"
              + "verity=sha256 type 1 data 512 hash 512 salt 32x00 superblock uuid v5(url,dmverity:blobs/D)");

  /**
   * The native profile (issue 9): each layer becomes a complete EROFS image (4096-byte blocks,
   * uncompressed) with its dm-verity superblock and tree appended ({@code layer.erofs}), published as
   * an {@link MediaTypes#EROFS_LAYER} layer of a new image manifest. The parameter text is hashed as
   * written; edit it whenever the bytes the native converter produces would change.
   */
  public static final ConversionProfile NATIVE =
      fromParameters(
          "native",
          "image=erofs-pipeline NativeLayerConverter 1, full EROFS, block 4096, uncompressed,"
              + " uuid v5(url,erofs-native:blobs/D);"
              + "verity=sha256 type 1 data 4096 hash 4096 salt 32x00 appended at the image size,"
              + " superblock uuid v5(url,dmverity:blobs/D)");

  /** Whether this is the {@link #NATIVE} profile (the worker's converter and the publisher follow it). */
  @JsonIgnore
  public boolean isNative() {
    return NATIVE.equals(this);
  }

  /** A profile whose fingerprint is the first 16 hex digits of the sha256 of {@code parameters}. */
  public static ConversionProfile fromParameters(String name, String parameters) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(parameters.getBytes(StandardCharsets.UTF_8));
      return new ConversionProfile(name, HexFormat.of().formatHex(d, 0, 8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}

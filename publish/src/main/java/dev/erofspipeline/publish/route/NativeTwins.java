package dev.erofspipeline.publish.route;

import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.IOException;
import java.util.Optional;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The EROFS twins published so far, kept in S3 ({@code <prefix>/native/<image manifest hex>-<profile
 * fingerprint>.json}, the twin manifest's bytes): the image index that lists the twins of every
 * platform of a request is written by whichever publication finds all of them there, so platforms
 * published by different processes, or before a restart, still end up in one index. Each twin is
 * written before the others are looked up, so of two publications finishing together at least one
 * sees both.
 */
final class NativeTwins {

  private final S3Client s3;
  private final String bucket;
  private final String folder;

  NativeTwins(S3Client s3, String bucket, String prefix) {
    this.s3 = s3;
    this.bucket = bucket;
    String p = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    this.folder = (p.isEmpty() ? "" : p + "/") + "native/";
  }

  private String key(String legacyDigest, ConversionProfile profile) {
    return folder + legacyDigest.substring(legacyDigest.indexOf(':') + 1) + "-" + profile.fingerprint() + ".json";
  }

  void put(String legacyDigest, ConversionProfile profile, Manifest twin) throws IOException {
    String key = key(legacyDigest, profile);
    try {
      s3.putObject(b -> b.bucket(bucket).key(key).contentType(MediaTypes.OCI_MANIFEST), RequestBody.fromBytes(twin.bytes()));
    } catch (RuntimeException e) {
      throw new IOException("writing " + key + ": " + e.getMessage(), e);
    }
  }

  Optional<Manifest> get(String legacyDigest, ConversionProfile profile) throws IOException {
    String key = key(legacyDigest, profile);
    try {
      return Optional.of(Manifest.of(s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray(), MediaTypes.OCI_MANIFEST));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw new IOException("reading " + key + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new IOException("reading " + key + ": " + e.getMessage(), e);
    }
  }
}

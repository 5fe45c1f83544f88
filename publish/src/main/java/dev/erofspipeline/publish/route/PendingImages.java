package dev.erofspipeline.publish.route;

import dev.erofspipeline.registry.Digests;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.SchemaViolationException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Image records waiting for layer results, kept in S3 ({@code <prefix>/pending/<subject hex>-<profile
 * fingerprint>-<16 hex of sha256(registry/repository)>.json}) so that an image whose record offset was
 * committed is not forgotten by a restart: the publisher rescans them at start and periodically.
 */
final class PendingImages {

  private final S3Client s3;
  private final String bucket;
  private final String folder;
  private final RecordValidator validator;

  PendingImages(S3Client s3, String bucket, String prefix, RecordValidator validator) {
    this.s3 = s3;
    this.bucket = bucket;
    String p = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    this.folder = (p.isEmpty() ? "" : p + "/") + "pending/";
    this.validator = validator;
  }

  /**
   * One object per image, profile and repository: the same manifest pushed to two repositories is
   * two publications, and one of them finishing must not remove the other's record.
   */
  private String key(ImageRecord r) {
    String fp = r.profile() == null ? "none" : r.profile().fingerprint();
    byte[] where = (r.registry() + "/" + r.repository()).getBytes(StandardCharsets.UTF_8);
    String repo = HexFormat.of().formatHex(Digests.newSha256().digest(where), 0, 8);
    return folder + r.subject().digest().substring(7) + "-" + fp + "-" + repo + ".json";
  }

  void put(ImageRecord r) throws IOException {
    try {
      s3.putObject(b -> b.bucket(bucket).key(key(r)).contentType("application/json"), RequestBody.fromBytes(validator.write(r)));
    } catch (RuntimeException e) {
      throw new IOException("writing pending image " + key(r) + ": " + e.getMessage(), e);
    }
  }

  void remove(ImageRecord r) throws IOException {
    try {
      s3.deleteObject(b -> b.bucket(bucket).key(key(r)));
    } catch (RuntimeException e) {
      throw new IOException("deleting pending image " + key(r) + ": " + e.getMessage(), e);
    }
  }

  /** Whether the image is still waiting here (its publication or failure removes it). */
  boolean contains(ImageRecord r) throws IOException {
    try {
      s3.headObject(b -> b.bucket(bucket).key(key(r)));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw new IOException("reading pending image " + key(r) + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new IOException("reading pending image " + key(r) + ": " + e.getMessage(), e);
    }
  }

  List<ImageRecord> list() throws IOException {
    List<ImageRecord> out = new ArrayList<>();
    try {
      String token = null;
      do {
        ListObjectsV2Request.Builder req = ListObjectsV2Request.builder().bucket(bucket).prefix(folder);
        if (token != null) {
          req.continuationToken(token);
        }
        ListObjectsV2Response page = s3.listObjectsV2(req.build());
        for (S3Object o : page.contents()) {
          try {
            ImageRecord r = validator.read(ImageRecord.class, s3.getObjectAsBytes(b -> b.bucket(bucket).key(o.key())).asByteArray());
            if (!o.key().equals(key(r))) {
              // written by an earlier version (no repository in the name): moved, or contains() would miss it
              put(r);
              s3.deleteObject(b -> b.bucket(bucket).key(o.key()));
            }
            out.add(r);
          } catch (SchemaViolationException e) {
            s3.deleteObject(b -> b.bucket(bucket).key(o.key())); // not ours to keep
          } catch (NoSuchKeyException published) {
            // removed between the listing and the read: published or failed meanwhile
          }
        }
        token = page.isTruncated() ? page.nextContinuationToken() : null;
      } while (token != null);
    } catch (RuntimeException e) {
      throw new IOException("listing pending images: " + e.getMessage(), e);
    }
    return out;
  }
}

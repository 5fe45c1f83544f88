package dev.erofspipeline.publish.route;

import dev.erofspipeline.registry.Digests;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.SchemaViolationException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.function.BiPredicate;
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
 * committed is not forgotten by a restart: the publisher rescans them at start and every {@code
 * publish.rescanSeconds}, reading only the records whose ETag it has not seen.
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
  String key(ImageRecord r) {
    String fp = r.profile() == null ? "none" : r.profile().fingerprint();
    byte[] where = (r.registry() + "/" + r.repository()).getBytes(StandardCharsets.UTF_8);
    String repo = HexFormat.of().formatHex(Digests.newSha256().digest(where), 0, 8);
    return folder + r.subject().digest().substring(7) + "-" + fp + "-" + repo + ".json";
  }

  /** Writes the record; returns its ETag. */
  String put(ImageRecord r) throws IOException {
    try {
      return s3.putObject(b -> b.bucket(bucket).key(key(r)).contentType("application/json"), RequestBody.fromBytes(validator.write(r)))
          .eTag();
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

  /** A pending record in a listing; {@code record} is null when it was not read again (its ETag is known). */
  record Entry(String key, String etag, ImageRecord record) {}

  /** What a {@link #scan} does with each entry. */
  interface EntryHandler {
    void handle(Entry entry) throws IOException;
  }

  /**
   * Lists every pending record, page by page, and hands each to {@code handler}: read when {@code
   * known} does not already hold that key with that ETag (a pending record is only ever replaced
   * whole, so an unchanged ETag means an unchanged record).
   */
  void scan(BiPredicate<String, String> known, EntryHandler handler) throws IOException {
    String token = null;
    do {
      ListObjectsV2Response page;
      try {
        ListObjectsV2Request.Builder req = ListObjectsV2Request.builder().bucket(bucket).prefix(folder);
        if (token != null) {
          req.continuationToken(token);
        }
        page = s3.listObjectsV2(req.build());
      } catch (RuntimeException e) {
        throw new IOException("listing pending images: " + e.getMessage(), e);
      }
      for (S3Object o : page.contents()) {
        if (known.test(o.key(), o.eTag())) {
          handler.handle(new Entry(o.key(), o.eTag(), null));
          continue;
        }
        ImageRecord r = read(o.key());
        if (r != null) {
          handler.handle(new Entry(key(r), o.key().equals(key(r)) ? o.eTag() : null, r));
        }
      }
      token = page.isTruncated() ? page.nextContinuationToken() : null;
    } while (token != null);
  }

  /** The record at {@code key}, moved to its current name if needed; null when it is gone or not ours. */
  private ImageRecord read(String objectKey) throws IOException {
    try {
      ImageRecord r = validator.read(ImageRecord.class, s3.getObjectAsBytes(b -> b.bucket(bucket).key(objectKey)).asByteArray());
      if (!objectKey.equals(key(r))) {
        // written by an earlier version (no repository in the name): moved, or contains() would miss it
        put(r);
        s3.deleteObject(b -> b.bucket(bucket).key(objectKey));
      }
      return r;
    } catch (SchemaViolationException e) {
      s3.deleteObject(b -> b.bucket(bucket).key(objectKey)); // not ours to keep
      return null;
    } catch (NoSuchKeyException published) {
      return null; // removed between the listing and the read: published or failed meanwhile
    } catch (RuntimeException e) {
      throw new IOException("reading pending image " + objectKey + ": " + e.getMessage(), e);
    }
  }
}

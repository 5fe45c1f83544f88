package dev.erofspipeline.publish.route;

import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.ResultDocument;
import dev.erofspipeline.schemas.SchemaViolationException;
import dev.erofspipeline.schemas.StagingLayout;
import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Reads the worker's {@code result.json} at the {@link StagingLayout} keys: the commit point of a
 * conversion, so a layer is done exactly when a valid one exists.
 *
 * <p>Two caches keep the reads independent of how many images wait. A completed result stays
 * completed, so the most recent {@link #COMPLETED_CACHED} are kept (also those announced on {@code
 * erofs.layer-results}, {@link #announced}). And once this process follows every result record
 * ({@link #followAnnouncements}), a layer read as missing stays missing until its record arrives: the
 * worker writes {@code result.json} before it sends the record, so a read after the follower started
 * that found nothing is answered by a record this process will see (a result whose record never
 * came is found by the next process start, which reads every waiting layer once).
 */
final class StagedResults {
  /** How many completed results are cached (about 1 KB each). */
  static final int COMPLETED_CACHED = 20_000;
  /** How many layers are remembered as missing; beyond that a missing layer is read again. */
  static final int MISSING_REMEMBERED = 200_000;

  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final RecordValidator validator;
  private final Map<String, ResultDocument> completed = Collections.synchronizedMap(
      new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ResultDocument> eldest) {
          return size() > COMPLETED_CACHED;
        }
      });
  private final Set<String> missing = ConcurrentHashMap.newKeySet();
  private volatile boolean following;

  StagedResults(S3Client s3, String bucket, String prefix, RecordValidator validator) {
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = prefix;
    this.validator = validator;
  }

  LayerResult.Staging location(String layerDigest, ConversionProfile profile) {
    return StagingLayout.staging(bucket, prefix, layerDigest, profile);
  }

  private static String cacheKey(String layerDigest, ConversionProfile profile) {
    return layerDigest + " " + profile.fingerprint();
  }

  /** The result, or empty when the layer has not been converted under this profile (or its result is invalid). */
  Optional<ResultDocument> completedResult(String layerDigest, ConversionProfile profile) throws IOException {
    String cacheKey = cacheKey(layerDigest, profile);
    ResultDocument cached = completed.get(cacheKey);
    if (cached != null) {
      return Optional.of(cached);
    }
    if (missing.contains(cacheKey)) {
      return Optional.empty();
    }
    boolean followedBeforeRead = following;
    Optional<ResultDocument> read = read(location(layerDigest, profile).resultKey());
    if (read.isPresent()) {
      completed.put(cacheKey, read.get());
    } else if (followedBeforeRead && missing.size() < MISSING_REMEMBERED) {
      missing.add(cacheKey);
      // a record consumed between the read and the line above filled the cache; it wins
      if (completed.containsKey(cacheKey)) {
        missing.remove(cacheKey);
      }
    }
    return read;
  }

  private Optional<ResultDocument> read(String key) throws IOException {
    byte[] bytes;
    try {
      bytes = s3.getObjectAsBytes(r -> r.bucket(bucket).key(key)).asByteArray();
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw new IOException("reading s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new IOException("reading s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
    try {
      return Optional.of(validator.read(ResultDocument.class, bytes));
    } catch (SchemaViolationException e) {
      return Optional.empty();
    }
  }

  /**
   * A record on {@code erofs.layer-results}: the layer is no longer missing, and its result is cached
   * when the record names this staging's {@code result.json} (a record of another bucket or prefix
   * is only a hint: the result is read from S3 when needed).
   */
  void announced(LayerResult result) {
    ResultDocument doc = result.result();
    if (doc == null || doc.profile() == null) {
      return;
    }
    String cacheKey = cacheKey(doc.layerDigest(), doc.profile());
    LayerResult.Staging ours = location(doc.layerDigest(), doc.profile());
    if (result.staging() != null && Objects.equals(ours.bucket(), result.staging().bucket())
        && Objects.equals(ours.resultKey(), result.staging().resultKey())) {
      completed.put(cacheKey, doc);
    }
    missing.remove(cacheKey);
  }

  /** From now on every result record reaches {@link #announced}: a missing layer need not be read again. */
  void followAnnouncements() {
    following = true;
  }

  /** Whether the layer is known not converted under this profile yet (read as missing since {@link #followAnnouncements}). */
  boolean knownMissing(String layerDigest, ConversionProfile profile) {
    String cacheKey = cacheKey(layerDigest, profile);
    return missing.contains(cacheKey) && !completed.containsKey(cacheKey);
  }

  /** Whether {@link #followAnnouncements} was called. */
  boolean followsAnnouncements() {
    return following;
  }
}

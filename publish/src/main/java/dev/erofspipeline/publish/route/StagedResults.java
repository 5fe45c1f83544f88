package dev.erofspipeline.publish.route;

import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.ResultDocument;
import dev.erofspipeline.schemas.SchemaViolationException;
import dev.erofspipeline.schemas.StagingLayout;
import java.io.IOException;
import java.util.Optional;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Reads the worker's {@code result.json} at the {@link StagingLayout} keys: the commit point of a
 * conversion, so a layer is done exactly when a valid one exists.
 */
final class StagedResults {

  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final RecordValidator validator;

  StagedResults(S3Client s3, String bucket, String prefix, RecordValidator validator) {
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = prefix;
    this.validator = validator;
  }

  LayerResult.Staging location(String layerDigest, ConversionProfile profile) {
    return StagingLayout.staging(bucket, prefix, layerDigest, profile);
  }

  /** The result, or empty when the layer has not been converted under this profile (or its result is invalid). */
  Optional<ResultDocument> completedResult(String layerDigest, ConversionProfile profile) throws IOException {
    String key = location(layerDigest, profile).resultKey();
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
}

package dev.erofspipeline.convert.worker;

import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.ResultDocument;
import dev.erofspipeline.schemas.SchemaViolationException;
import dev.erofspipeline.schemas.StagingLayout;
import java.io.IOException;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.NoSuchUploadException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The worker's view of the S3 staging area (ARCHITECTURE.md, "S3 layout"). A layer counts as
 * converted under a profile exactly when its {@code result.json} exists: that object is written
 * last, after {@code index.erofs} and {@code tree.verity} (or the native profile's {@code
 * layer.erofs}) are complete, so its presence proves they are.
 */
public final class S3Staging {
  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final int partSize;
  private final RecordValidator validator;

  public S3Staging(S3Client s3, String bucket, String prefix, int partSize, RecordValidator validator) {
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = prefix;
    this.partSize = partSize;
    this.validator = validator;
  }

  public LayerResult.Staging location(String layerDigest, ConversionProfile profile) {
    return StagingLayout.staging(bucket, prefix, layerDigest, profile);
  }

  /**
   * The result of an earlier conversion of this layer under this profile, if one completed.
   *
   * @throws IOException when S3 cannot answer, or the stored result is not a valid result document
   *     (then nothing is trusted and the caller converts again)
   */
  public Optional<ResultDocument> completedResult(String layerDigest, ConversionProfile profile) throws IOException {
    String key = location(layerDigest, profile).resultKey();
    ResponseBytes<GetObjectResponse> bytes;
    try {
      bytes = s3.getObjectAsBytes(r -> r.bucket(bucket).key(key));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw new IOException("reading s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new IOException("reading s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
    }
    try {
      return Optional.of(validator.read(ResultDocument.class, bytes.asByteArray()));
    } catch (SchemaViolationException e) {
      return Optional.empty();
    }
  }

  /**
   * Aborts the multipart uploads still open under this layer's artifact keys (index and tree, or the
   * native profile's blob): those of a worker that died mid-upload (SIGKILL, lost node), which
   * nobody else would ever complete or abort. Called
   * before converting the layer again; jobs of one layer share a partition, so no live worker is
   * writing them at the same time (a worker evicted from the group while still converting loses its
   * upload, fails its commit and retries, finding this conversion's result).
   *
   * @return how many uploads were aborted
   */
  int abortUnfinishedUploads(LayerResult.Staging at) throws IOException {
    int aborted = 0;
    try {
      for (String key : Stream.of(at.indexKey(), at.treeKey(), at.blobKey()).filter(Objects::nonNull).toList()) {
        for (MultipartUpload u : s3.listMultipartUploadsPaginator(r -> r.bucket(bucket).prefix(key)).uploads()) {
          if (u.key().equals(key)) {
            s3.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(u.uploadId()));
            aborted++;
          }
        }
      }
    } catch (NoSuchUploadException alreadyGone) {
      // aborted or completed by someone else meanwhile: nothing left to do
    } catch (RuntimeException e) {
      throw new IOException("aborting unfinished uploads of " + at.indexKey() + " failed: " + e.getMessage(), e);
    }
    return aborted;
  }

  /** A stream whose bytes become the object under {@code key} only when committed. */
  MultipartUploadOutputStream openIndex(LayerResult.Staging at) {
    return new MultipartUploadOutputStream(s3, bucket, at.indexKey(), MediaTypes.EROFS_METADATA, partSize);
  }

  MultipartUploadOutputStream openTree(LayerResult.Staging at) {
    return new MultipartUploadOutputStream(s3, bucket, at.treeKey(), MediaTypes.EROFS_MERKLE_TREE, partSize);
  }

  /** The native profile's {@code layer.erofs}: EROFS image, verity superblock and tree. */
  MultipartUploadOutputStream openBlob(LayerResult.Staging at) {
    return new MultipartUploadOutputStream(s3, bucket, at.blobKey(), MediaTypes.EROFS_LAYER, partSize);
  }

  /** Writes {@code result.json}: the commit point of a conversion. */
  void putResult(LayerResult.Staging at, ResultDocument result) throws IOException {
    byte[] json = validator.write(result);
    try {
      s3.putObject(r -> r.bucket(bucket).key(at.resultKey()).contentType("application/json"), RequestBody.fromBytes(json));
    } catch (RuntimeException e) {
      throw new IOException("writing s3://" + bucket + "/" + at.resultKey() + " failed: " + e.getMessage(), e);
    }
  }
}

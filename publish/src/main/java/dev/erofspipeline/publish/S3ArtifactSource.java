package dev.erofspipeline.publish;

import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.schemas.LayerResult;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * Streams staged artifacts from S3 at the result's {@code staging} keys. Nothing is buffered: each
 * upload attempt opens a fresh GET, and the registry checks the digest the result document names.
 */
public final class S3ArtifactSource implements ArtifactSource {

  private final S3Client s3;

  public S3ArtifactSource(S3Client s3) {
    this.s3 = Objects.requireNonNull(s3);
  }

  @Override
  public BlobSource index(LayerResult r) {
    return source(r.staging().bucket(), r.staging().indexKey(), "sha256:" + r.result().indexSha256(), r.result().indexSize());
  }

  @Override
  public BlobSource tree(LayerResult r) {
    return source(r.staging().bucket(), r.staging().treeKey(), "sha256:" + r.result().treeSha256(), r.result().treeSize());
  }

  @Override
  public BlobSource blob(LayerResult r) {
    return source(r.staging().bucket(), r.staging().blobKey(), r.result().blob().digest(), r.result().blob().size());
  }

  private BlobSource source(String bucket, String key, String digest, long size) {
    return new BlobSource() {
      @Override
      public String digest() {
        return digest;
      }

      @Override
      public long size() {
        return size;
      }

      @Override
      public InputStream open() throws IOException {
        try {
          return s3.getObject(GetObjectRequest.builder().bucket(bucket).key(key).build());
        } catch (SdkException e) {
          throw new IOException("cannot read s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
        }
      }
    };
  }
}

package dev.erofspipeline.ingest;

import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.StagingLayout;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.util.Objects;

/**
 * {@link ConvertedLayers} by a HEAD of {@code <prefix>/layers/sha256/<hex>/<fingerprint>/result.json}
 * ({@link StagingLayout}). The worker writes {@code result.json} last, so its presence means the index and tree are
 * there too. Other S3 failures propagate (the request is retried, never taken as "not converted" silently).
 */
public final class S3ConvertedLayers implements ConvertedLayers {
    private final S3Client s3;
    private final String bucket;
    private final String prefix;

    public S3ConvertedLayers(S3Client s3, String bucket, String prefix) {
        this.s3 = Objects.requireNonNull(s3, "s3");
        this.bucket = Objects.requireNonNull(bucket, "bucket");
        this.prefix = prefix == null ? "" : prefix;
    }

    @Override
    public boolean isConverted(String layerDigest, ConversionProfile profile) {
        String key = StagingLayout.resultKey(prefix, layerDigest, profile.fingerprint());
        try {
            s3.headObject(HeadObjectRequest.builder().bucket(bucket).key(key).build());
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }
}

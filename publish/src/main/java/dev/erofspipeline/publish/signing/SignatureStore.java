package dev.erofspipeline.publish.signing;

import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.RootHashSignature;
import dev.erofspipeline.schemas.SchemaViolationException;
import java.io.IOException;
import java.util.Optional;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Externally made signatures ({@code erofs.signatures} records), kept in S3 at {@code
 * <prefix>/signatures/<layer hex>/<root hash>.json} until the publisher needs them. Only signatures
 * that passed the {@link SignatureVerifier} are stored (the route checks them on arrival).
 */
public final class SignatureStore {

  private final S3Client s3;
  private final String bucket;
  private final String folder;
  private final RecordValidator validator;

  public SignatureStore(S3Client s3, String bucket, String prefix, RecordValidator validator) {
    this.s3 = s3;
    this.bucket = bucket;
    String p = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    this.folder = (p.isEmpty() ? "" : p + "/") + "signatures/";
    this.validator = validator;
  }

  private String key(String layerDigest, String rootHash) {
    RootHashes.requireLayerDigest(layerDigest);
    RootHashes.requireRootHash(rootHash);
    return folder + layerDigest.substring(layerDigest.indexOf(':') + 1) + "/" + rootHash + ".json";
  }

  public void put(RootHashSignature signature) throws IOException {
    String key = key(signature.layerDigest(), signature.rootHash());
    try {
      s3.putObject(b -> b.bucket(bucket).key(key).contentType("application/json"), RequestBody.fromBytes(validator.write(signature)));
    } catch (RuntimeException e) {
      throw new IOException("writing s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
  }

  public Optional<RootHashSignature> find(String layerDigest, String rootHash) throws IOException {
    String key = key(layerDigest, rootHash);
    try {
      return Optional.of(validator.read(RootHashSignature.class, s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray()));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw new IOException("reading s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    } catch (SchemaViolationException e) {
      return Optional.empty();
    } catch (RuntimeException e) {
      throw new IOException("reading s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
  }

  /**
   * A {@link RootHashSigner} that answers with the stored external signature, or fails with a
   * {@link SigningException} when none has arrived yet (the publisher reports that as transient).
   */
  public RootHashSigner asSigner() {
    return (layerDigest, rootHash) -> {
      try {
        return find(layerDigest, rootHash).map(RootHashSignature::signatureDer)
            .orElseThrow(() -> new SigningException("no external signature yet for layer " + layerDigest));
      } catch (IOException e) {
        throw new SigningException("cannot read the external signature of layer " + layerDigest + ": " + e.getMessage(), e);
      }
    };
  }
}

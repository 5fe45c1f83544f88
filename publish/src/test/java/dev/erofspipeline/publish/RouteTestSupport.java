package dev.erofspipeline.publish;

import dev.erofspipeline.publish.verify.ImageVerifier;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.util.List;
import java.util.Set;

/** {@link TestImage} for tests in other packages. */
public final class RouteTestSupport {
  private final TestImage img = TestImage.get();

  public ImageRecord seed(RegistryFixture registry, String repo) {
    return img.seed(registry, repo);
  }

  public ImageRecord record(String registry, String repo) {
    return img.record(registry, repo, ConversionProfile.TAR_INDEX);
  }

  public List<LayerResult> stage(S3Fixture s3, String prefix, ConversionProfile profile) {
    return img.stage(s3, prefix, profile);
  }

  public Publisher publisher(S3Fixture s3, String insecureHost, Set<PublishProfile> profiles) {
    return img.publisher(s3, TestImage.options(insecureHost), profiles);
  }

  public Publisher publisher(S3Fixture s3, String insecureHost, Set<PublishProfile> profiles,
      dev.erofspipeline.publish.signing.RootHashSigner signer) {
    return img.publisher(s3, TestImage.options(insecureHost), profiles, signer, img.verifier());
  }

  /** A publisher whose registry client gives up at once (no retries, short timeouts). */
  public Publisher publisher(S3Fixture s3, String insecureHost, Set<PublishProfile> profiles, boolean noRetries) {
    return img.publisher(s3, dev.erofspipeline.registry.RegistryOptions.builder().insecureHost(insecureHost).maxRetries(0)
        .connectTimeout(java.time.Duration.ofSeconds(2)).build(), profiles);
  }

  public dev.erofspipeline.publish.signing.CmsRootHashSigner signer() {
    return (dev.erofspipeline.publish.signing.CmsRootHashSigner) img.signer();
  }

  public dev.erofspipeline.publish.signing.CmsRootHashSigner untrustedSigner() {
    return (dev.erofspipeline.publish.signing.CmsRootHashSigner) img.untrustedSigner();
  }

  public dev.erofspipeline.publish.signing.SignatureVerifier verifier() {
    return img.verifier();
  }

  /** Whether verify passes for both profiles. */
  public boolean verify(String host, String repo) {
    try (RegistryClient c = new RegistryClient(host, TestImage.options(host))) {
      for (PublishProfile p : PublishProfile.values()) {
        if (!new ImageVerifier(c, img.verifier(), p).verify(repo, "v1").ok()) {
          return false;
        }
      }
      return true;
    }
  }
}

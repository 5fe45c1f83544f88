package dev.erofspipeline.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.publish.verify.ImageVerifier;
import dev.erofspipeline.publish.verify.VerifyReport;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The referrers-API path, against {@link ReferrersApiTestDouble} (a TEST DOUBLE adding {@code GET
 * /v2/<name>/referrers/<digest>} in front of docker-registry, which has no such API): the publisher
 * writes no tag-schema index, replacement is a manifest DELETE, and verify discovers through the API.
 */
class ReferrersApiTest {

  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();

  @Test
  void publishAndVerifyThroughTheReferrersApiOfATestDouble() throws Exception {
    TestImage img = TestImage.get();
    S3Fixture s3 = S3Fixture.shared().start();
    String repo = "api/app";
    img.seed(REGISTRY, repo);
    try (ReferrersApiTestDouble api = new ReferrersApiTestDouble(REGISTRY.host())) {
      ImageRecord record = img.record(api.host(), repo, ConversionProfile.TAR_INDEX);
      ConversionProfile old = ConversionProfile.fromParameters("tar-index", "older parameters");
      try (Publisher p = img.publisher(s3, TestImage.options(api.host()), EnumSet.allOf(PublishProfile.class))) {
        PublishReport first = p.publish(img.record(api.host(), repo, old), img.stage(s3, "api-old", old));
        PublishReport second = p.publish(record, img.stage(s3, "api", ConversionProfile.TAR_INDEX));
        // the old bundle and the old profile's three referrers of each of the three wrappers
        assertEquals(1 + 3 * 3, second.replaced().size(), second.replaced().toString());
        assertTrue(second.replaced().stream().allMatch(s -> s.contains(old.fingerprint())), second.replaced().toString());
        // only the new bundle is listed by the API for the image
        assertEquals(java.util.List.of(second.bundleDigest()), api.referrersOf(repo, img.image.digest()));
        assertFalse(api.referrersOf(repo, img.image.digest()).contains(first.bundleDigest()));
      }
      assertTrue(api.referrersRequests.get() > 0);
      // no referrers tag-schema index was written: the API made it unnecessary
      String tags = Http.get(REGISTRY.host(), "/v2/" + repo + "/tags/list").json().toString();
      assertFalse(tags.contains("sha256-"), tags);
      assertTrue(tags.contains("erofs-layer-"), tags);
      int before = api.referrersRequests.get();
      for (PublishProfile profile : PublishProfile.values()) {
        try (RegistryClient c = new RegistryClient(api.host(), TestImage.options(api.host()))) {
          VerifyReport r = new ImageVerifier(c, img.verifier(), profile).verify(repo, "v1");
          assertTrue(r.ok(), r.toString());
        }
      }
      assertTrue(api.referrersRequests.get() > before);
    }
  }
}

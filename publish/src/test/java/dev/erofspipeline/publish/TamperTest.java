package dev.erofspipeline.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.publish.signing.RootHashSigner;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.publish.signing.TestPki;
import dev.erofspipeline.publish.verify.ImageVerifier;
import dev.erofspipeline.publish.verify.LayerCheck;
import dev.erofspipeline.publish.verify.VerifyReport;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tampered artifacts are published (the publisher trusts its staging area; the tampering happens
 * there) and verify must name the layer and the reason; the other layers still pass.
 */
class TamperTest {

  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();

  static TestImage img;
  static S3Fixture s3;

  @BeforeAll
  static void setUp() {
    img = TestImage.get();
    s3 = S3Fixture.shared().start();
  }

  private VerifyReport verify(String repo, PublishProfile profile) {
    try (RegistryClient c = new RegistryClient(REGISTRY.host(), TestImage.options(REGISTRY.host()))) {
      return new ImageVerifier(c, img.verifier(), profile).verify(repo, "v1");
    }
  }

  private static void assertOnlyLayerFails(VerifyReport report, List<String> badLayers, LayerCheck.Reason reason) {
    assertFalse(report.ok());
    assertEquals(3, report.layers().size(), report.toString());
    for (LayerCheck c : report.layers()) {
      if (badLayers.contains(c.layerDigest())) {
        assertEquals(reason, c.reason(), c.toString());
      } else {
        assertTrue(c.ok(), c.toString());
      }
    }
  }

  private PublishReport publish(String repo, List<LayerResult> results, RootHashSigner signer, SignatureVerifier verifier)
      throws Exception {
    ImageRecord record = img.seed(REGISTRY, repo);
    try (Publisher p = img.publisher(s3, TestImage.options(REGISTRY.host()), EnumSet.allOf(PublishProfile.class), signer,
        verifier)) {
      return p.publish(record, results);
    }
  }

  @Test
  void aFlippedByteInAPublishedTreeIsATreeMismatchOfThatLayer() throws Exception {
    List<String> layers = img.layerDigests();
    String bad = layers.get(1);
    List<LayerResult> results = new ArrayList<>();
    for (String d : layers) {
      TestImage.Converted c = img.converted.get(d);
      byte[] tree = c.tree().clone();
      if (d.equals(bad)) {
        tree[512 + 40] ^= 0x01; // inside the tree, after the superblock
      }
      results.add(TestImage.stage(s3, "tamper-tree", ConversionProfile.TAR_INDEX, d, c.index(), tree, c.result()));
    }
    publish("tamper/tree", results, img.signer(), img.verifier());
    assertOnlyLayerFails(verify("tamper/tree", PublishProfile.IMAGE_BUNDLE), List.of(bad), LayerCheck.Reason.TREE_MISMATCH);
    assertOnlyLayerFails(verify("tamper/tree", PublishProfile.LAYER), List.of(bad), LayerCheck.Reason.TREE_MISMATCH);
  }

  @Test
  void indexesSwappedBetweenLayersFailTheUuidBindingOfBoth() throws Exception {
    List<String> layers = img.layerDigests();
    String a = layers.get(0);
    String b = layers.get(2);
    List<LayerResult> results = new ArrayList<>();
    for (String d : layers) {
      TestImage.Converted c = img.converted.get(d);
      byte[] index = d.equals(a) ? img.converted.get(b).index() : d.equals(b) ? img.converted.get(a).index() : c.index();
      results.add(TestImage.stage(s3, "tamper-index", ConversionProfile.TAR_INDEX, d, index, c.tree(), c.result()));
    }
    publish("tamper/index", results, img.signer(), img.verifier());
    VerifyReport r = verify("tamper/index", PublishProfile.IMAGE_BUNDLE);
    assertOnlyLayerFails(r, List.of(a, b), LayerCheck.Reason.EROFS_UUID_MISMATCH);
    assertTrue(r.failures().get(0).detail().contains("erofs:blobs/" + a), r.failures().get(0).detail());
  }

  @Test
  void aSignatureByAnUntrustedKeyIsRejectedForThatLayer() throws Exception {
    List<String> layers = img.layerDigests();
    String bad = layers.get(2);
    RootHashSigner trusted = img.signer();
    RootHashSigner untrusted = img.untrustedSigner();
    RootHashSigner mixed = (d, rootHash) -> d.equals(bad) ? untrusted.sign(d, rootHash) : trusted.sign(d, rootHash);
    // this publisher is (mis)configured to trust both CAs
    SignatureVerifier both = SignatureVerifier.builder().trustAnchors(List.of(TestPki.get().ca, TestPki.get().otherCa)).build();
    publish("tamper/signature", img.stage(s3, "tamper-sig", ConversionProfile.TAR_INDEX), mixed, both);
    VerifyReport r = verify("tamper/signature", PublishProfile.IMAGE_BUNDLE);
    assertOnlyLayerFails(r, List.of(bad), LayerCheck.Reason.SIGNATURE_REJECTED);
    assertTrue(r.failures().get(0).detail().contains("untrusted chain"), r.failures().get(0).detail());
    assertOnlyLayerFails(verify("tamper/signature", PublishProfile.LAYER), List.of(bad), LayerCheck.Reason.SIGNATURE_REJECTED);
  }

  @Test
  void anImageWithoutReferrersFailsEveryLayer() throws Exception {
    img.seed(REGISTRY, "tamper/none");
    VerifyReport r = verify("tamper/none", PublishProfile.IMAGE_BUNDLE);
    assertEquals(3, r.failures().size());
    r.failures().forEach(c -> assertEquals(LayerCheck.Reason.NO_REFERRER, c.reason()));
    assertEquals(3, verify("tamper/none", PublishProfile.LAYER).failures().size());
  }
}

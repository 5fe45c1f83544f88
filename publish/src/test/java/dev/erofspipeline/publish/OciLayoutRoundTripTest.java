package dev.erofspipeline.publish;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.publish.verify.ImageVerifier;
import dev.erofspipeline.publish.verify.VerifyReport;
import dev.erofspipeline.registry.ImageReference;
import dev.erofspipeline.registry.Registries;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.testkit.S3Fixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Publishing into an OCI image layout ({@code oci:DIR}) and verifying {@code oci:DIR:tag}: the offline flow. */
class OciLayoutRoundTripTest {

  @Test
  void publishIntoALayoutThenVerifyIt(@TempDir Path tmp) throws Exception {
    TestImage img = TestImage.get();
    S3Fixture s3 = S3Fixture.shared().start();
    Path dir = tmp.resolve("oci");
    ImageRecord record = img.copyLayout(dir);
    List<LayerResult> results = img.stage(s3, "layout", ConversionProfile.TAR_INDEX);
    try (Publisher p = img.publisher(s3, RegistryOptions.defaults(), EnumSet.allOf(PublishProfile.class))) {
      p.publish(record, results);
      byte[] index = Files.readAllBytes(dir.resolve("index.json"));
      PublishReport again = p.publish(record, results);
      assertEquals(0, again.blobsUploaded());
      assertArrayEquals(index, Files.readAllBytes(dir.resolve("index.json")), "publishing twice changed index.json");
    }
    String indexJson = Files.readString(dir.resolve("index.json"));
    for (String d : img.layerDigests()) {
      assertTrue(indexJson.contains("erofs-layer-" + d.substring(7)), "wrapper tag of " + d);
    }
    ImageReference ref = ImageReference.parse("oci:" + dir + ":v1");
    for (PublishProfile profile : PublishProfile.values()) {
      try (RegistryTarget t = Registries.open(ref, RegistryOptions.defaults())) {
        VerifyReport r = new ImageVerifier(t, img.verifier(), profile).verify(ref.repository(), ref.reference());
        assertTrue(r.ok(), r.toString());
        assertEquals(3, r.layers().size());
      }
    }
  }

  @Test
  void anIndexIsVerifiedPerPlatformSkippingAttestations(@TempDir Path tmp) throws Exception {
    TestImage img = TestImage.get();
    S3Fixture s3 = S3Fixture.shared().start();
    Path dir = tmp.resolve("multi");
    dev.erofspipeline.testkit.OciLayoutBuilder b = new dev.erofspipeline.testkit.OciLayoutBuilder(dir);
    var amd64 = dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec.linux("amd64");
    var arm64 = dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec.linux("arm64").variant("v8");
    for (var l : img.image.layers()) {
      amd64.layer(l.tar(), l.compression());
      arm64.layer(l.tar(), l.compression());
    }
    var attestation = dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec.of("unknown", "unknown")
        .layer(dev.erofspipeline.testkit.TarLayer.builder().file("statement.json", "{}").build(),
            dev.erofspipeline.testkit.OciLayoutBuilder.Compression.NONE);
    var index = b.addIndex("multi", amd64, arm64, attestation);
    List<LayerResult> results = img.stage(s3, "multi", ConversionProfile.TAR_INDEX);
    ImageReference ref = ImageReference.parse("oci:" + dir + ":multi");
    try (Publisher p = img.publisher(s3, RegistryOptions.defaults(), EnumSet.of(PublishProfile.IMAGE_BUNDLE));
        RegistryTarget t = Registries.open(ref, RegistryOptions.defaults())) {
      ImageVerifier verifier = new ImageVerifier(t, img.verifier(), PublishProfile.IMAGE_BUNDLE);
      for (int i = 0; i < 2; i++) {
        var platform = index.images().get(i);
        assertEquals(img.layerDigests(), platform.layers().stream().map(l -> l.digest()).toList());
        ImageRecord record = new ImageRecord("oci:" + dir, "layout", new ImageRecord.Subject(platform.digest(),
            dev.erofspipeline.schemas.MediaTypes.OCI_MANIFEST, platform.manifest().size()), platform.platform(), index.digest(),
            "multi", img.record("oci:" + dir, "layout", ConversionProfile.TAR_INDEX).layers(), ConversionProfile.TAR_INDEX, "t");
        p.publish(record, results);
        VerifyReport r = verifier.verify(null, "multi");
        assertEquals(6, r.layers().size(), r.toString());
        assertEquals(i == 1, r.ok(), r.toString());
        if (i == 0) {
          // arm64 is not published yet: its three layers have no referrer
          assertEquals(3, r.failures().size());
          r.failures().forEach(c -> {
            assertEquals("linux/arm64/v8", c.platform());
            assertEquals(dev.erofspipeline.publish.verify.LayerCheck.Reason.NO_REFERRER, c.reason());
          });
        }
      }
    }
  }
}

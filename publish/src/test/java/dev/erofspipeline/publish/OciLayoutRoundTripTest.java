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
}

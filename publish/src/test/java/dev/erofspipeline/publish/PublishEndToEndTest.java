package dev.erofspipeline.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.erofspipeline.convert.LayerUuids;
import dev.erofspipeline.publish.signing.OpenSsl;
import dev.erofspipeline.publish.signing.TestPki;
import dev.erofspipeline.publish.verify.ImageVerifier;
import dev.erofspipeline.publish.verify.VerifyReport;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** End to end on docker-registry 2.8 (no referrers API: the tag-schema fallback) with S3Proxy staging. */
class PublishEndToEndTest {

  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();

  static TestImage img;
  static S3Fixture s3;

  @BeforeAll
  static void setUp() {
    img = TestImage.get();
    s3 = S3Fixture.shared().start();
  }

  private Publisher publisher() {
    return img.publisher(s3, TestImage.options(REGISTRY.host()), EnumSet.allOf(PublishProfile.class));
  }

  private VerifyReport verify(String repo, PublishProfile profile) {
    try (RegistryClient c = new RegistryClient(REGISTRY.host(), TestImage.options(REGISTRY.host()))) {
      return new ImageVerifier(c, img.verifier(), profile).verify(repo, "v1");
    }
  }

  @Test
  void publishesBothProfilesThatCurlOpensslAndVerifyAccept(@TempDir Path tmp) throws Exception {
    String repo = "e2e/app";
    ImageRecord record = img.seed(REGISTRY, repo);
    List<LayerResult> results = img.stage(s3, "e2e", ConversionProfile.TAR_INDEX);
    PublishReport report;
    try (Publisher p = publisher()) {
      report = p.publish(record, results);
    }
    assertTrue(report.replaced().isEmpty());
    String host = REGISTRY.host();
    String subject = img.image.digest();

    // the fallback index of the image: exactly one bundle
    Http.Response idx = Http.manifest(host, repo, "sha256-" + subject.substring(7));
    assertEquals(200, idx.status());
    assertEquals(MediaTypes.OCI_INDEX, idx.contentType());
    JsonNode entries = idx.json().path("manifests");
    assertEquals(1, entries.size(), idx.json().toString());
    JsonNode entry = entries.get(0);
    assertEquals(report.bundleDigest(), entry.path("digest").asText());
    assertEquals(MediaTypes.EROFS_DMVERITY_BUNDLE, entry.path("artifactType").asText());
    assertEquals(ConversionProfile.TAR_INDEX.fingerprint(),
        entry.path("annotations").path(Annotations.PROFILE_FINGERPRINT).asText());

    // the bundle manifest
    Http.Response b = Http.manifest(host, repo, report.bundleDigest());
    assertEquals(200, b.status());
    assertEquals(entry.path("size").asLong(), b.body().length);
    JsonNode bundle = b.json();
    assertEquals(MediaTypes.OCI_MANIFEST, bundle.path("mediaType").asText());
    assertEquals(MediaTypes.EROFS_DMVERITY_BUNDLE, bundle.path("artifactType").asText());
    assertEquals(MediaTypes.OCI_EMPTY, bundle.path("config").path("mediaType").asText());
    assertEquals(MediaTypes.OCI_EMPTY_DIGEST, bundle.path("config").path("digest").asText());
    assertEquals("{}", new String(Http.blob(host, repo, MediaTypes.OCI_EMPTY_DIGEST), StandardCharsets.US_ASCII));
    assertEquals(subject, bundle.path("subject").path("digest").asText());
    assertEquals(MediaTypes.OCI_MANIFEST, bundle.path("subject").path("mediaType").asText());
    JsonNode payloads = bundle.path("layers");
    List<String> layers = img.layerDigests();
    assertEquals(3 * layers.size(), payloads.size());
    Files.writeString(tmp.resolve("ca.pem"), TestPki.pem(TestPki.get().ca));
    for (int i = 0; i < layers.size(); i++) {
      String d = layers.get(i);
      TestImage.Converted c = img.converted.get(d);
      String[] types = {MediaTypes.EROFS_METADATA, MediaTypes.EROFS_MERKLE_TREE, MediaTypes.EROFS_LAYER_SIGNATURE};
      for (int k = 0; k < 3; k++) {
        JsonNode p = payloads.get(3 * i + k);
        assertEquals(types[k], p.path("mediaType").asText());
        assertEquals(d, p.path("annotations").path(Annotations.SOURCE_LAYER_DIGEST).asText());
        assertEquals(c.result().rootHash(), p.path("annotations").path(Annotations.ROOT_HASH).asText());
        byte[] content = Http.blob(host, repo, p.path("digest").asText());
        assertEquals(p.path("size").asLong(), content.length);
        if (k == 0) {
          assertTrue(java.util.Arrays.equals(c.index(), content), "index bytes of " + d);
        } else if (k == 1) {
          assertTrue(java.util.Arrays.equals(c.tree(), content), "tree bytes of " + d);
        } else {
          // openssl accepts every published signature over the ASCII root hash
          Files.write(tmp.resolve("sig" + i + ".p7s"), content);
          Files.writeString(tmp.resolve("roothash" + i + ".txt"), c.result().rootHash(), StandardCharsets.US_ASCII);
          OpenSsl.ok(tmp, "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig" + i + ".p7s", "-content",
              "roothash" + i + ".txt", "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null");
        }
      }
    }

    // layer profile: the wrapper is tagged, its bytes follow docs/attachment.md, three referrers
    for (String d : layers) {
      var layer = record.layers().stream().filter(l -> l.digest().equals(d)).findFirst().orElseThrow();
      String expected = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
          + "\"artifactType\":\"application/vnd.erofs-pipeline.layer-wrapper.v1\",\"config\":{\"mediaType\":"
          + "\"application/vnd.oci.empty.v1+json\",\"digest\":\"" + MediaTypes.OCI_EMPTY_DIGEST + "\",\"size\":2},"
          + "\"layers\":[{\"mediaType\":\"" + layer.mediaType() + "\",\"digest\":\"" + d + "\",\"size\":" + layer.size() + "}]}";
      Http.Response w = Http.manifest(host, repo, "erofs-layer-" + d.substring(7));
      assertEquals(200, w.status());
      assertEquals(expected, new String(w.body(), StandardCharsets.UTF_8));
      String wrapperDigest = Manifest.of(w.body(), MediaTypes.OCI_MANIFEST).digest();
      Http.Response wi = Http.manifest(host, repo, "sha256-" + wrapperDigest.substring(7));
      assertEquals(200, wi.status());
      JsonNode refs = wi.json().path("manifests");
      assertEquals(3, refs.size(), wi.json().toString());
      java.util.Set<String> types = new java.util.TreeSet<>();
      for (JsonNode r : refs) {
        types.add(r.path("artifactType").asText());
        JsonNode m = Http.manifest(host, repo, r.path("digest").asText()).json();
        assertEquals(wrapperDigest, m.path("subject").path("digest").asText());
        assertEquals(1, m.path("layers").size());
      }
      assertEquals(new java.util.TreeSet<>(List.of(MediaTypes.EROFS_METADATA, MediaTypes.EROFS_MERKLE_TREE,
          MediaTypes.EROFS_LAYER_SIGNATURE)), types);
    }

    // what a node does
    VerifyReport bundleCheck = verify(repo, PublishProfile.IMAGE_BUNDLE);
    assertTrue(bundleCheck.ok(), bundleCheck.toString());
    assertEquals(3, bundleCheck.layers().size());
    VerifyReport layerCheck = verify(repo, PublishProfile.LAYER);
    assertTrue(layerCheck.ok(), layerCheck.toString());
    // the UUID binding, independently of the verifier
    for (String d : layers) {
      assertEquals(LayerUuids.erofs(d).toString(), img.converted.get(d).result().erofsUuid());
    }
  }

  @Test
  void publishingTwiceLeavesTheRegistryByteIdentical() throws Exception {
    String repo = "e2e/twice";
    ImageRecord record = img.seed(REGISTRY, repo);
    List<LayerResult> results = img.stage(s3, "twice", ConversionProfile.TAR_INDEX);
    try (Publisher p = publisher()) {
      p.publish(record, results);
    }
    Map<String, String> first = Http.snapshot(REGISTRY.host(), repo);
    PublishReport again;
    try (Publisher p = publisher()) { // a fresh publisher: no in-process memory of the first run
      again = p.publish(record, results);
    }
    assertEquals(first, Http.snapshot(REGISTRY.host(), repo));
    assertEquals(0, again.blobsUploaded());
    assertTrue(again.replaced().isEmpty());
    assertTrue(first.keySet().stream().filter(k -> k.startsWith("tag sha256-")).count() >= 4, first.keySet().toString());
  }

  @Test
  void aBundleOfAnotherProfileFingerprintIsReplaced() throws Exception {
    String repo = "e2e/replace";
    ImageRecord record = img.seed(REGISTRY, repo);
    ConversionProfile old = ConversionProfile.fromParameters("tar-index", "an older parameter set");
    try (Publisher p = img.publisher(s3, TestImage.options(REGISTRY.host()), EnumSet.of(PublishProfile.IMAGE_BUNDLE))) {
      PublishReport first = p.publish(img.record(REGISTRY.host(), repo, old), img.stage(s3, "old", old));
      PublishReport second = p.publish(record, img.stage(s3, "new", ConversionProfile.TAR_INDEX));
      assertNotEquals(first.bundleDigest(), second.bundleDigest());
      assertEquals(1, second.replaced().size(), second.replaced().toString());
      assertTrue(second.replaced().get(0).contains(first.bundleDigest()) && second.replaced().get(0).contains(old.fingerprint()),
          second.replaced().toString());
      JsonNode entries = Http.manifest(REGISTRY.host(), repo, "sha256-" + img.image.digest().substring(7)).json()
          .path("manifests");
      assertEquals(1, entries.size());
      assertEquals(second.bundleDigest(), entries.get(0).path("digest").asText());
      assertEquals(404, Http.manifest(REGISTRY.host(), repo, first.bundleDigest()).status());
    }
    assertTrue(verify(repo, PublishProfile.IMAGE_BUNDLE).ok());
  }

  @Test
  void sharedLayersAreMountedFromAnotherRepository() throws Exception {
    List<LayerResult> results = img.stage(s3, "mount", ConversionProfile.TAR_INDEX);
    try (Publisher p = publisher()) {
      PublishReport a = p.publish(img.seed(REGISTRY, "mount/one"), results);
      PublishReport b = p.publish(img.seed(REGISTRY, "mount/two"), results);
      assertTrue(a.blobsUploaded() >= 7, a.toString()); // 3 indexes, 3 trees, 3 signatures, maybe {}
      assertEquals(0, b.blobsUploaded(), b.toString());
      assertTrue(b.blobsMounted() >= 9, b.toString());
    }
    assertTrue(verify("mount/two", PublishProfile.LAYER).ok());
  }

  @Test
  void aSignatureThatDoesNotVerifyIsRefusedBeforeAnythingIsWritten() throws Exception {
    String repo = "e2e/refused";
    ImageRecord record = img.seed(REGISTRY, repo);
    try (Publisher p = img.publisher(s3, TestImage.options(REGISTRY.host()), EnumSet.allOf(PublishProfile.class),
        img.untrustedSigner(), img.verifier())) {
      PublishException e = assertThrows(PublishException.class,
          () -> p.publish(record, img.stage(s3, "refused", ConversionProfile.TAR_INDEX)));
      assertEquals("signature-rejected", e.reasonCode());
      assertTrue(e.getMessage().contains(img.layerDigests().get(0)), e.getMessage());
      assertEquals(img.layerDigests(), e.missingLayers());
    }
    assertFalse(Http.get(REGISTRY.host(), "/v2/" + repo + "/tags/list").json().toString().contains("sha256-"));
  }

  @Test
  void missingResultsNameTheLayers() throws Exception {
    ImageRecord record = img.seed(REGISTRY, "e2e/incomplete");
    List<LayerResult> results = img.stage(s3, "incomplete", ConversionProfile.TAR_INDEX);
    try (Publisher p = publisher()) {
      PublishException e = assertThrows(PublishException.class, () -> p.publish(record, results.subList(0, 2)));
      assertEquals("results-incomplete", e.reasonCode());
      assertTrue(e.getMessage().contains("1 of 3"), e.getMessage());
      assertFalse(e.isTransient());
    }
  }

  @Test
  void aMissingStagedArtifactFailsNamingTheLayerAndAttachesNothing() throws Exception {
    String repo = "e2e/missing-artifact";
    ImageRecord record = img.seed(REGISTRY, repo);
    List<LayerResult> results = img.stage(s3, "missing-artifact", ConversionProfile.TAR_INDEX);
    String layer = img.layerDigests().get(1);
    LayerResult gone = results.get(1);
    assertEquals(layer, gone.key());
    s3.client().deleteObject(b -> b.bucket(gone.staging().bucket()).key(gone.staging().treeKey()));
    try (Publisher p = publisher()) {
      PublishException e = assertThrows(PublishException.class, () -> p.publish(record, results));
      assertTrue(e.getMessage().contains(layer), e.getMessage());
      assertTrue(e.getMessage().contains("nothing was attached"), e.getMessage());
      assertEquals(img.layerDigests(), e.missingLayers());
      assertTrue(e.isTransient(), e.reasonCode()); // staging may come back; the route retries
    }
    assertFalse(Http.get(REGISTRY.host(), "/v2/" + repo + "/tags/list").json().toString().contains("sha256-"));
  }

  @Test
  void aDockerV2Schema2ImageIsPublishedAndVerified(@TempDir Path tmp) throws Exception {
    String repo = "e2e/docker";
    // Docker v2s2 has no zstd: the gzip layers of the test image only
    var spec = dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec.linux("amd64");
    List<String> expected = new java.util.ArrayList<>();
    for (var l : img.image.layers()) {
      if (l.compression() == dev.erofspipeline.testkit.OciLayoutBuilder.Compression.GZIP) {
        spec.layer(l.tar(), l.compression());
        expected.add(l.digest());
      }
    }
    new dev.erofspipeline.testkit.OciLayoutBuilder(tmp.resolve("gz")).addImage("v1", spec);
    String digest = REGISTRY.seed(tmp.resolve("gz"), "v1", repo + ":v1", RegistryFixture.Format.DOCKER_V2S2);
    Http.Response m = Http.manifest(REGISTRY.host(), repo, digest);
    assertEquals(MediaTypes.DOCKER_MANIFEST, m.contentType());
    List<ImageRecord.Layer> layers = new java.util.ArrayList<>();
    for (JsonNode l : m.json().path("layers")) {
      layers.add(new ImageRecord.Layer(l.path("digest").asText(), l.path("size").asLong(), l.path("mediaType").asText(), null));
    }
    assertEquals(expected, layers.stream().map(ImageRecord.Layer::digest).toList());
    assertTrue(layers.stream().allMatch(l -> l.mediaType().equals(MediaTypes.DOCKER_LAYER_TAR_GZIP)), layers.toString());
    ImageRecord record = new ImageRecord(REGISTRY.host(), repo, new ImageRecord.Subject(digest, MediaTypes.DOCKER_MANIFEST,
        m.body().length), "linux/amd64", null, repo + ":v1", layers, ConversionProfile.TAR_INDEX, "test");
    try (Publisher p = publisher()) {
      p.publish(record, img.stage(s3, "docker", ConversionProfile.TAR_INDEX));
    }
    JsonNode bundle = Http.manifest(REGISTRY.host(), repo, Http.manifest(REGISTRY.host(), repo, "sha256-" + digest.substring(7))
        .json().path("manifests").get(0).path("digest").asText()).json();
    assertEquals(MediaTypes.DOCKER_MANIFEST, bundle.path("subject").path("mediaType").asText());
    assertTrue(verify(repo, PublishProfile.IMAGE_BUNDLE).ok());
    assertTrue(verify(repo, PublishProfile.LAYER).ok());
  }
}

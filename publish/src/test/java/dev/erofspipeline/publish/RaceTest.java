package dev.erofspipeline.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.erofspipeline.publish.verify.ImageVerifier;
import dev.erofspipeline.publish.verify.VerifyReport;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Concurrent writers of one subject's referrers tag-schema index, each with its own publisher and
 * registry client (so only the per-subject serialization and the read-modify-write of the fallback
 * index keep them apart).
 */
class RaceTest {

  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();

  static TestImage img;
  static S3Fixture s3;
  static List<LayerResult> results;

  @BeforeAll
  static void setUp() {
    img = TestImage.get();
    s3 = S3Fixture.shared().start();
    results = img.stage(s3, "race", ConversionProfile.TAR_INDEX);
  }

  private static <T> List<T> together(List<Callable<T>> tasks) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
    try {
      CyclicBarrier start = new CyclicBarrier(tasks.size());
      List<Future<T>> futures = new ArrayList<>();
      for (Callable<T> t : tasks) {
        futures.add(pool.submit(() -> {
          start.await();
          return t.call();
        }));
      }
      List<T> out = new ArrayList<>();
      for (Future<T> f : futures) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  private static Set<String> fallbackEntries(String repo, String subject) throws Exception {
    Set<String> out = new TreeSet<>();
    for (JsonNode e : Http.manifest(REGISTRY.host(), repo, "sha256-" + subject.substring(7)).json().path("manifests")) {
      out.add(e.path("digest").asText());
    }
    return out;
  }

  @Test
  void aPublisherAndAnotherWriterRacingOnOneSubjectEndWithBothReferrers() throws Exception {
    String subject = img.image.digest();
    for (int round = 0; round < 3; round++) {
      String repo = "race/two-" + round;
      ImageRecord record = img.seed(REGISTRY, repo);
      // another tool attaching its own artifact (say an SBOM) to the same image at the same time
      byte[] sbom = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
          + "\"artifactType\":\"application/vnd.example.sbom.v1\",\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
          + "\"digest\":\"" + MediaTypes.OCI_EMPTY_DIGEST + "\",\"size\":2},\"layers\":[],\"subject\":{\"mediaType\":\""
          + MediaTypes.OCI_MANIFEST + "\",\"digest\":\"" + subject + "\",\"size\":" + img.image.manifest().size() + "}}")
          .getBytes(StandardCharsets.UTF_8);
      Manifest sbomManifest = Manifest.of(sbom, MediaTypes.OCI_MANIFEST);
      RegistryClient other = new RegistryClient(REGISTRY.host(), TestImage.options(REGISTRY.host()));
      other.pushBlob(repo, dev.erofspipeline.registry.BlobSource.of(ReferrerManifests.emptyConfigBytes()));
      Publisher publisher = img.publisher(s3, TestImage.options(REGISTRY.host()), EnumSet.of(PublishProfile.IMAGE_BUNDLE));
      try (other; publisher) {
        List<String> digests = together(List.of(
            () -> publisher.publish(record, results).bundleDigest(),
            () -> other.pushReferrer(repo, subject, sbomManifest, "application/vnd.example.sbom.v1", Map.of()).digest()));
        assertEquals(new TreeSet<>(digests), fallbackEntries(repo, subject), "round " + round);
      }
    }
  }

  @Test
  void twoPublishersOfTheSameImageLeaveOneCopyOfEachReferrer() throws Exception {
    String repo = "race/same";
    ImageRecord record = img.seed(REGISTRY, repo);
    Publisher a = img.publisher(s3, TestImage.options(REGISTRY.host()), EnumSet.allOf(PublishProfile.class));
    Publisher b = img.publisher(s3, TestImage.options(REGISTRY.host()), EnumSet.allOf(PublishProfile.class));
    List<PublishReport> reports;
    try (a; b) {
      reports = together(List.<Callable<PublishReport>>of(() -> a.publish(record, results), () -> b.publish(record, results)));
    }
    assertEquals(reports.get(0).bundleDigest(), reports.get(1).bundleDigest());
    assertTrue(reports.stream().allMatch(r -> r.replaced().isEmpty()), reports.toString());
    assertEquals(Set.of(reports.get(0).bundleDigest()), fallbackEntries(repo, img.image.digest()));
    for (PublishReport.Layer l : reports.get(0).layers()) {
      assertEquals(new TreeSet<>(l.referrers()), fallbackEntries(repo, l.wrapperDigest()));
    }
    try (RegistryClient c = new RegistryClient(REGISTRY.host(), TestImage.options(REGISTRY.host()))) {
      for (PublishProfile profile : PublishProfile.values()) {
        VerifyReport r = new ImageVerifier(c, img.verifier(), profile).verify(repo, "v1");
        assertTrue(r.ok(), r.toString());
      }
      List<Descriptor> bundles = c.referrers(repo, img.image.digest(), MediaTypes.EROFS_DMVERITY_BUNDLE);
      assertEquals(1, bundles.size());
    }
  }
}

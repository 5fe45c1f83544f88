package dev.erofspipeline.publish;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bytes of EROFS twins, their configs and the EROFS image index. */
class NativeManifestsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String A = "sha256:" + "a".repeat(64);
  private static final String B = "sha256:" + "b".repeat(64);
  private static final String E1 = "sha256:" + "1".repeat(64);
  private static final String E2 = "sha256:" + "2".repeat(64);
  private static final String ROOT = "0123456789abcdef".repeat(4);

  private static final List<NativeManifests.Layer> LAYERS = List.of(
      new NativeManifests.Layer(E1, 12288, 8192, ROOT, 4096, A),
      new NativeManifests.Layer(E2, 16384, 12288, ROOT, 4096, B));

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void configKeepsEverythingButTheDiffIdsAndAddsTheErofsFeatureOnce() throws IOException {
    byte[] legacy = bytes("{\"created\":\"2026-01-01T00:00:00Z\",\"architecture\":\"arm64\",\"variant\":\"v8\","
        + "\"os\":\"linux\",\"os.features\":[\"erofs\",\"x\"],\"config\":{\"Env\":[\"A=1\"]},"
        + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + A + "\",\"" + B + "\"]},\"history\":[{\"created_by\":\"x\"}]}");
    byte[] config = NativeManifests.config(legacy, LAYERS);
    assertEquals("{\"created\":\"2026-01-01T00:00:00Z\",\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
        + "\"os.features\":[\"x\",\"erofs\"],\"config\":{\"Env\":[\"A=1\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
        + E1 + "\",\"" + E2 + "\"]},\"history\":[{\"created_by\":\"x\"}]}", new String(config, StandardCharsets.UTF_8));
    assertArrayEquals(config, NativeManifests.config(legacy, LAYERS), "deterministic");
    ObjectNode platform = NativeManifests.platform(legacy);
    assertEquals("{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\",\"os.features\":[\"erofs\",\"x\"]}",
        platform.toString());
    assertEquals("{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\",\"os.features\":[\"x\",\"erofs\"]}",
        NativeManifests.twinPlatform(platform).toString());

    IOException wrongCount = assertThrows(IOException.class,
        () -> NativeManifests.config(bytes("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + A + "\"]}}"), LAYERS));
    assertEquals("the image config lists 1 diff_ids for 2 layers", wrongCount.getMessage());
    assertThrows(IOException.class, () -> NativeManifests.config(bytes("[]"), LAYERS));
  }

  @Test
  void manifestHasErofsLayersWithTheDmVerityAnnotationsOfTheDraftSpec() throws IOException {
    Descriptor config = new Descriptor(MediaTypes.OCI_CONFIG, "sha256:" + "c".repeat(64), 100);
    Manifest m = NativeManifests.manifest(config, LAYERS, Map.of(Annotations.SOURCE_MANIFEST, A));
    assertEquals(MediaTypes.OCI_MANIFEST, m.mediaType());
    JsonNode doc = JSON.readTree(m.bytes());
    assertEquals(config.digest(), doc.path("config").path("digest").asText());
    assertEquals(MediaTypes.OCI_CONFIG, doc.path("config").path("mediaType").asText());
    JsonNode l = doc.path("layers").get(1);
    assertEquals(MediaTypes.EROFS_LAYER, l.path("mediaType").asText());
    assertEquals(E2, l.path("digest").asText());
    assertEquals(16384, l.path("size").asLong());
    assertEquals("12288", l.path("annotations").path(Annotations.EROFS_DMVERITY_HASH_OFFSET).asText());
    assertEquals("sha256:" + ROOT, l.path("annotations").path(Annotations.EROFS_DMVERITY_ROOT_DIGEST).asText());
    assertEquals("4096", l.path("annotations").path(Annotations.EROFS_DMVERITY_BLOCK_SIZE).asText());
    assertEquals(B, l.path("annotations").path(Annotations.SOURCE_LAYER).asText());
    assertEquals(A, doc.path("annotations").path(Annotations.SOURCE_MANIFEST).asText());
    assertEquals(m.digest(), NativeManifests.manifest(config, LAYERS, Map.of(Annotations.SOURCE_MANIFEST, A)).digest());
  }

  @Test
  void indexListsTheLegacyEntriesAsTheyAreThenTheTwinsWithTheErofsFeature() throws IOException {
    String attestation = "{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"digest\":\"sha256:" + "d".repeat(64)
        + "\",\"size\":5,\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"},"
        + "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}";
    String amd = "{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"digest\":\"" + A
        + "\",\"size\":10,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}";
    String arm = "{\"mediaType\":\"" + MediaTypes.DOCKER_MANIFEST + "\",\"digest\":\"" + B
        + "\",\"size\":11,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}";
    String staleTwin = "{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"digest\":\"" + E1
        + "\",\"size\":12,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.features\":[\"erofs\"]}}";
    byte[] legacy = bytes("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\",\"manifests\":[" + amd + ","
        + attestation + "," + arm + "," + staleTwin + "],\"annotations\":{\"k\":\"v\"}}");
    Manifest twinA = Manifest.of(bytes("{\"a\":1}"), MediaTypes.OCI_MANIFEST);
    Manifest twinB = Manifest.of(bytes("{\"b\":2}"), MediaTypes.OCI_MANIFEST);
    Manifest index = NativeManifests.index(legacy, null, null,
        List.of(new NativeManifests.Twin(A, twinA), new NativeManifests.Twin(B, twinB)));
    assertEquals(MediaTypes.OCI_INDEX, index.mediaType());
    assertEquals("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\",\"manifests\":[" + amd + ","
        + attestation + "," + arm + ",{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"digest\":\"" + twinA.digest()
        + "\",\"size\":7,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.features\":[\"erofs\"]}},"
        + "{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"digest\":\"" + twinB.digest() + "\",\"size\":7,"
        + "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\",\"os.features\":[\"erofs\"]}}],"
        + "\"annotations\":{\"k\":\"v\"}}", new String(index.bytes(), StandardCharsets.UTF_8));

    // the index written in place of the tag is its own legacy index the next time: the same bytes
    Manifest again = NativeManifests.index(index.bytes(), null, null,
        List.of(new NativeManifests.Twin(A, twinA), new NativeManifests.Twin(B, twinB)));
    assertEquals(index.digest(), again.digest());
    assertTrue(NativeManifests.listsTwins(index.bytes()));
    assertFalse(NativeManifests.listsTwins(bytes("{\"manifests\":[" + amd + "," + arm + "]}")));

    assertThrows(IOException.class, () -> NativeManifests.index(legacy, null, null,
        List.of(new NativeManifests.Twin(E2, twinA))));
  }

  @Test
  void indexOfASingleManifestUsesThePlatformOfItsConfig() throws IOException {
    Manifest twin = Manifest.of(bytes("{\"a\":1}"), MediaTypes.OCI_MANIFEST);
    JsonNode platform = JSON.readTree("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
    Manifest index = NativeManifests.index(null, new Descriptor(MediaTypes.DOCKER_MANIFEST, A, 10), platform,
        List.of(new NativeManifests.Twin(A, twin)));
    JsonNode entries = JSON.readTree(index.bytes()).path("manifests");
    assertEquals(2, entries.size());
    assertEquals("{\"mediaType\":\"" + MediaTypes.DOCKER_MANIFEST + "\",\"digest\":\"" + A
        + "\",\"size\":10,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}", entries.get(0).toString());
    assertEquals("{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.features\":[\"erofs\"]}",
        entries.get(1).path("platform").toString());
  }

  @Test
  void derivedTags() {
    String top = "sha256:" + "f".repeat(64);
    String digestTag = "sha256-" + "f".repeat(64) + ".erofs";
    assertEquals("v1-erofs", NativeManifests.tag("reg.example:5000/team/app:v1", top, false));
    assertEquals("v1", NativeManifests.tag("reg.example:5000/team/app:v1", top, true));
    assertEquals("latest-erofs", NativeManifests.tag("reg.example:5000/team/app", top, false));
    assertEquals("v1-erofs", NativeManifests.tag("reg.example:5000/team/app:v1@" + top, top, false));
    assertEquals(digestTag, NativeManifests.tag("reg.example:5000/team/app@" + top, top, false));
    assertEquals(digestTag, NativeManifests.tag("reg.example:5000/team/app@" + top, top, true));
    assertEquals(digestTag, NativeManifests.tag("reg.example:5000/team/app:" + "t".repeat(124), top, false));
    assertEquals("v1-erofs", NativeManifests.tag("oci:/tmp/layout:v1", top, false));
    assertEquals(digestTag, NativeManifests.tag("oci:/tmp/layout", top, false));
    assertEquals(digestTag, NativeManifests.tag(null, top, false));
  }
}

package dev.erofspipeline.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Topics, media types, annotation keys. */
class ConstantsTest {

  @Test
  void topicNames() {
    assertEquals(List.of("erofs.image-requests", "erofs.layer-jobs", "erofs.layer-results", "erofs.images",
        "erofs.dead-letters", "erofs.status", "erofs.signing-requests", "erofs.signatures"), Topics.ALL);
    Topics t = Topics.defaults();
    assertEquals("", t.prefix());
    assertEquals("erofs.layer-jobs", t.layerJobs());
    assertEquals(Topics.ALL, t.all());
    assertSame(Topics.defaults(), Topics.withPrefix(null));
    assertSame(Topics.defaults(), Topics.withPrefix(""));
  }

  @Test
  void topicPrefixIsPrependedVerbatim() {
    Topics t = Topics.withPrefix("staging.");
    assertEquals("staging.erofs.image-requests", t.imageRequests());
    assertEquals("staging.erofs.layer-jobs", t.layerJobs());
    assertEquals("staging.erofs.layer-results", t.layerResults());
    assertEquals("staging.erofs.images", t.images());
    assertEquals("staging.erofs.dead-letters", t.deadLetters());
    assertEquals("staging.erofs.status", t.status());
    assertEquals("staging.erofs.signing-requests", t.signingRequests());
    assertEquals("staging.erofs.signatures", t.signatures());
    assertEquals("staging.other", t.name("other"));
    assertEquals(8, new HashSet<>(t.all()).size());
    assertEquals(Topics.withPrefix("staging."), t);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Topics.withPrefix("a b/"));
    assertTrue(e.getMessage().contains("'a b/'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Topics.withPrefix("x".repeat(240)));
  }

  @Test
  void everyKafkaRecordTypeHasATopic() {
    Set<String> topics = new HashSet<>();
    for (RecordType type : RecordType.values()) {
      assertEquals(type, RecordType.of(type.javaType()));
      if (type == RecordType.RESULT_DOCUMENT) {
        assertEquals(Optional.empty(), type.topic());
        continue;
      }
      String topic = type.topic().orElseThrow();
      assertTrue(Topics.ALL.contains(topic), topic);
      assertEquals(Optional.of(type), RecordType.forTopic(topic));
      topics.add(topic);
    }
    assertEquals(Set.copyOf(Topics.ALL), topics);
    assertEquals(Optional.empty(), RecordType.forTopic("nope"));
  }

  @Test
  void ociEmptyDescriptorIsTheDigestOfTwoBytes() throws Exception {
    byte[] content = MediaTypes.OCI_EMPTY_CONTENT.getBytes(StandardCharsets.UTF_8);
    assertEquals(MediaTypes.OCI_EMPTY_SIZE, content.length);
    String digest = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    assertEquals(digest, MediaTypes.OCI_EMPTY_DIGEST);
    assertEquals("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", digest);
  }

  @Test
  void contractMediaTypesAndAnnotations() {
    assertEquals("application/vnd.containerd.erofs.dmverity.v1", MediaTypes.EROFS_DMVERITY_BUNDLE);
    assertEquals("application/vnd.containerd.erofs.metadata.v1", MediaTypes.EROFS_METADATA);
    assertEquals("application/vnd.containerd.erofs.dmverity.merkle-tree.v1", MediaTypes.EROFS_MERKLE_TREE);
    assertEquals("application/vnd.containerd.erofs.dmverity.layer-signature.v1+pkcs7",
        MediaTypes.EROFS_LAYER_SIGNATURE);
    assertEquals("application/vnd.erofs.layer.v1", MediaTypes.EROFS_LAYER);
    assertEquals("application/vnd.oci.empty.v1+json", MediaTypes.OCI_EMPTY);
    assertEquals("io.containerd.erofs.v1/dmverity.source-layer-digest", Annotations.SOURCE_LAYER_DIGEST);
    assertEquals("io.containerd.erofs.v1/dmverity.root-hash", Annotations.ROOT_HASH);
  }

  @Test
  void layerMediaTypeHelpers() {
    assertEquals(MediaTypes.Compression.GZIP, MediaTypes.compressionOf(MediaTypes.OCI_LAYER_TAR_GZIP));
    assertEquals(MediaTypes.Compression.GZIP, MediaTypes.compressionOf(MediaTypes.DOCKER_LAYER_TAR_GZIP));
    assertEquals(MediaTypes.Compression.GZIP, MediaTypes.compressionOf(MediaTypes.DOCKER_FOREIGN_LAYER_TAR_GZIP));
    assertEquals(MediaTypes.Compression.ZSTD, MediaTypes.compressionOf(MediaTypes.OCI_LAYER_TAR_ZSTD));
    assertEquals(MediaTypes.Compression.ZSTD, MediaTypes.compressionOf(MediaTypes.DOCKER_LAYER_TAR_ZSTD));
    assertEquals(MediaTypes.Compression.ZSTD,
        MediaTypes.compressionOf(MediaTypes.OCI_LAYER_NONDISTRIBUTABLE_TAR_ZSTD));
    assertEquals(MediaTypes.Compression.NONE, MediaTypes.compressionOf(MediaTypes.OCI_LAYER_TAR));
    assertEquals(MediaTypes.Compression.NONE, MediaTypes.compressionOf(MediaTypes.DOCKER_LAYER_TAR));
    assertThrows(IllegalArgumentException.class, () -> MediaTypes.compressionOf(MediaTypes.EROFS_LAYER));
    assertThrows(IllegalArgumentException.class, () -> MediaTypes.compressionOf(null));
    assertTrue(MediaTypes.isNonDistributableLayer(MediaTypes.DOCKER_FOREIGN_LAYER_TAR_GZIP));
    assertFalse(MediaTypes.isNonDistributableLayer(MediaTypes.OCI_LAYER_TAR_GZIP));
    assertTrue(MediaTypes.isImageManifest(MediaTypes.DOCKER_MANIFEST));
    assertTrue(MediaTypes.isImageIndex(MediaTypes.DOCKER_MANIFEST_LIST));
    assertFalse(MediaTypes.isImageIndex(MediaTypes.OCI_MANIFEST));
    assertFalse(MediaTypes.isConvertibleLayer(MediaTypes.EROFS_LAYER));
  }

  @Test
  void schemaEnumsAgreeWithTheConstants() throws Exception {
    JsonNode defs;
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("schemas/common.schema.json")) {
      defs = RecordValidator.objectMapper().readTree(in).get("$defs");
    }
    assertEquals(MediaTypes.CONVERTIBLE_LAYERS, strings(defs.at("/convertibleLayerMediaType/enum")));
    assertEquals(MediaTypes.IMAGE_MANIFESTS, strings(defs.at("/imageManifestMediaType/enum")));
    assertEquals(Set.of("low", "normal", "high"), strings(defs.at("/priority/enum")));
  }

  private static Set<String> strings(JsonNode array) {
    Set<String> out = new HashSet<>();
    array.forEach(n -> out.add(n.textValue()));
    assertEquals(array.size(), out.size());
    return out;
  }
}

package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.testkit.ExternalCommand;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.TarLayer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native profile end to end: {@code convert --native} of a two-platform image on docker-registry
 * (the whole pipeline in one process: in-process Kafka, S3Proxy, real workers and publisher), then
 * what a node sees. The derived tag resolves to an index listing the legacy manifests then their
 * EROFS twins with {@code os.features: ["erofs"]}; every EROFS blob, mounted with {@code mount -t
 * erofs -o loop,ro}, shows the same tree as the legacy layer's tar-index image ({@code index.erofs
 * || tar} from the image bundle); {@code verify --profile native} accepts the signatures and trees
 * and refuses a blob tampered with in the registry's storage; publishing again changes nothing;
 * {@code --native-update-tag} moves the original tag to the combined index, idempotently, and both
 * verifications still pass on it. An OCI layout converted in the same run gets its EROFS index under
 * the derived tag too. Needs root (loop mounts), as the kernel checks of convert-worker.
 */
class NativeImageEndToEndTest {
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REPO = "native/app";

  @TempDir Path dir;

  @Test
  void convertNativePublishesAnErofsImageThatMountsVerifiesAndRepublishesAsANoOp() throws Exception {
    ConfigOptions.environment = Map.of();
    try {
      Path layout = dir.resolve("layout");
      OciLayoutBuilder b = new OciLayoutBuilder(layout);
      TarLayer base = TarLayer.builder().dir("etc").file("etc/hostname", "demo\n").randomFile("usr/bin/tool", 300_000, 3)
          .symlink("usr/bin/t", "tool").hardlink("usr/bin/tool2", "usr/bin/tool").build();
      TarLayer amd = TarLayer.builder().dir("etc").whiteout("etc/hostname").file("etc/motd", "amd\n").build();
      TarLayer arm = TarLayer.builder().dir("opt").randomFile("opt/data", 70_000, 9).opaqueWhiteout("etc").build();
      OciLayoutBuilder.Index index = b.addIndex("v1",
          ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(amd, Compression.ZSTD),
          ImageSpec.linux("arm64").variant("v8").layer(base, Compression.GZIP).layer(arm, Compression.GZIP));
      assertEquals(index.digest(), REGISTRY.seed(layout, "v1", REPO + ":v1"));
      String host = REGISTRY.host();
      Path ca = dir.resolve("state").resolve("signing").resolve("ca.pem");
      // an OCI layout, converted in the same run: its EROFS index goes under the derived tag too
      Path single = dir.resolve("single");
      new OciLayoutBuilder(single).addImage("v1", ImageSpec.linux("amd64")
          .layer(TarLayer.builder().dir("srv").file("srv/index.html", "<p>hi</p>\n").build(), Compression.ZSTD));

      CommandRun first = convert("v1", "--native", "oci:" + single + ":v1");
      assertEquals(0, first.exitCode(), first.out() + first.err());
      assertTrue(first.out().contains("EROFS index at tag v1-erofs"), first.out());
      CommandRun layoutVerify = run("verify", "oci:" + single + ":v1-erofs", "--ca", ca.toString(), "--profile", "native");
      assertEquals(0, layoutVerify.exitCode(), layoutVerify.out() + layoutVerify.err());
      assertEquals(1, layoutVerify.out().lines().filter(l -> l.startsWith("native ") && l.contains(" ok ")).count(),
          layoutVerify.out());

      try (RegistryClient registry = new RegistryClient(host,
          RegistryOptions.builder().insecureHosts(List.of(host)).build())) {
        // the derived tag: legacy entries exactly as they were, then one twin per platform
        Manifest erofsIndex = registry.getManifest(REPO, "v1-erofs");
        assertEquals(MediaTypes.OCI_INDEX, erofsIndex.mediaType());
        JsonNode entries = JSON.readTree(erofsIndex.bytes()).path("manifests");
        JsonNode legacy = JSON.readTree(index.indexBytes()).path("manifests");
        assertEquals(legacy.size() * 2, entries.size(), entries.toString());
        for (int i = 0; i < legacy.size(); i++) {
          assertEquals(legacy.get(i), entries.get(i));
          JsonNode twin = entries.get(legacy.size() + i);
          JsonNode expected = legacy.get(i).path("platform").deepCopy();
          ((com.fasterxml.jackson.databind.node.ObjectNode) expected).putArray("os.features").add("erofs");
          assertEquals(expected, twin.path("platform"));
          checkTwin(registry, legacy.get(i).path("digest").asText(), twin.path("digest").asText());
        }

        CommandRun verify = run("verify", host + "/" + REPO + ":v1-erofs", "--ca", ca.toString(), "--profile", "native",
            "--insecure-registry", host);
        assertEquals(0, verify.exitCode(), verify.out() + verify.err());
        assertEquals(4, verify.out().lines().filter(l -> l.startsWith("native ") && l.contains(" ok ")).count(), verify.out());

        // publishing again changes nothing
        List<String> tags = registry.listTags(REPO);
        CommandRun again = convert("v1", "--native");
        assertEquals(0, again.exitCode(), again.out() + again.err());
        assertEquals(erofsIndex.digest(), registry.headManifest(REPO, "v1-erofs").orElseThrow().digest());
        assertEquals(tags, registry.listTags(REPO));
        // a request for the EROFS index itself (a backfill crawl meets its tag) keeps it: no v1-erofs-erofs
        CommandRun derived = convert("v1-erofs", "--native");
        assertEquals(0, derived.exitCode(), derived.out() + derived.err());
        assertEquals(erofsIndex.digest(), registry.headManifest(REPO, "v1-erofs").orElseThrow().digest());
        assertEquals(tags, registry.listTags(REPO));

        tamperedBlobIsRefused(entries.get(legacy.size()).path("digest").asText(), registry, ca);

        // in place: v1 itself becomes the combined index, and stays the same on the next run
        CommandRun inPlace = convert("v1", "--native", "--native-update-tag");
        assertEquals(0, inPlace.exitCode(), inPlace.out() + inPlace.err());
        Manifest combined = registry.getManifest(REPO, "v1");
        assertNotEquals(index.digest(), combined.digest());
        assertEquals(erofsIndex.digest(), combined.digest(), "the same index as under the derived tag");
        CommandRun inPlaceAgain = convert("v1", "--native", "--native-update-tag");
        assertEquals(0, inPlaceAgain.exitCode(), inPlaceAgain.out() + inPlaceAgain.err());
        assertEquals(combined.digest(), registry.headManifest(REPO, "v1").orElseThrow().digest());
        for (String profile : List.of("native", "image-bundle")) {
          CommandRun v = run("verify", host + "/" + REPO + ":v1", "--ca", ca.toString(), "--profile", profile,
              "--insecure-registry", host);
          assertEquals(0, v.exitCode(), profile + "\n" + v.out() + v.err());
        }
      }
    } finally {
      ConfigOptions.environment = System.getenv();
    }
  }

  /** {@code convert REPO:tag} on the test registry with these flags (and further references). */
  private CommandRun convert(String tag, String... flags) {
    Path state = dir.resolve("state");
    List<String> args = new ArrayList<>(List.of("convert", REGISTRY.host() + "/" + REPO + ":" + tag,
        "--set", "kafka.dataDir=" + state.resolve("kafka"), "--set", "s3.dataDir=" + state.resolve("s3"),
        "--set", "http.port=0", "--set", "worker.shutdownGraceSeconds=5",
        "--set", "registry.insecure=" + REGISTRY.host(), "--timeout", "10"));
    args.addAll(List.of(flags));
    return run(args.toArray(String[]::new));
  }

  /** The twin's config and layers, and each EROFS blob mounted against the legacy layer's tar-index image. */
  private void checkTwin(RegistryClient registry, String legacyDigest, String twinDigest) throws Exception {
    JsonNode legacy = JSON.readTree(registry.getManifest(REPO, legacyDigest).bytes());
    JsonNode twin = JSON.readTree(registry.getManifest(REPO, twinDigest).bytes());
    JsonNode config = JSON.readTree(registry.getBlob(REPO, twin.path("config").path("digest").asText()));
    JsonNode legacyConfig = JSON.readTree(registry.getBlob(REPO, legacy.path("config").path("digest").asText()));
    assertEquals(legacyDigest, twin.path("annotations").path("dev.erofs-pipeline.source-manifest").asText());
    assertTrue(config.path("os.features").toString().contains("\"erofs\""), config.toString());
    assertEquals(legacyConfig.path("history"), config.path("history"));

    JsonNode bundle = bundle(registry, legacyDigest);
    for (int i = 0; i < legacy.path("layers").size(); i++) {
      JsonNode tarLayer = legacy.path("layers").get(i);
      JsonNode erofsLayer = twin.path("layers").get(i);
      assertEquals(MediaTypes.EROFS_LAYER, erofsLayer.path("mediaType").asText());
      assertEquals(erofsLayer.path("digest").asText(), config.path("rootfs").path("diff_ids").get(i).asText(),
          "containerd's EROFS differ reports the blob's own digest as diffID");
      JsonNode a = erofsLayer.path("annotations");
      assertEquals(tarLayer.path("digest").asText(), a.path("dev.erofs-pipeline.source-layer-digest").asText());
      assertEquals("4096", a.path(Annotations.EROFS_DMVERITY_BLOCK_SIZE).asText());
      assertTrue(a.path(Annotations.EROFS_DMVERITY_ROOT_DIGEST).asText().matches("sha256:[0-9a-f]{64}"), a.toString());
      long hashOffset = Long.parseLong(a.path(Annotations.EROFS_DMVERITY_HASH_OFFSET).asText());
      assertEquals(0, hashOffset % 4096);
      assertTrue(hashOffset < erofsLayer.path("size").asLong());

      Path nativeImage = dir.resolve("native-" + i + ".erofs");
      Files.write(nativeImage, registry.getBlob(REPO, erofsLayer.path("digest").asText()));
      Path tarIndexImage = dir.resolve("tar-index-" + i + ".erofs");
      try (OutputStream out = Files.newOutputStream(tarIndexImage)) {
        out.write(registry.getBlob(REPO, payload(bundle, tarLayer.path("digest").asText(), MediaTypes.EROFS_METADATA)));
        try (InputStream tar = decompress(registry.getBlob(REPO, tarLayer.path("digest").asText()))) {
          tar.transferTo(out);
        }
      }
      assertEquals(listing(tarIndexImage, "tar-index-" + i), listing(nativeImage, "native-" + i),
          "layer " + i + " of " + legacyDigest + ": the EROFS blob mounts to the legacy layer's tree");
    }
  }

  private static JsonNode bundle(RegistryClient registry, String subject) throws IOException {
    List<Descriptor> refs = registry.referrers(REPO, subject, MediaTypes.EROFS_DMVERITY_BUNDLE);
    assertEquals(1, refs.size(), refs.toString());
    return JSON.readTree(registry.getManifest(REPO, refs.get(0).digest()).bytes());
  }

  private static String payload(JsonNode bundle, String layer, String mediaType) {
    for (JsonNode p : bundle.path("layers")) {
      if (p.path("mediaType").asText().equals(mediaType)
          && p.path("annotations").path(Annotations.SOURCE_LAYER_DIGEST).asText().equals(layer)) {
        return p.path("digest").asText();
      }
    }
    throw new AssertionError("no " + mediaType + " for " + layer + " in " + bundle);
  }

  private static InputStream decompress(byte[] blob) throws IOException {
    InputStream in = new ByteArrayInputStream(blob);
    if ((blob[0] & 0xff) == 0x1f && (blob[1] & 0xff) == 0x8b) {
      return new GZIPInputStream(in);
    }
    return new ZstdInputStream(in);
  }

  /**
   * Mounts {@code image} read-only and lists its tree as the kernel shows it: per entry the type,
   * mode, owner, link count and mtime, for non-directories the size and link target (a directory's
   * size depends on the image's block size), then the content digests and every xattr.
   */
  private String listing(Path image, String name) throws Exception {
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + name));
    ExternalCommand.run(Duration.ofSeconds(60), "mount", "-t", "erofs", "-o", "loop,ro", image.toString(), mnt.toString())
        .orThrow();
    try {
      String tree = ExternalCommand.run(Duration.ofSeconds(60), "sh", "-c",
          "cd '" + mnt + "' && find . \\( -type d -printf '%P %y %m %U:%G %n %T@\\n' \\) -o -printf '%P %y %m %U:%G %s %n %T@ %l\\n'"
              + " | sort && "
              + "find . -type f -print0 | sort -z | xargs -0 -r sha256sum && "
              + "getfattr -R -h -d -m - -e hex . 2>/dev/null").orThrow().output();
      assertTrue(tree.contains(" f "), name + " lists no file:\n" + tree);
      return tree;
    } finally {
      ExternalCommand.run(Duration.ofSeconds(60), "umount", mnt.toString()).orThrow();
    }
  }

  /** Flips one byte of a twin's first EROFS blob in the registry's storage: verify must refuse it, and accept it restored. */
  private void tamperedBlobIsRefused(String twinDigest, RegistryClient registry, Path ca) throws Exception {
    JsonNode twin = JSON.readTree(registry.getManifest(REPO, twinDigest).bytes());
    String blob = twin.path("layers").get(0).path("digest").asText().substring(7);
    Path data = REGISTRY.storageDir().resolve("docker/registry/v2/blobs/sha256/" + blob.substring(0, 2) + "/" + blob + "/data");
    byte[] original = Files.readAllBytes(data);
    byte[] tampered = original.clone();
    tampered[4096 + 17] ^= 1;
    Files.write(data, tampered);
    try {
      CommandRun v = run("verify", REGISTRY.host() + "/" + REPO + "@" + twinDigest, "--ca", ca.toString(), "--profile",
          "native", "--insecure-registry", REGISTRY.host());
      assertEquals(1, v.exitCode(), v.out() + v.err());
      assertTrue(v.out().contains("FAIL"), v.out());
    } finally {
      Files.write(data, original);
    }
    assertEquals(original.length, registry.getBlob(REPO, "sha256:" + blob).length, "restored: its digest checks again");
  }
}

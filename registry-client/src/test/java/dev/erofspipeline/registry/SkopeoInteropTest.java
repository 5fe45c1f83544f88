package dev.erofspipeline.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.TarLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interoperability with skopeo and real images: images pushed by skopeo (OCI index with gzip and zstd layers, Docker
 * v2s2) are read through the client; an image copied registry → OCI layout through {@link RegistryTarget} is accepted
 * by skopeo, which pushes it back with the same digest (the offline flow).
 */
class SkopeoInteropTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.create();

    @TempDir
    Path tmp;

    private static TarLayer layer(long seed) {
        return TarLayer.builder().dir("etc").file("etc/hostname", "box\n").randomFile("data/blob.bin", 150_000, seed).build();
    }

    @Test
    void readsSkopeoPushedImagesAndCopiesThemIntoALayoutSkopeoAccepts() throws Exception {
        OciLayoutBuilder src = new OciLayoutBuilder(tmp.resolve("src"));
        OciLayoutBuilder.Index idx = src.addIndex("multi",
                ImageSpec.linux("amd64").layer(layer(1), Compression.GZIP),
                ImageSpec.linux("arm64").variant("v8").layer(layer(2), Compression.GZIP).layer(layer(3), Compression.ZSTD));
        assertEquals(idx.digest(), REGISTRY.seed(src.dir(), "multi", "interop/app:1"));

        RegistryClient client = TestSupport.client(REGISTRY);
        Descriptor top = client.resolve(ImageReference.parse(REGISTRY.host() + "/interop/app:1"));
        assertEquals(idx.digest(), top.digest());
        assertEquals(MediaTypeNames.OCI_INDEX, top.mediaType());
        for (OciLayoutBuilder.Image img : idx.images()) {
            assertArrayEquals(img.manifestBytes(), client.getManifest("interop/app", img.digest()).bytes(), img.platform());
            for (OciLayoutBuilder.Layer l : img.layers()) {
                try (InputStream in = client.openBlob("interop/app", l.digest(), l.descriptor().size())) {
                    assertEquals(l.descriptor().size(), in.transferTo(java.io.OutputStream.nullOutputStream()));
                }
            }
        }

        // registry -> layout through the common interface
        Path copyDir = tmp.resolve("copy");
        RegistryTarget layout = Registries.open(ImageReference.parse("oci:" + copyDir + ":copied"), RegistryOptions.defaults());
        copy(client, "interop/app", "1", layout, "ignored", "copied");
        assertEquals(idx.digest(), layout.headManifest("ignored", "copied").orElseThrow().digest());

        byte[] raw = run("skopeo", "inspect", "--raw", "oci:" + copyDir + ":copied");
        assertArrayEquals(idx.indexBytes(), raw);
        // and skopeo pushes the layout back with the same digest
        assertEquals(idx.digest(), REGISTRY.seed(copyDir, "copied", "interop/back:1"));

        // layout -> registry through the interface, into a third repository: same digest again
        copy(layout, "ignored", "copied", client, "interop/third", "t");
        assertEquals(idx.digest(), client.headManifest("interop/third", "t").orElseThrow().digest());
    }

    @Test
    void dockerV2Schema2Manifests() throws Exception {
        OciLayoutBuilder src = new OciLayoutBuilder(tmp.resolve("v2"));
        src.addImage("one", ImageSpec.linux("amd64").layer(layer(4), Compression.GZIP));
        String digest = REGISTRY.seed(src.dir(), "one", "interop/docker:v1", RegistryFixture.Format.DOCKER_V2S2);
        RegistryClient client = TestSupport.client(REGISTRY);
        Manifest m = client.getManifest("interop/docker", "v1");
        assertEquals(MediaTypeNames.DOCKER_MANIFEST, m.mediaType());
        assertEquals(digest, m.digest());
        assertEquals(m.descriptor(), client.headManifest("interop/docker", digest).orElseThrow());
        JsonNode n = JSON.readTree(m.bytes());
        String config = n.path("config").path("digest").asText();
        assertTrue(new String(client.getBlob("interop/docker", config), StandardCharsets.UTF_8).contains("diff_ids"));
    }

    /** Copies a manifest (and, for an index, its manifests) with all blobs from one target to another, then tags it. */
    static void copy(RegistryTarget from, String fromRepo, String reference, RegistryTarget to, String toRepo, String tag)
            throws IOException {
        Manifest m = from.getManifest(fromRepo, reference);
        copyContent(from, fromRepo, m, to, toRepo);
        to.putManifest(toRepo, tag, m);
    }

    private static void copyContent(RegistryTarget from, String fromRepo, Manifest m, RegistryTarget to, String toRepo)
            throws IOException {
        JsonNode n = JSON.readTree(m.bytes());
        if (n.has("manifests")) {
            for (JsonNode child : n.get("manifests")) {
                Manifest c = from.getManifest(fromRepo, child.get("digest").asText());
                copyContent(from, fromRepo, c, to, toRepo);
                to.putManifest(toRepo, c.digest(), c);
            }
            return;
        }
        copyBlob(from, fromRepo, n.get("config"), to, toRepo);
        for (JsonNode l : n.path("layers")) {
            copyBlob(from, fromRepo, l, to, toRepo);
        }
    }

    private static void copyBlob(RegistryTarget from, String fromRepo, JsonNode d, RegistryTarget to, String toRepo) throws IOException {
        String digest = d.get("digest").asText();
        long size = d.get("size").asLong();
        to.pushBlob(toRepo, new BlobSource() {
            public String digest() {
                return digest;
            }

            public long size() {
                return size;
            }

            public InputStream open() throws IOException {
                return from.openBlob(fromRepo, digest);
            }
        });
    }

    private static byte[] run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        return out;
    }
}

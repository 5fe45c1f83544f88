package dev.erofspipeline.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;

class RegistryFixtureTest {

    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.create();

    @TempDir
    Path tmp;

    private static TarLayer base() {
        return TarLayer.builder()
                .dir("etc").file("etc/hostname", "box\n").file("etc/os-release", "ID=testkit\n")
                .dir("bin").file("bin/tool", "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8), 0755)
                .symlink("bin/sh", "tool").hardlink("bin/tool2", "bin/tool")
                .dir("var/cache").file("var/cache/old", "x")
                .build();
    }

    private static TarLayer upper() {
        return TarLayer.builder()
                .whiteout("etc/os-release").opaqueWhiteout("var/cache").file("var/cache/new", "y")
                .randomFile("data/blob.bin", 200_000, 7)
                .build();
    }

    @Test
    void seedsASingleImageWithSkopeoAndPreservesItsDigest() {
        OciLayoutBuilder layout = new OciLayoutBuilder(tmp.resolve("layout"));
        OciLayoutBuilder.Image img = layout.addImage("latest",
                ImageSpec.linux("amd64").layer(base(), Compression.GZIP).layer(upper(), Compression.ZSTD));

        String pushed = REGISTRY.seed(layout.dir(), "latest", "test/single:latest");
        assertEquals(img.digest(), pushed);

        RegistryHttp http = REGISTRY.http();
        RegistryHttp.Manifest m = http.getManifest("test/single", "latest");
        assertArrayEquals(img.manifestBytes(), m.bytes(), "manifest byte-identical");
        assertEquals(RegistryHttp.OCI_MANIFEST, m.mediaType());
        assertEquals(img.digest(), m.digest());
        for (OciLayoutBuilder.Layer l : img.layers()) {
            assertArrayEquals(readBlob(layout, l.digest()), http.getBlob("test/single", l.digest()), l.digest());
        }
        assertArrayEquals(img.configBytes(), http.getBlob("test/single", img.config().digest()));
        assertTrue(http.tagsJson("test/single").contains("\"latest\""));
    }

    @Test
    void seedsDockerV2s2WhenAsked() {
        OciLayoutBuilder layout = new OciLayoutBuilder(tmp.resolve("layout"));
        layout.addImage("v1", ImageSpec.linux("amd64").layer(base(), Compression.GZIP));
        String digest = REGISTRY.seed(layout.dir(), "v1", "test/docker:v1", RegistryFixture.Format.DOCKER_V2S2);
        RegistryHttp.Manifest m = REGISTRY.http().getManifest("test/docker", "v1");
        assertEquals(RegistryHttp.DOCKER_MANIFEST, m.mediaType());
        assertEquals(digest, m.digest());
        assertEquals(digest, Digests.sha256(m.bytes()));
    }

    @Test
    void multiPlatformIndexSurvivesCopyAllWithItsDigest() {
        OciLayoutBuilder layout = new OciLayoutBuilder(tmp.resolve("multi"));
        OciLayoutBuilder.Index idx = layout.addIndex("multi",
                ImageSpec.linux("amd64").layer(base(), Compression.GZIP),
                ImageSpec.linux("arm64").variant("v8").layer(base(), Compression.GZIP).layer(upper(), Compression.ZSTD));

        String pushed = REGISTRY.seed(layout.dir(), "multi", "test/multi:1");
        assertEquals(idx.digest(), pushed);
        RegistryHttp http = REGISTRY.http();
        RegistryHttp.Manifest index = http.getManifest("test/multi", "1");
        assertEquals(RegistryHttp.OCI_INDEX, index.mediaType());
        assertArrayEquals(idx.indexBytes(), index.bytes(), "index byte-identical");
        for (OciLayoutBuilder.Image img : idx.images()) {
            RegistryHttp.Manifest m = http.getManifest("test/multi", img.digest());
            assertArrayEquals(img.manifestBytes(), m.bytes(), img.platform());
        }

        // and back out into a layout: the same index digest is tagged there
        Path back = tmp.resolve("back");
        REGISTRY.copyToLayout("test/multi:1", back, "copy");
        assertTrue(Files.exists(back.resolve("blobs/sha256/" + Digests.hex(idx.digest()))));
    }

    @Test
    void pushesAndPullsABlobAndManifestByPlainHttp() {
        RegistryHttp http = REGISTRY.http();
        byte[] emptyConfig = "{}".getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[300_000];
        new java.util.SplittableRandom(3).nextBytes(payload);

        String configDigest = http.pushBlob("test/art", emptyConfig);
        assertEquals("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", configDigest);
        String blobDigest = http.pushBlob("test/art", payload);
        assertTrue(http.blobExists("test/art", blobDigest));
        assertFalse(http.blobExists("test/art", Digests.sha256(new byte[] {1})));

        String manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + RegistryHttp.OCI_MANIFEST + "\","
                + "\"artifactType\":\"application/vnd.example.erofs.test\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" + configDigest
                + "\",\"size\":2},"
                + "\"layers\":[{\"mediaType\":\"application/vnd.example.erofs.layer.v1\",\"digest\":\"" + blobDigest
                + "\",\"size\":" + payload.length + "}],"
                + "\"annotations\":{\"org.opencontainers.image.created\":\"1970-01-01T00:00:00Z\"}}";
        byte[] manifestBytes = manifest.getBytes(StandardCharsets.UTF_8);
        String md = Digests.sha256(manifestBytes);
        assertEquals(md, http.putManifest("test/art", md, RegistryHttp.OCI_MANIFEST, manifestBytes));
        http.putManifest("test/art", "v1", RegistryHttp.OCI_MANIFEST, manifestBytes);

        assertArrayEquals(manifestBytes, http.getManifest("test/art", md).bytes());
        assertArrayEquals(manifestBytes, http.getManifest("test/art", "v1").bytes());
        assertArrayEquals(payload, http.getBlob("test/art", blobDigest));
        assertTrue(http.catalogJson().contains("test/art"));
    }

    @Test
    void deliversPushNotificationsToAConfiguredEndpoint() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        HttpServer sink = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        sink.createContext("/events", ex -> {
            events.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        sink.start();
        try (RegistryFixture reg = RegistryFixture.process()
                .withNotificationEndpoint("test", URI.create("http://127.0.0.1:" + sink.getAddress().getPort() + "/events"))
                .start()) {
            assertTrue(reg.configYaml().contains("notifications:"));
            OciLayoutBuilder layout = new OciLayoutBuilder(tmp.resolve("n"));
            OciLayoutBuilder.Image img = layout.addImage("t", ImageSpec.linux("amd64").layer(base(), Compression.GZIP));
            reg.seed(layout.dir(), "t", "notify/me:t");
            long deadline = System.currentTimeMillis() + 10_000;
            while (events.stream().noneMatch(e -> e.contains(img.digest())) && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(events.stream().anyMatch(e -> e.contains("\"push\"") && e.contains(img.digest())),
                    () -> "events: " + events + "\nregistry log:\n" + reg.log());
        } finally {
            sink.stop(0);
        }
    }

    @Test
    void garbageCollectAndRestartKeepPortAndStorage() {
        try (RegistryFixture reg = RegistryFixture.process().start()) {
            RegistryHttp http = reg.http();
            OciLayoutBuilder layout = new OciLayoutBuilder(tmp.resolve("gc"));
            OciLayoutBuilder.Image keep = layout.addImage("keep", ImageSpec.linux("amd64").layer(base(), Compression.GZIP));
            OciLayoutBuilder.Image drop = layout.addImage("drop", ImageSpec.linux("amd64").layer(upper(), Compression.GZIP));
            reg.seed(layout.dir(), "keep", "gc/app:keep");
            reg.seed(layout.dir(), "drop", "gc/app:drop");
            String host = reg.host();
            long pid = reg.pid();

            reg.restart();
            assertEquals(host, reg.host(), "same port after restart");
            assertTrue(pid != reg.pid());
            assertArrayEquals(keep.manifestBytes(), http.getManifest("gc/app", "keep").bytes(), "storage kept");

            http.deleteManifest("gc/app", drop.digest());
            String out = reg.garbageCollect(false);
            assertTrue(out.contains("blob eligible for deletion") || out.contains("Deleting blob"), out);
            assertFalse(http.blobExists("gc/app", drop.layers().get(0).digest()), "unreferenced layer collected");
            assertTrue(http.blobExists("gc/app", keep.layers().get(0).digest()), "referenced layer kept");
            assertEquals(host, reg.host());
        }
    }

    @Test
    void writesAnAccessLogLinePerRequestWhenAsked() throws Exception {
        try (RegistryFixture reg = RegistryFixture.process().withAccessLog().start()) {
            assertFalse(reg.http().blobExists("log/app", "sha256:" + "0".repeat(64)));
            String log = Files.readString(reg.logFile());
            assertTrue(log.contains("\"HEAD /v2/log/app/blobs/sha256:" + "0".repeat(64) + " HTTP/1.1\" 404"), log);
        }
    }

    private static byte[] readBlob(OciLayoutBuilder layout, String digest) {
        try {
            return Files.readAllBytes(layout.blobPath(digest));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

package dev.erofspipeline.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.github.luben.zstd.ZstdInputStream;

import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;

class OciLayoutBuilderTest {

    @TempDir
    Path tmp;

    private static TarLayer layer() {
        return TarLayer.builder()
                .dir("etc").file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
                .file("usr/lib/" + "very-long-directory-name/".repeat(6) + "file.so", new byte[] {1, 2, 3}, 0755)
                .symlink("lib", "usr/lib").hardlink("etc/passwd.hard", "etc/passwd")
                .whiteout("opt/gone").opaqueWhiteout("var/tmp").charDevice("dev/null", 1, 3)
                .file("etc/xattr", "x".getBytes(StandardCharsets.UTF_8), 0600, java.util.Map.of("user.k", "v"))
                .build();
    }

    @Test
    void deterministicDigestsAndCorrectDiffIds() throws IOException {
        OciLayoutBuilder a = new OciLayoutBuilder(tmp.resolve("a"));
        OciLayoutBuilder b = new OciLayoutBuilder(tmp.resolve("b"));
        ImageSpec spec1 = ImageSpec.linux("amd64").layer(layer(), Compression.GZIP).layer(layer(), Compression.ZSTD)
                .layer(layer(), Compression.NONE);
        ImageSpec spec2 = ImageSpec.linux("amd64").layer(layer(), Compression.GZIP).layer(layer(), Compression.ZSTD)
                .layer(layer(), Compression.NONE);
        OciLayoutBuilder.Image x = a.addImage("t", spec1);
        OciLayoutBuilder.Image y = b.addImage("t", spec2);
        assertEquals(x.digest(), y.digest());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a/index.json")), Files.readAllBytes(tmp.resolve("b/index.json")));

        byte[] tar = layer().tar();
        String config = new String(x.configBytes(), StandardCharsets.UTF_8);
        for (OciLayoutBuilder.Layer l : x.layers()) {
            Path blob = a.blobPath(l.digest());
            assertEquals(l.digest(), Digests.sha256(blob));
            assertEquals(Files.size(blob), l.descriptor().size());
            assertEquals(l.compression().mediaType(), l.descriptor().mediaType());
            byte[] plain = decompress(Files.readAllBytes(blob), l.compression());
            assertArrayEquals(tar, plain);
            assertEquals(Digests.sha256(plain), l.diffId());
            assertTrue(config.contains(l.diffId()));
        }
        assertEquals(x.config().digest(), Digests.sha256(x.configBytes()));
        assertEquals(x.digest(), Digests.sha256(Files.readAllBytes(a.blobPath(x.digest()))));
        assertTrue(Files.readString(tmp.resolve("a/index.json")).contains("\"org.opencontainers.image.ref.name\":\"t\""));
    }

    @Test
    void tarEntriesAreWhatTheTestDescribed() throws IOException {
        List<String> seen = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(layer().tar()))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                assertEquals(0L, e.getModTime().getTime(), e.getName());
                String kind = e.isDirectory() ? "d" : e.isSymbolicLink() ? "l>" + e.getLinkName()
                        : e.isLink() ? "h>" + e.getLinkName() : e.isCharacterDevice() ? "c" + e.getDevMajor() + ":"
                        + e.getDevMinor() : "f" + e.getSize();
                seen.add(e.getName() + " " + kind);
                if (e.getName().equals("etc/xattr")) {
                    assertEquals("v", e.getExtraPaxHeader("SCHILY.xattr.user.k"));
                    assertEquals(0600, e.getMode() & 07777);
                }
            }
        }
        assertEquals(List.of("etc/ d", "etc/passwd f26",
                "usr/lib/" + "very-long-directory-name/".repeat(6) + "file.so f3",
                "lib l>usr/lib", "etc/passwd.hard h>etc/passwd", "opt/.wh.gone f0", "var/tmp/.wh..wh..opq f0",
                "dev/null c1:3", "etc/xattr f1"), seen);
    }

    @Test
    void multiPlatformIndexListsPlatforms() throws IOException {
        OciLayoutBuilder l = new OciLayoutBuilder(tmp.resolve("m"));
        OciLayoutBuilder.Index idx = l.addIndex("multi", ImageSpec.linux("amd64").layer(layer(), Compression.GZIP),
                ImageSpec.linux("arm64").variant("v8").layer(layer(), Compression.ZSTD),
                ImageSpec.of("unknown", "unknown").layer(TarLayer.builder().file("att.json", "{}").build(), Compression.NONE)
                        .descriptorAnnotation("vnd.docker.reference.type", "attestation-manifest"));
        String json = new String(idx.indexBytes(), StandardCharsets.UTF_8);
        assertTrue(json.contains("{\"architecture\":\"amd64\",\"os\":\"linux\"}"), json);
        assertTrue(json.contains("{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}"), json);
        assertTrue(json.contains("\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"},\"annotations\":"
                + "{\"vnd.docker.reference.type\":\"attestation-manifest\"}"), json);
        assertEquals(List.of("linux/amd64", "linux/arm64/v8", "unknown/unknown"), idx.images().stream().map(OciLayoutBuilder.Image::platform).toList());
        assertEquals(idx.digest(), Digests.sha256(idx.indexBytes()));
        String top = Files.readString(tmp.resolve("m/index.json"));
        assertTrue(top.contains(idx.digest()) && top.contains(OciLayoutBuilder.OCI_INDEX), top);
    }

    private static byte[] decompress(byte[] blob, Compression c) throws IOException {
        InputStream in = switch (c) {
            case NONE -> new ByteArrayInputStream(blob);
            case GZIP -> new GZIPInputStream(new ByteArrayInputStream(blob));
            case ZSTD -> new ZstdInputStream(new ByteArrayInputStream(blob));
        };
        try (in) {
            return in.readAllBytes();
        }
    }
}

package dev.erofspipeline.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Determinism of the referrers tag index, and concurrent referrer writers on an OCI layout. */
class ReferrersIndexTest {
    private static final String A = "sha256:" + "aa".repeat(32);
    private static final String B = "sha256:" + "bb".repeat(32);
    private static final String C = "sha256:" + "cc".repeat(32);

    @TempDir
    Path tmp;

    private static ObjectNode node(String digest) {
        return ReferrersIndex.toNode(new Descriptor(MediaTypeNames.OCI_MANIFEST, digest, 10, "application/x",
                Map.of("z", "1", "a", "2")));
    }

    @Test
    void sameBytesWhateverTheArrivalOrder() throws Exception {
        byte[] abc = ReferrersIndex.write(ReferrersIndex.entries(ReferrersIndex.write(List.of(node(A)), node(B))), node(C));
        byte[] cba = ReferrersIndex.write(ReferrersIndex.entries(ReferrersIndex.write(List.of(node(C)), node(B))), node(A));
        byte[] dup = ReferrersIndex.write(ReferrersIndex.entries(abc), node(B));
        assertArrayEquals(abc, cba);
        assertArrayEquals(abc, dup);
        String expectedStart = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                + "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + A
                + "\",\"size\":10,\"artifactType\":\"application/x\",\"annotations\":{\"a\":\"2\",\"z\":\"1\"}},";
        String text = new String(abc, StandardCharsets.UTF_8);
        assertEquals(true, text.startsWith(expectedStart), text);
    }

    @Test
    void entriesWrittenByOtherToolsKeepTheirFieldsInCanonicalOrder() throws Exception {
        byte[] foreign = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{"
                + "\"annotations\":{\"org.opencontainers.image.created\":\"2026-01-01T00:00:00Z\"},\"size\":5,\"zz\":true,"
                + "\"artifactType\":\"application/y\",\"digest\":\"" + B + "\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        byte[] out = ReferrersIndex.write(ReferrersIndex.entries(foreign), node(A));
        String s = new String(out, StandardCharsets.UTF_8);
        assertEquals(true, s.endsWith("{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + B
                + "\",\"size\":5,\"artifactType\":\"application/y\",\"annotations\":{\"org.opencontainers.image.created\":"
                + "\"2026-01-01T00:00:00Z\"},\"zz\":true}]}"), s);
        assertEquals(List.of(A, B), ReferrersIndex.descriptors(out, null).stream().map(Descriptor::digest).toList());
    }

    @Test
    void concurrentFirstWritersOfANewLayoutLoseNothing() throws Exception {
        Path dir = tmp.resolve("fresh");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<String> tags = new ArrayList<>();
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String tag = "t" + i;
                tags.add(tag);
                byte[] layer = TestImages.random(100, 70 + i);
                fs.add(pool.submit(() -> {
                    OciLayout l = new OciLayout(dir);
                    byte[] config = TestImages.config(Digests.sha256(layer));
                    l.pushBlob("x", BlobSource.of(layer));
                    l.pushBlob("x", BlobSource.of(config));
                    l.putManifest("x", tag, TestImages.imageManifest(config, layer));
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(Set.copyOf(tags), Set.copyOf(new OciLayout(dir).listTags("x")));
    }

    @Test
    void concurrentReferrersOnALayoutAreAllKept() throws Exception {
        OciLayout layout = new OciLayout(tmp.resolve("layout"));
        byte[] layer = TestImages.random(100, 51);
        byte[] config = TestImages.config(Digests.sha256(layer));
        layout.pushBlob("x", BlobSource.of(layer));
        layout.pushBlob("x", BlobSource.of(config));
        Manifest subject = TestImages.imageManifest(config, layer);
        layout.putManifest("x", "v1", subject);
        List<Manifest> refs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            byte[] payload = ("p" + i).getBytes(StandardCharsets.UTF_8);
            layout.pushBlob("x", BlobSource.of(payload));
            refs.add(TestImages.referrer(subject, "application/x", payload, "n" + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (Manifest r : refs) {
                // a fresh OciLayout object per writer, same directory
                fs.add(pool.submit(() -> new OciLayout(tmp.resolve("layout")).pushReferrer("x", subject.digest(), r, "application/x",
                        Map.of())));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        Set<String> listed = layout.referrers("x", subject.digest(), "application/x").stream().map(Descriptor::digest)
                .collect(Collectors.toSet());
        assertEquals(refs.stream().map(Manifest::digest).collect(Collectors.toSet()), listed);
        assertEquals(List.of("v1"), layout.listTags("x"));
    }
}

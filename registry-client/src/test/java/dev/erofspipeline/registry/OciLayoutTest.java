package dev.erofspipeline.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OciLayoutTest {
    private static final String ART = "application/vnd.example.sig.v1";

    @TempDir
    Path tmp;

    @Test
    void writeAndReadManifestBlobsAndReferrers() throws Exception {
        Path dir = tmp.resolve("layout");
        RegistryTarget layout = Registries.open(ImageReference.parse("oci:" + dir + ":v1"), RegistryOptions.defaults());
        assertInstanceOf(OciLayout.class, layout);

        byte[] layer = TestImages.random(40_000, 31);
        byte[] config = TestImages.config(Digests.sha256(layer));
        assertEquals(Digests.sha256(layer), layout.pushBlob("ignored", BlobSource.of(layer)));
        layout.pushBlob("ignored", BlobSource.of(config));
        Manifest image = TestImages.imageManifest(config, layer);
        layout.putManifest("ignored", "v1", image);

        assertTrue(Files.isRegularFile(dir.resolve("oci-layout")));
        assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", Files.readString(dir.resolve("oci-layout")));
        assertEquals(image, layout.getManifest("x", "v1"));
        assertEquals(image, layout.getManifest("x", image.digest()));
        assertEquals(Optional.of(image.descriptor()), layout.headManifest("x", "v1"));
        assertEquals(Optional.empty(), layout.headManifest("x", "v2"));
        assertEquals(404, assertThrows(RegistryException.class, () -> layout.getManifest("x", "v2")).status());
        assertArrayEquals(layer, layout.getBlob("x", Digests.sha256(layer)));
        assertEquals(Optional.of(40_000L), layout.blobSize("x", Digests.sha256(layer)));
        assertTrue(layout.mountBlob("x", Digests.sha256(layer), "y"));

        // re-tagging v1 replaces the entry
        layout.putManifest("x", "v1", image);
        layout.putManifest("x", "latest", image);
        assertEquals(List.of("v1", "latest"), layout.listTags("x"));

        // a referrer: manifest in blobs/ plus an untagged index.json entry
        byte[] payload = "signature".getBytes(StandardCharsets.UTF_8);
        layout.pushBlob("x", BlobSource.of(payload));
        layout.pushBlob("x", BlobSource.of(TestImages.EMPTY_CONFIG));
        Manifest sig = TestImages.referrer(image, ART, payload, "sig");
        Descriptor d = layout.pushReferrer("x", image.digest(), sig, ART, Map.of("note", "sig"));
        layout.pushReferrer("x", image.digest(), sig, ART, Map.of("note", "sig")); // idempotent
        assertEquals(List.of(d), layout.referrers("x", image.digest(), null));
        assertEquals(List.of(d), layout.referrers("x", image.digest(), ART));
        assertEquals(List.of(), layout.referrers("x", image.digest(), "application/other"));
        assertEquals(List.of(), layout.referrers("x", sig.digest(), null));
        assertEquals(List.of("v1", "latest"), layout.listTags("x"));

        // a stream of unknown digest
        Descriptor streamed = ((OciLayout) layout).pushBlob(new ByteArrayInputStream(payload));
        assertEquals(Digests.sha256(payload), streamed.digest());

        // a corrupted blob fails the digest check
        Path blobFile = dir.resolve("blobs/sha256/" + Digests.hex(Digests.sha256(layer)));
        byte[] corrupt = layer.clone();
        corrupt[100] ^= 1;
        Files.write(blobFile, corrupt);
        RegistryException e = assertThrows(RegistryException.class, () -> layout.getBlob("x", Digests.sha256(layer)));
        assertEquals("DIGEST_INVALID", e.errorCode());
        Files.write(blobFile, layer);

        // no temp files left in the layout
        try (var s = Files.walk(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }

        // skopeo accepts the layout and returns the manifest byte for byte
        Process p = new ProcessBuilder("skopeo", "inspect", "--raw", "oci:" + dir + ":v1").redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(out, StandardCharsets.UTF_8));
        assertArrayEquals(image.bytes(), out);

        // and reads the config through it
        Process q = new ProcessBuilder("skopeo", "inspect", "--config", "oci:" + dir + ":latest").redirectErrorStream(true).start();
        String cfg = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(q.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, q.exitValue(), cfg);
        assertTrue(cfg.contains(Digests.sha256(layer)), cfg);

        layout.deleteManifest("x", sig.digest());
        assertEquals(List.of(), layout.referrers("x", image.digest(), null));
        assertFalse(layout.blobExists("x", sig.digest()));
    }

    @Test
    void indexAndMissingLayout() throws Exception {
        OciLayout empty = new OciLayout(tmp.resolve("nothing"));
        assertEquals(List.of(), empty.listTags("x"));
        assertEquals(Optional.empty(), empty.headManifest("x", "v1"));
        assertFalse(Files.exists(tmp.resolve("nothing")), "reads do not create the layout");

        OciLayout layout = new OciLayout(tmp.resolve("multi"));
        byte[] l1 = TestImages.random(100, 41);
        byte[] c1 = TestImages.config(Digests.sha256(l1));
        layout.pushBlob("x", BlobSource.of(l1));
        layout.pushBlob("x", BlobSource.of(c1));
        Manifest m = TestImages.imageManifest(c1, l1);
        layout.putManifest("x", m.digest(), m);
        Manifest index = TestImages.index(m);
        layout.putManifest("x", "multi", index);
        assertEquals(index, layout.getManifest("x", "multi"));
        assertEquals(m, layout.getManifest("x", m.digest()));
        Process p = new ProcessBuilder("skopeo", "inspect", "--raw", "oci:" + layout.directory() + ":multi").redirectErrorStream(true)
                .start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertArrayEquals(index.bytes(), out, new String(out, StandardCharsets.UTF_8));
    }
}

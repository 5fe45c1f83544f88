package dev.erofspipeline.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageReferenceTest {
    private static final String D = "sha256:" + "ab".repeat(32);

    @Test
    void registryReferences() {
        ImageReference r = ImageReference.parse("127.0.0.1:5000/test/img:v1");
        assertEquals("127.0.0.1:5000", r.registry());
        assertEquals("test/img", r.repository());
        assertEquals("v1", r.tag());
        assertNull(r.digest());
        assertEquals("v1", r.reference());

        ImageReference d = ImageReference.parse("docker://ghcr.io/org/a/b@" + D);
        assertEquals("ghcr.io", d.registry());
        assertEquals("org/a/b", d.repository());
        assertNull(d.tag());
        assertEquals(D, d.reference());

        ImageReference both = ImageReference.parse("localhost:5000/x:t@" + D);
        assertEquals("t", both.tag());
        assertEquals(D, both.reference());
        assertEquals("localhost:5000/x:t@" + D, both.toString());

        assertEquals("latest", ImageReference.parse("quay.io/a/b").tag());
        assertEquals("localhost", ImageReference.parse("localhost/a").registry());
        assertEquals("[::1]:5000", ImageReference.parse("[::1]:5000/a:b").registry());
    }

    @Test
    void dockerHubDefaults() {
        ImageReference r = ImageReference.parse("busybox");
        assertEquals("registry-1.docker.io", r.registry());
        assertEquals("library/busybox", r.repository());
        assertEquals("latest", r.tag());
        assertEquals("library/busybox", ImageReference.parse("docker.io/busybox:1").repository());
        assertEquals("library/busybox", ImageReference.parse("docker://index.docker.io/library/busybox").repository());
        ImageReference u = ImageReference.parse("user/app:2");
        assertEquals("registry-1.docker.io", u.registry());
        assertEquals("user/app", u.repository());
    }

    @Test
    void layouts() {
        ImageReference l = ImageReference.parse("oci:/tmp/lay:v1");
        assertTrue(l.isLayout());
        assertEquals(Path.of("/tmp/lay"), l.layoutDir());
        assertEquals("v1", l.tag());
        ImageReference n = ImageReference.parse("oci:rel/dir");
        assertEquals(Path.of("rel/dir"), n.layoutDir());
        assertNull(n.tag());
        assertEquals("oci:/tmp/lay:v1", l.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  ", "Upper/Case", "host:5000/repo:bad tag", "a/b@sha256:123", "http://x/y", "oci:", "oci::tag",
            "host.io/", "a//b", "a/b:", "a/-b"})
    void unparseableReferencesFailClearly(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageReference.parse(text));
        assertTrue(e.getMessage().startsWith("invalid image reference"), e.getMessage());
        assertTrue(e.getMessage().contains("expected host[:port]/repo"), e.getMessage());
    }

    @Test
    void fallbackTagOfADigest() {
        assertEquals("sha256-" + "ab".repeat(32), ReferrersIndex.fallbackTag(D));
    }
}

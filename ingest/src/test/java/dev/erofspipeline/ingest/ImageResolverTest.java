package dev.erofspipeline.ingest;

import dev.erofspipeline.ingest.Resolution.ResolvedImage;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.Priority;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.RegistryFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The resolution core against a real docker-registry seeded with skopeo. */
class ImageResolverTest {
    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.shared();

    static TestImages images;
    static RegistryTargets targets;
    static ImageResolver resolver;

    @BeforeAll
    static void seed() {
        images = TestImages.seed(REGISTRY);
        targets = new RegistryTargets(images.options());
        resolver = new ImageResolver(targets);
    }

    @AfterAll
    static void close() {
        targets.close();
    }

    private static Resolution resolve(String ref, String... platforms) throws IngestException {
        return resolver.resolve(new ImageRequest(ref, List.of(platforms), Priority.NORMAL, false, "c-1", null));
    }

    @Test
    void aRegistryOrALayoutOutsideTheAllowlistIsRefusedBeforeAnyLookup() throws Exception {
        try (RegistryTargets listed = new RegistryTargets(images.options().toBuilder().allowedHost("*.example.com").build())) {
            ImageResolver r = new ImageResolver(listed);
            for (String ref : List.of(images.ref("app/multi:1"), "unresolvable.invalid/x:1", "oci:/etc:latest")) {
                IngestException e = assertThrows(IngestException.class,
                        () -> r.resolve(new ImageRequest(ref, List.of(), Priority.NORMAL, false, "c-1", null)));
                assertEquals(IngestException.REGISTRY_NOT_ALLOWED, e.reasonCode(), e.getMessage());
            }
        }
        try (RegistryTargets listed = new RegistryTargets(images.options().toBuilder().allowedHost(REGISTRY.host()).build())) {
            assertEquals(images.multi.digest(), new ImageResolver(listed)
                    .resolve(new ImageRequest(images.ref("app/multi:1"), List.of(), Priority.NORMAL, false, "c-1", null))
                    .digest());
        }
    }

    @Test
    void indexExpandsToPlatformManifestsAndSkipsTheAttestation() throws Exception {
        Resolution r = resolve(images.ref("app/multi:1"));
        assertEquals(REGISTRY.host(), r.registry());
        assertEquals("app/multi", r.repository());
        assertEquals(images.multi.digest(), r.digest());
        assertEquals(MediaTypes.OCI_INDEX, r.mediaType());
        assertEquals(2, r.images().size(), r.toString());
        assertTrue(r.failures().isEmpty());
        assertEquals(1, r.skipped().size());
        assertTrue(r.skipped().get(0).contains("attestation"), r.skipped().toString());
        for (int i = 0; i < 2; i++) {
            OciLayoutBuilder.Image want = images.multi.images().get(i);
            ResolvedImage got = r.images().get(i);
            assertEquals(want.digest(), got.digest());
            assertEquals(want.platform(), got.platform());
            assertEquals(images.multi.digest(), got.indexDigest());
            assertEquals(MediaTypes.OCI_MANIFEST, got.mediaType());
            assertEquals(want.manifestBytes().length, got.size());
            assertEquals(want.layers().size(), got.layers().size());
            for (int j = 0; j < want.layers().size(); j++) {
                assertEquals(want.layers().get(j).digest(), got.layers().get(j).digest());
                assertEquals(want.layers().get(j).diffId(), got.layers().get(j).diffId());
                assertEquals(want.layers().get(j).descriptor().mediaType(), got.layers().get(j).mediaType());
                assertEquals(want.layers().get(j).descriptor().size(), got.layers().get(j).size());
            }
        }
        assertEquals(MediaTypes.OCI_LAYER_TAR_ZSTD, r.images().get(1).layers().get(1).mediaType());
    }

    @Test
    void platformFiltersSelectManifests() throws Exception {
        Resolution arm = resolve(images.ref("app/multi:1"), "linux/arm64");
        assertEquals(List.of("linux/arm64/v8"), arm.images().stream().map(ResolvedImage::platform).toList());
        Resolution amd = resolve(images.ref("app/multi:1"), "linux/amd64", "linux/s390x");
        assertEquals(List.of("linux/amd64"), amd.images().stream().map(ResolvedImage::platform).toList());
        IngestException none = assertThrows(IngestException.class, () -> resolve(images.ref("app/multi:1"), "linux/ppc64le"));
        assertEquals(IngestException.NO_MATCHING_PLATFORM, none.reasonCode());
        assertTrue(none.getMessage().contains("linux/amd64"), none.getMessage());
        IngestException single = assertThrows(IngestException.class, () -> resolve(images.ref("app/single:1"), "linux/arm64"));
        assertEquals(IngestException.NO_MATCHING_PLATFORM, single.reasonCode());
    }

    @Test
    void dockerV2Schema2Image() throws Exception {
        Resolution r = resolve(images.ref("app/docker:1"));
        assertEquals(images.dockerDigest, r.digest());
        assertEquals(MediaTypes.DOCKER_MANIFEST, r.mediaType());
        ResolvedImage img = r.images().get(0);
        assertNull(img.indexDigest());
        assertEquals("linux/amd64", img.platform());
        assertEquals(2, img.layers().size());
        assertEquals(images.baseLayer, img.layers().get(0).digest());
        assertEquals(MediaTypes.DOCKER_LAYER_TAR_GZIP, img.layers().get(0).mediaType());
        assertEquals(images.dockerSource.layers().get(1).diffId(), img.layers().get(1).diffId());
    }

    @Test
    void singleOciImageByTagAndByDigest() throws Exception {
        Resolution byTag = resolve(images.ref("app/single:latest"));
        Resolution byDigest = resolve(images.ref("app/single@" + images.single.digest()));
        assertEquals(images.single.digest(), byTag.digest());
        assertEquals(byTag.images(), byDigest.images());
        assertEquals(MediaTypes.OCI_LAYER_TAR, byTag.images().get(0).layers().get(1).mediaType());
    }

    @Test
    void ociLayoutOnDisk() throws Exception {
        Resolution r = resolve("oci:" + images.layoutDir + ":multi");
        assertEquals("oci:" + images.layoutDir, r.registry());
        assertEquals(images.multi.digest(), r.digest());
        assertEquals(2, r.images().size());
    }

    @Test
    void unusableImagesAreReportedNotDropped() throws Exception {
        Resolution unsupported = resolve(images.ref("bad/unsupported:1"));
        assertTrue(unsupported.images().isEmpty());
        assertEquals(IngestException.UNSUPPORTED_LAYER, unsupported.failures().get(0).reasonCode());
        assertEquals(images.unsupportedDigest, unsupported.failures().get(0).digest());
        assertTrue(unsupported.failures().get(0).message().contains("application/vnd.example.unknown+json"));

        Resolution mismatch = resolve(images.ref("bad/mismatch:1"));
        assertEquals(IngestException.DIFFID_COUNT_MISMATCH, mismatch.failures().get(0).reasonCode());
        assertTrue(mismatch.failures().get(0).message().contains("2 layers"), mismatch.failures().get(0).message());
    }

    @Test
    void requestLevelFailuresHaveReasonCodes() {
        assertReason(IngestException.INVALID_REFERENCE, "not a reference!");
        assertReason(IngestException.UNKNOWN_HOST, "no-such-registry.invalid:5000/app/x:1");
        assertReason(IngestException.MANIFEST_UNKNOWN, images.ref("app/multi:nope"));
        assertReason(IngestException.MANIFEST_UNKNOWN, images.ref("no/such-repo:1"));
        assertReason(IngestException.NOT_A_MANIFEST, images.ref("app/single@" + images.single.config().digest()));
        assertReason(IngestException.NOT_AN_IMAGE, images.ref("bad/artifact:1"));
        assertReason(IngestException.REGISTRY_UNREACHABLE, "127.0.0.1:1/app/x:1");
    }

    private static void assertReason(String reason, String ref) {
        IngestException e = assertThrows(IngestException.class, () -> resolve(ref), ref);
        assertEquals(reason, e.reasonCode(), ref + ": " + e.getMessage());
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
    }
}

package dev.erofspipeline.registry;

import dev.erofspipeline.testkit.RegistryFixture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Against a real docker-registry 2.8.2 child process. */
class RegistryClientTest {
    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.create();

    private static RegistryClient client;

    @BeforeAll
    static void start() throws Exception {
        client = TestSupport.client(REGISTRY);
    }

    @Test
    void monolithicBlobPushHeadAndGet() throws Exception {
        byte[] data = TestImages.random(300_000, 1);
        BlobSource src = BlobSource.of(data);
        assertEquals(Optional.empty(), client.blobSize("test/mono", src.digest()));
        assertEquals(src.digest(), client.pushBlobMonolithic("test/mono", src));
        assertEquals(Optional.of((long) data.length), client.blobSize("test/mono", src.digest()));
        assertArrayEquals(data, client.getBlob("test/mono", src.digest()));
        // pushBlob again: already there, only a HEAD
        long before = client.counters().requests();
        client.pushBlob("test/mono", src);
        assertEquals(before + 1, client.counters().requests());
    }

    @Test
    void chunkedBlobPushOfSeveralMegabytes() throws Exception {
        byte[] data = TestImages.random(3 * 1024 * 1024 + 12345, 2);
        RegistryClient small = new RegistryClient(REGISTRY.host(), TestSupport.options(REGISTRY.host()).chunkSize(1 << 20).build());
        Descriptor d = small.pushBlobChunked("test/chunked", new ByteArrayInputStream(data), null);
        assertEquals(Digests.sha256(data), d.digest());
        assertEquals(data.length, d.size());
        // 1 POST + 4 PATCH + 1 PUT
        assertEquals(6, small.counters().requests());
        assertArrayEquals(data, small.getBlob("test/chunked", d.digest()));
        // a wrong expected digest is refused before the final PUT
        RegistryException e = assertThrows(RegistryException.class,
                () -> small.pushBlobChunked("test/chunked", new ByteArrayInputStream(new byte[]{1, 2, 3}), Digests.sha256(new byte[]{9})));
        assertEquals("DIGEST_INVALID", e.errorCode());
        // pushBlob picks chunked above the monolithic limit
        RegistryClient tiny = new RegistryClient(REGISTRY.host(), TestSupport.options(REGISTRY.host()).chunkSize(1 << 20)
                .monolithicLimit(1000).build());
        byte[] other = TestImages.random(2_500_000, 3);
        tiny.pushBlob("test/chunked", BlobSource.of(other));
        assertEquals(Optional.of((long) other.length), client.blobSize("test/chunked", Digests.sha256(other)));
    }

    @Test
    void crossRepositoryMount() throws Exception {
        byte[] data = TestImages.random(50_000, 4);
        BlobSource src = BlobSource.of(data);
        client.pushBlob("test/mount-src", src);
        assertTrue(client.mountBlob("test/mount-dst", src.digest(), "test/mount-src"));
        assertEquals(Optional.of((long) data.length), client.blobSize("test/mount-dst", src.digest()));
        // unknown blob: the registry answers 202 (upload session), the client cancels it and says "not mounted"
        String unknown = Digests.sha256(new byte[]{42});
        assertFalse(client.mountBlob("test/mount-dst", unknown, "test/mount-src"));
        BlobSource fallback = BlobSource.of(new byte[]{42});
        client.mountOrPushBlob("test/mount-dst2", fallback, "test/mount-src");
        assertTrue(client.blobExists("test/mount-dst2", fallback.digest()));
    }

    @Test
    void manifestAndIndexRoundTripByTagAndDigest() throws Exception {
        String repo = "test/image";
        byte[] layer1 = TestImages.random(10_000, 5);
        byte[] layer2 = TestImages.random(10_000, 6);
        byte[] config1 = TestImages.config(Digests.sha256(layer1));
        byte[] config2 = TestImages.config(Digests.sha256(layer2));
        for (byte[] b : List.of(layer1, layer2, config1, config2)) {
            client.pushBlob(repo, BlobSource.of(b));
        }
        Manifest m1 = TestImages.imageManifest(config1, layer1);
        Manifest m2 = TestImages.imageManifest(config2, layer2);
        assertEquals(m1.digest(), client.putManifest(repo, "amd64", m1));
        assertEquals(m2.digest(), client.putManifest(repo, m2.digest(), m2));
        Manifest index = TestImages.index(m1, m2);
        client.putManifest(repo, "multi", index);

        Manifest byTag = client.getManifest(repo, "amd64");
        assertArrayEquals(m1.bytes(), byTag.bytes());
        assertEquals(MediaTypeNames.OCI_MANIFEST, byTag.mediaType());
        assertEquals(m1.digest(), byTag.digest());
        assertEquals(m2, client.getManifest(repo, m2.digest()));
        Manifest idx = client.getManifest(repo, "multi");
        assertArrayEquals(index.bytes(), idx.bytes());
        assertEquals(MediaTypeNames.OCI_INDEX, idx.mediaType());
        assertEquals(index, client.getManifest(repo, index.digest()));

        Descriptor head = client.headManifest(repo, "multi").orElseThrow();
        assertEquals(index.descriptor(), head);
        assertEquals(index.descriptor(), client.resolve(ImageReference.parse(REGISTRY.host() + "/" + repo + ":multi")));
        assertEquals(Optional.empty(), client.headManifest(repo, "nope"));

        RegistryException missing = assertThrows(RegistryException.class, () -> client.getManifest(repo, "nope"));
        assertEquals(404, missing.status());
        assertEquals("MANIFEST_UNKNOWN", missing.errorCode());
        assertFalse(missing.isTransient());

        // a manifest naming a blob that is not there: 400 MANIFEST_BLOB_UNKNOWN, permanent
        Manifest broken = TestImages.imageManifest(config1, new byte[]{1, 2, 3});
        RegistryException bad = assertThrows(RegistryException.class, () -> client.putManifest(repo, "broken", broken));
        assertEquals(400, bad.status());
        assertEquals("MANIFEST_BLOB_UNKNOWN", bad.errorCode());
        assertFalse(bad.isTransient());

        client.deleteManifest(repo, m2.digest());
        assertEquals(Optional.empty(), client.headManifest(repo, m2.digest()));
    }

    @Test
    void blobDownloadResumesWithRangeAfterABrokenConnection() throws Exception {
        byte[] data = TestImages.random(2 * 1024 * 1024, 7);
        BlobSource src = BlobSource.of(data);
        client.pushBlob("test/resume", src);
        try (CuttingTcpProxy proxy = new CuttingTcpProxy(REGISTRY.port())) {
            RegistryClient viaProxy = new RegistryClient(proxy.host(), TestSupport.options(proxy.host()).build());
            proxy.arm("/blobs/" + src.digest(), 700_000);
            byte[] got;
            try (InputStream in = viaProxy.openBlob("test/resume", src.digest(), data.length)) {
                got = in.readAllBytes();
            }
            assertEquals(1, proxy.cuts());
            assertEquals(1, viaProxy.counters().resumes());
            assertArrayEquals(data, got);
        }
    }

    @Test
    void corruptedContentFailsTheDigestCheck() throws Exception {
        byte[] data = TestImages.random(1000, 8);
        client.pushBlob("test/corrupt", BlobSource.of(data));
        // ask for the blob under its real digest but tell the stream to expect another one: simulated by a wrong size
        RegistryException e = assertThrows(RegistryException.class,
                () -> client.openBlob("test/corrupt", Digests.sha256(data), 999).close());
        assertEquals("SIZE_INVALID", e.errorCode());
        RegistryException unknown = assertThrows(RegistryException.class,
                () -> client.openBlob("test/corrupt", Digests.sha256(new byte[]{7})));
        assertEquals(404, unknown.status());
        assertEquals("BLOB_UNKNOWN", unknown.errorCode());
    }

    @Test
    void tagsWithPaginationAndCatalog() throws Exception {
        String repo = "test/tags";
        byte[] layer = TestImages.random(100, 9);
        byte[] config = TestImages.config(Digests.sha256(layer));
        client.pushBlob(repo, BlobSource.of(layer));
        client.pushBlob(repo, BlobSource.of(config));
        Manifest m = TestImages.imageManifest(config, layer);
        List<String> tags = List.of("a", "b", "c", "d", "e");
        for (String t : tags) {
            client.putManifest(repo, t, m);
        }
        // docker-registry 2.8.2 ignores ?n= on tags/list (tag pagination came with distribution 3) and answers in
        // storage order: compare as sets. Link-header pagination of tags is covered by ReferrersApiTestDoubleTest.
        assertEquals(new java.util.TreeSet<>(tags), new java.util.TreeSet<>(client.listTags(repo, 2)));
        assertEquals(new java.util.TreeSet<>(tags), new java.util.TreeSet<>(client.listTags(repo)));
        client.pushBlob("test/tags2", BlobSource.of(layer));
        // the catalog does paginate (n=1: one repository per page, Link: rel="next")
        List<String> all = client.catalog(0);
        assertTrue(all.contains(repo) && all.contains("test/tags2"), all.toString());
        long before = client.counters().requests();
        assertEquals(all, client.catalog(1));
        assertTrue(client.counters().requests() - before >= all.size(), "one request per page");
    }
}

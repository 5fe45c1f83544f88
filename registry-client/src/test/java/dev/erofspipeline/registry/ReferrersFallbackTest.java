package dev.erofspipeline.registry;

import dev.erofspipeline.testkit.RegistryFixture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The referrers tag schema against a real docker-registry 2.8.2 (which has no referrers API). */
class ReferrersFallbackTest {
    private static final String ART_A = "application/vnd.example.a.v1";
    private static final String ART_B = "application/vnd.example.b.v1";

    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.create();

    private static RegistryClient client;

    @BeforeAll
    static void start() throws Exception {
        client = TestSupport.client(REGISTRY);
    }

    /** Pushes a small image to {@code repo} and returns its manifest. */
    private static Manifest subject(String repo, long seed) throws Exception {
        byte[] layer = TestImages.random(1000, seed);
        byte[] config = TestImages.config(Digests.sha256(layer));
        client.pushBlob(repo, BlobSource.of(layer));
        client.pushBlob(repo, BlobSource.of(config));
        client.pushBlob(repo, BlobSource.of(TestImages.EMPTY_CONFIG));
        Manifest m = TestImages.imageManifest(config, layer);
        client.putManifest(repo, "v" + seed, m);
        return m;
    }

    private static Manifest referrer(String repo, Manifest subject, String type, String note) throws Exception {
        byte[] payload = note.getBytes(StandardCharsets.UTF_8);
        client.pushBlob(repo, BlobSource.of(payload));
        return TestImages.referrer(subject, type, payload, note);
    }

    @Test
    void twoReferrersListedFilteredAndNotDuplicated() throws Exception {
        String repo = "ref/one";
        Manifest subject = subject(repo, 1);
        assertEquals(List.of(), client.referrers(repo, subject.digest(), null));
        assertFalse(client.hasReferrersApi(repo, subject.digest()));

        Manifest r1 = referrer(repo, subject, ART_A, "first");
        Manifest r2 = referrer(repo, subject, ART_B, "second");
        Descriptor d1 = client.pushReferrer(repo, subject.digest(), r1, ART_A, Map.of("note", "first"));
        Descriptor d2 = client.pushReferrer(repo, subject.digest(), r2, ART_B, Map.of("note", "second"));

        List<Descriptor> all = client.referrers(repo, subject.digest(), null);
        assertEquals(Set.of(d1, d2), Set.copyOf(all));
        assertEquals(List.of(d1), client.referrers(repo, subject.digest(), ART_A));
        assertEquals(List.of(d2), client.referrers(repo, subject.digest(), ART_B));

        // the index at the fallback tag is deterministic: sorted by digest, fixed key order, no timestamps
        String tag = "sha256-" + Digests.hex(subject.digest());
        assertTrue(client.listTags(repo).contains(tag));
        Manifest index = client.getManifest(repo, tag);
        assertEquals(MediaTypeNames.OCI_INDEX, index.mediaType());
        List<Descriptor> sorted = new ArrayList<>(List.of(d1, d2));
        sorted.sort((a, b) -> a.digest().compareTo(b.digest()));
        assertArrayEquals(expectedIndex(sorted), index.bytes());

        // the same referrer again: no duplicate, the index is not rewritten
        client.addReferrer(repo, subject.digest(), d1);
        client.pushReferrer(repo, subject.digest(), r1, ART_A, Map.of("note", "first"));
        assertEquals(2, client.referrers(repo, subject.digest(), null).size());
        assertArrayEquals(index.bytes(), client.getManifest(repo, tag).bytes());
    }

    private static byte[] expectedIndex(List<Descriptor> sorted) {
        StringBuilder sb = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[");
        for (int i = 0; i < sorted.size(); i++) {
            Descriptor d = sorted.get(i);
            sb.append(i > 0 ? "," : "").append("{\"mediaType\":\"").append(d.mediaType()).append("\",\"digest\":\"").append(d.digest())
                    .append("\",\"size\":").append(d.size()).append(",\"artifactType\":\"").append(d.artifactType())
                    .append("\",\"annotations\":{\"note\":\"").append(d.annotations().get("note")).append("\"}}");
        }
        return sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void racingThreadsOnOneSubjectBothEndUpListed() throws Exception {
        String repo = "ref/race";
        Manifest subject = subject(repo, 2);
        int writers = 6;
        List<Manifest> refs = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            Manifest r = referrer(repo, subject, ART_A, "racer-" + i);
            client.putManifest(repo, r.digest(), r);
            refs.add(r);
        }
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (Manifest r : refs) {
                // each thread with its own client, as separate stage instances in one JVM would be
                RegistryClient own = TestSupport.client(REGISTRY);
                futures.add(pool.submit(() -> {
                    go.await();
                    own.addReferrer(repo, subject.digest(), Descriptor.of(r, ART_A, Map.of()));
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        Set<String> listed = client.referrers(repo, subject.digest(), null).stream().map(Descriptor::digest).collect(Collectors.toSet());
        assertEquals(refs.stream().map(Manifest::digest).collect(Collectors.toSet()), listed);
    }

    @Test
    void anEntryLostToAConcurrentWriterIsWrittenAgain() throws Exception {
        String repo = "ref/lost";
        Manifest subject = subject(repo, 3);
        Manifest mine = referrer(repo, subject, ART_A, "mine");
        Manifest theirs = referrer(repo, subject, ART_B, "theirs");
        client.putManifest(repo, mine.digest(), mine);
        client.putManifest(repo, theirs.digest(), theirs);
        String tag = ReferrersIndex.fallbackTag(subject.digest());
        Descriptor theirDescriptor = Descriptor.of(theirs, ART_B, Map.of());

        // another process (with its own lock) overwrites the tag right after our first write, from a stale read
        RegistryClient writer = new RegistryClient(REGISTRY.host(), TestSupport.options(REGISTRY.host()).build(), new SubjectLocks());
        AtomicBoolean once = new AtomicBoolean(true);
        writer.afterReferrerWrite(() -> {
            if (once.getAndSet(false)) {
                try {
                    byte[] stale = ReferrersIndex.write(List.of(), ReferrersIndex.toNode(theirDescriptor));
                    client.putManifest(repo, tag, Manifest.of(stale, MediaTypeNames.OCI_INDEX));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        writer.addReferrer(repo, subject.digest(), Descriptor.of(mine, ART_A, Map.of()));
        assertEquals(1, writer.counters().referrerConflicts());
        Set<String> listed = client.referrers(repo, subject.digest(), null).stream().map(Descriptor::digest).collect(Collectors.toSet());
        assertEquals(Set.of(mine.digest(), theirs.digest()), listed);
    }
}

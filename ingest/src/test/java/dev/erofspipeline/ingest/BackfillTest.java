package dev.erofspipeline.ingest;

import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.Priority;
import dev.erofspipeline.testkit.RegistryFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The backfill crawler against the seeded docker-registry: pagination, globs, rate limit, checkpoint and resume. */
class BackfillTest {
    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.shared();

    static TestImages images;
    static RegistryClient client;

    @BeforeAll
    static void seed() {
        images = TestImages.seed(REGISTRY);
        client = new RegistryClient(REGISTRY.host(), images.options());
    }

    @AfterAll
    static void close() {
        client.close();
    }

    private static Backfill.Options options(List<String> repos, List<String> tags, Path checkpoint, double rate) {
        return new Backfill.Options(REGISTRY.host(), repos, tags, rate, false, List.of(), 1, checkpoint, null);
    }

    private static List<String> refs(List<ImageRequest> rs) {
        return rs.stream().map(r -> r.reference().substring(REGISTRY.host().length() + 1)).toList();
    }

    @Test
    void globs() {
        Globs g = Globs.of(List.of("app/*", "lib/**/x?"));
        assertTrue(g.matches("app/multi"));
        assertFalse(g.matches("app/multi/deeper"));
        assertTrue(g.matches("lib/a/b/xy"));
        assertFalse(g.matches("lib/a/b/x"));
        assertFalse(g.matches("bad/app"));
        assertTrue(Globs.of(List.of()).matches("anything"));
        assertTrue(Globs.of(List.of("v1.*")).matches("v1.2"));
        assertFalse(Globs.of(List.of("v1.*")).matches("v10"));
    }

    @Test
    void walksMatchingRepositoriesAndTagsPageByPage() throws Exception {
        List<ImageRequest> sent = new ArrayList<>();
        List<Backfill.Progress> progress = new ArrayList<>();
        Backfill.Result r = new Backfill(client, options(List.of("app/*"), List.of(), null, 0), sent::add, progress::add).run();
        assertEquals(List.of("app/docker:1", "app/multi:1", "app/single:1", "app/single:latest"), refs(sent));
        assertEquals(3, r.reposTotal());
        assertEquals(3, r.reposDone());
        assertEquals(4, r.requests());
        assertTrue(sent.stream().allMatch(q -> q.priority() == Priority.LOW && !q.force()));
        assertTrue(progress.get(progress.size() - 1).line().startsWith("[####################] 3/3 repos"),
                progress.get(progress.size() - 1).line());

        List<ImageRequest> latest = new ArrayList<>();
        new Backfill(client, options(List.of("**"), List.of("lat*"), null, 0), latest::add, null).run();
        assertEquals(List.of("app/single:latest"), refs(latest));
    }

    @Test
    void sinceFiltersByTheImageConfigsCreationTime() throws Exception {
        // the test images say they were created at the epoch
        List<ImageRequest> none = new ArrayList<>();
        new Backfill(client, new Backfill.Options(REGISTRY.host(), List.of("app/*"), List.of(), 0, false, List.of(), 0,
                null, java.time.Instant.parse("2000-01-01T00:00:00Z")), none::add, null).run();
        assertEquals(List.of(), refs(none));
        List<ImageRequest> all = new ArrayList<>();
        new Backfill(client, new Backfill.Options(REGISTRY.host(), List.of("app/*"), List.of(), 0, false, List.of(), 0,
                null, java.time.Instant.parse("1969-12-31T00:00:00Z")), all::add, null).run();
        assertEquals(4, all.size());
    }

    @Test
    void isRateLimited() throws Exception {
        long t0 = System.nanoTime();
        new Backfill(client, options(List.of("app/*"), List.of(), null, 20), r -> { }, null).run();
        // 1 catalog + 3 tag listings + 4 requests at 20/s: at least 7 intervals of 50 ms
        assertTrue(System.nanoTime() - t0 >= 340_000_000L, "rate limit not honoured");
    }

    @Test
    void interruptedRunResumesFromItsCheckpoint(@TempDir Path dir) throws Exception {
        Path cp = dir.resolve("backfill.json");
        List<ImageRequest> first = new ArrayList<>();
        Backfill.Sink failing = q -> {
            if (first.size() == 1) {
                throw new IllegalStateException("broker gone");
            }
            first.add(q);
        };
        assertThrows(IllegalStateException.class,
                () -> new Backfill(client, options(List.of("app/*"), List.of(), cp, 0), failing, null).run());
        assertEquals(List.of("app/docker:1"), refs(first));
        assertTrue(Files.readString(cp).contains("app/docker"));

        List<ImageRequest> second = new ArrayList<>();
        Backfill.Result r = new Backfill(client, options(List.of("app/*"), List.of(), cp, 0), second::add, null).run();
        assertEquals(List.of("app/multi:1", "app/single:1", "app/single:latest"), refs(second));
        assertEquals(1, r.reposResumed());
        assertEquals(3, r.reposDone());

        // stop() between repositories, then resume: nothing is sent twice across the runs
        Path cp2 = dir.resolve("stopped.json");
        List<ImageRequest> a = new ArrayList<>();
        Backfill[] holder = new Backfill[1];
        holder[0] = new Backfill(client, options(List.of("app/*"), List.of(), cp2, 0), a::add, p -> {
            if (p.reposDone() == 2) {
                holder[0].stop();
            }
        });
        assertTrue(holder[0].run().stopped());
        List<ImageRequest> b = new ArrayList<>();
        new Backfill(client, options(List.of("app/*"), List.of(), cp2, 0), b::add, null).run();
        List<String> both = new ArrayList<>(refs(a));
        both.addAll(refs(b));
        assertEquals(List.of("app/docker:1", "app/multi:1", "app/single:1", "app/single:latest"), both);

        // a checkpoint of other filters is refused
        assertThrows(IllegalStateException.class,
                () -> new Backfill(client, options(List.of("bad/*"), List.of(), cp, 0), q -> { }, null).run());
    }
}

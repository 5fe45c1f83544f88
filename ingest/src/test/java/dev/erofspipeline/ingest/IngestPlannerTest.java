package dev.erofspipeline.ingest;

import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.Priority;
import dev.erofspipeline.schemas.StagingLayout;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dedup: result.json in S3 (S3Proxy), the in-process set of layers in flight, force. */
class IngestPlannerTest {
    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.shared();
    @RegisterExtension
    static final S3Fixture S3 = S3Fixture.create();

    static final ConversionProfile PROFILE = new ConversionProfile("default", "0123456789abcdef");
    static final DeadLetter.Input INPUT = DeadLetter.Input.of(new byte[0]);

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

    private static ImageRequest request(String repoAndTag, boolean force) {
        return new ImageRequest(images.ref(repoAndTag), List.of(), Priority.NORMAL, force, "corr-" + repoAndTag, null);
    }

    private static IngestPlan plan(IngestPlanner planner, String repoAndTag, boolean force) throws IngestException {
        ImageRequest req = request(repoAndTag, force);
        return planner.plan(req, resolver.resolve(req), INPUT);
    }

    private static Set<String> jobDigests(List<IngestPlan> plans) {
        Set<String> s = new TreeSet<>();
        List<String> all = new ArrayList<>();
        for (IngestPlan p : plans) {
            p.layerJobs().forEach(j -> all.add(j.layer().digest()));
        }
        s.addAll(all);
        assertEquals(s.size(), all.size(), "a layer was queued twice: " + all);
        return s;
    }

    private static final String[] ALL = {"app/multi:1", "app/docker:1", "app/single:1", "app/single:latest"};

    @Test
    void sharedLayersAreQueuedOnceThenNotAgainOnceConvertedUnlessForced() throws Exception {
        String prefix = "run-" + System.nanoTime();
        ConvertedLayers s3 = new S3ConvertedLayers(S3.client(), S3.bucket(), prefix);
        InFlightLayers inFlight = new InFlightLayers(Duration.ofHours(1));
        IngestPlanner planner = new IngestPlanner(PROFILE, s3, inFlight);

        List<IngestPlan> first = new ArrayList<>();
        for (String r : ALL) {
            first.add(plan(planner, r, false));
        }
        assertEquals(images.allImageLayers(), jobDigests(first));
        // the multi-platform request: the base layer is one job naming both platform manifests
        LayerJob base = first.get(0).layerJobs().stream().filter(j -> j.layer().digest().equals(images.baseLayer))
                .findFirst().orElseThrow();
        assertEquals(List.of("linux/amd64", "linux/arm64/v8"), base.subjects().stream().map(LayerJob.Subject::platform).toList());
        assertEquals(PROFILE, base.profile());
        assertEquals(REGISTRY.host(), base.registry());
        assertEquals("app/multi", base.repository());
        // image records: two platforms + docker + single (twice: two tags)
        assertEquals(List.of(2, 1, 1, 1), first.stream().map(p -> p.images().size()).toList());
        ImageRecord amd = first.get(0).images().get(0);
        assertEquals(images.multi.images().get(0).digest(), amd.key());
        assertEquals(images.multi.digest(), amd.indexDigest());
        assertEquals(images.multi.images().get(0).layers().size(), amd.layers().size());
        // the second tag of the same image: nothing new to queue, its layers are queued already
        assertTrue(first.get(3).layerJobs().isEmpty());
        assertEquals(List.of(ImageStatus.LayerState.QUEUED, ImageStatus.LayerState.QUEUED),
                first.get(3).statuses().get(0).layers().stream().map(ImageStatus.Layer::state).toList());

        // the worker writes result.json for every layer
        for (String d : images.allImageLayers()) {
            S3.client().putObject(PutObjectRequest.builder().bucket(S3.bucket())
                    .key(StagingLayout.resultKey(prefix, d, PROFILE.fingerprint())).build(), RequestBody.fromString("{}"));
        }
        List<IngestPlan> second = new ArrayList<>();
        for (String r : ALL) {
            second.add(plan(planner, r, false));
        }
        assertTrue(jobDigests(second).isEmpty());
        assertEquals(5, second.stream().mapToInt(p -> p.images().size()).sum());
        for (IngestPlan p : second) {
            for (ImageStatus s : p.statuses()) {
                assertEquals(s.layersTotal(), s.layersDone(), s.toString());
                assertEquals(ImageStatus.State.QUEUED, s.state());
            }
        }
        assertEquals(0, inFlight.size(), "finding result.json releases the claims");

        List<IngestPlan> forced = new ArrayList<>();
        for (String r : ALL) {
            forced.add(plan(planner, r, true));
        }
        assertEquals(images.allImageLayers(), jobDigests(forced));
        assertTrue(forced.get(0).layerJobs().stream().allMatch(LayerJob::force));

        // a different profile fingerprint is a new conversion
        IngestPlanner other = new IngestPlanner(new ConversionProfile("next", "fedcba9876543210"), s3,
                new InFlightLayers(Duration.ofHours(1)));
        assertEquals(images.allImageLayers().size(), plan(other, "app/multi:1", false).layerJobs().size()
                + plan(other, "app/docker:1", false).layerJobs().size() + plan(other, "app/single:1", false).layerJobs().size());
    }

    @Test
    void identicalRequestsAtOnceProduceOneJobPerLayer() throws Exception {
        InFlightLayers inFlight = new InFlightLayers(Duration.ofHours(1));
        CountDownLatch start = new CountDownLatch(1);
        // a slow store, so the requests overlap
        ConvertedLayers slow = (d, p) -> {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        };
        IngestPlanner planner = new IngestPlanner(PROFILE, slow, inFlight);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<IngestPlan>> futures = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String r = ALL[i % 2];
                futures.add(pool.submit(() -> {
                    start.await();
                    return plan(planner, r, false);
                }));
            }
            start.countDown();
            List<IngestPlan> plans = new ArrayList<>();
            for (Future<IngestPlan> f : futures) {
                plans.add(f.get());
            }
            Set<String> want = new TreeSet<>();
            images.multi.images().subList(0, 2).forEach(i -> i.layers().forEach(l -> want.add(l.digest())));
            images.dockerSource.layers().forEach(l -> want.add(l.digest()));
            assertEquals(want, jobDigests(plans));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void claimsExpireAndAreReleasedOnlyWhenTakenBeforeTheCheck() {
        AtomicLong clock = new AtomicLong(1_000);
        InFlightLayers f = new InFlightLayers(Duration.ofNanos(100), clock::get);
        assertTrue(f.tryClaim("a"));
        assertFalse(f.tryClaim("a"));
        f.releaseIfClaimedBefore("a", 1_000); // taken at the same instant the check began: stays
        assertTrue(f.isClaimed("a"));
        clock.set(1_050);
        f.releaseIfClaimedBefore("a", 1_001);
        assertFalse(f.isClaimed("a"));
        assertTrue(f.tryClaim("a"));
        clock.set(1_200);
        assertFalse(f.isClaimed("a"), "expired");
        assertTrue(f.tryClaim("a"), "an expired claim is taken again");
        f.release(Collections.singleton("a"));
        assertEquals(0, f.size());
    }

    @Test
    void failedPlatformManifestsBecomeDeadLettersAndFailedStatuses() throws Exception {
        IngestPlanner planner = new IngestPlanner(PROFILE, ConvertedLayers.none(), new InFlightLayers(Duration.ofHours(1)));
        IngestPlan p = plan(planner, "bad/unsupported:1", false);
        assertTrue(p.layerJobs().isEmpty());
        assertTrue(p.images().isEmpty());
        DeadLetter d = p.deadLetters().get(0);
        assertEquals(DeadLetter.Stage.INGEST, d.stage());
        assertEquals(IngestException.UNSUPPORTED_LAYER, d.reasonCode());
        assertEquals(images.unsupportedDigest, d.subjectDigest());
        ImageStatus s = p.statuses().get(0);
        assertEquals(ImageStatus.State.FAILED, s.state());
        assertEquals(IngestException.UNSUPPORTED_LAYER, s.reasonCode());
        assertTrue(s.reason().contains("application/vnd.example.unknown+json"));
    }

    @Test
    void withTheNativeProfileEveryLayerGetsAJobPerProfileAndRecordsListTheRequestsManifests() throws Exception {
        String prefix = "native-" + System.nanoTime();
        ConvertedLayers s3 = new S3ConvertedLayers(S3.client(), S3.bucket(), prefix);
        IngestPlanner planner = new IngestPlanner(PROFILE, ConversionProfile.NATIVE, s3,
                new InFlightLayers(Duration.ofHours(1)));

        IngestPlan multi = plan(planner, "app/multi:1", false);
        List<String> layers = multi.layerJobs().stream().filter(j -> j.profile().equals(PROFILE))
                .map(j -> j.layer().digest()).toList();
        assertEquals(layers, multi.layerJobs().stream().filter(j -> j.profile().isNative())
                .map(j -> j.layer().digest()).toList());
        assertEquals(2 * layers.size(), multi.layerJobs().size());
        List<String> manifests = multi.images().stream().map(ImageRecord::key).toList();
        assertEquals(2, manifests.size(), "the two platform manifests, not the attestation");
        for (ImageRecord r : multi.images()) {
            assertEquals(new ImageRecord.NativeImage(ConversionProfile.NATIVE, manifests), r.nativeImage());
            assertEquals(PROFILE, r.profile());
        }

        // only the tar-index results exist: the native jobs are still needed, the layers are not converted yet
        for (String d : layers) {
            S3.client().putObject(PutObjectRequest.builder().bucket(S3.bucket())
                    .key(StagingLayout.resultKey(prefix, d, PROFILE.fingerprint())).build(), RequestBody.fromString("{}"));
        }
        IngestPlanner fresh = new IngestPlanner(PROFILE, ConversionProfile.NATIVE, s3, new InFlightLayers(Duration.ofHours(1)));
        IngestPlan again = plan(fresh, "app/multi:1", false);
        assertTrue(again.layerJobs().stream().allMatch(j -> j.profile().isNative()), again.layerJobs().toString());
        assertEquals(layers.size(), again.layerJobs().size());
        assertTrue(again.statuses().stream().allMatch(st -> st.layersDone() == 0), again.statuses().toString());
    }
}

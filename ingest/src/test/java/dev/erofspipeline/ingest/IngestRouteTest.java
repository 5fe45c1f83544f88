package dev.erofspipeline.ingest;

import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.Priority;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.StagingLayout;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Camel route end to end: real broker, real docker-registry seeded with skopeo, S3Proxy for dedup. */
class IngestRouteTest {
    @RegisterExtension
    static final KafkaFixture KAFKA = KafkaFixture.shared();
    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.shared();
    @RegisterExtension
    static final S3Fixture S3 = S3Fixture.create();

    static final ConversionProfile PROFILE = new ConversionProfile("default", "00112233445566778899aabbccddeeff");
    static final RecordValidator V = RecordValidator.defaults();
    static final Duration WAIT = Duration.ofSeconds(30);
    static TestImages images;

    @BeforeAll
    static void seed() {
        images = TestImages.seed(REGISTRY);
    }

    /** A started application on fresh prefixed topics (layer-jobs with 3 partitions) and a fresh S3 prefix. */
    private static final class Stage implements AutoCloseable {
        final Topics topics;
        final String s3Prefix;
        final IngestConfig config;
        IngestApplication app;
        final KafkaProducer<byte[], byte[]> producer = KAFKA.bytesProducer();
        final KafkaConsumer<byte[], byte[]> consumer;
        final Map<String, List<ConsumerRecord<byte[], byte[]>>> seen = new HashMap<>();

        Stage() throws Exception {
            this(null);
        }

        Stage(ConvertedLayers converted) throws Exception {
            String id = UUID.randomUUID().toString().substring(0, 8);
            topics = Topics.withPrefix("t" + id + ".");
            s3Prefix = "p" + id;
            List<NewTopic> nt = new ArrayList<>();
            for (String t : topics.all()) {
                nt.add(new NewTopic(t, t.equals(topics.layerJobs()) ? 3 : 1, (short) 1));
            }
            KAFKA.createTopics(nt);
            config = IngestConfig.of(KAFKA.bootstrapServers(), PROFILE, S3.bucket()).withTopics(topics)
                    .withS3Prefix(s3Prefix).withRegistryOptions(images.options());
            app = (converted == null ? new IngestApplication(config, S3.client())
                    : new IngestApplication(config, converted)).start();
            consumer = KAFKA.bytesConsumer("check-" + id);
            consumer.subscribe(List.of(topics.layerJobs(), topics.images(), topics.status(), topics.deadLetters()));
        }

        void send(String json) throws Exception {
            producer.send(new ProducerRecord<>(topics.imageRequests(), null, json.getBytes(StandardCharsets.UTF_8))).get();
        }

        void request(String ref, boolean force) throws Exception {
            ImageRequest r = new ImageRequest(ref, List.of(), Priority.NORMAL, force, "c-" + UUID.randomUUID(), null);
            producer.send(new ProducerRecord<>(topics.imageRequests(), null, V.write(r))).get();
        }

        /** Polls until {@code topic} has had {@code count} records in total (or the wait is over). */
        List<ConsumerRecord<byte[], byte[]>> await(String topic, int count) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (records(topic).size() < count && System.nanoTime() < deadline) {
                pollOnce(Duration.ofMillis(100));
            }
            return records(topic);
        }

        void pollOnce(Duration d) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(d)) {
                seen.computeIfAbsent(r.topic(), k -> new ArrayList<>()).add(r);
            }
        }

        List<ConsumerRecord<byte[], byte[]>> records(String topic) {
            return seen.getOrDefault(topic, List.of());
        }

        void markAllConverted() {
            for (String d : images.allImageLayers()) {
                S3.client().putObject(PutObjectRequest.builder().bucket(S3.bucket())
                        .key(StagingLayout.resultKey(s3Prefix, d, PROFILE.fingerprint())).build(),
                        RequestBody.fromString("{}"));
            }
        }

        @Override
        public void close() {
            if (app != null) {
                app.close();
            }
            consumer.close();
            producer.close();
        }
    }

    private static <T> List<T> values(List<ConsumerRecord<byte[], byte[]>> records, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            try {
                out.add(V.read(type, r.value()));
            } catch (Exception e) {
                throw new AssertionError("output record refused by its schema: " + e.getMessage(), e);
            }
        }
        return out;
    }

    private static final String[] ALL = {"app/multi:1", "app/docker:1", "app/single:1", "app/single:latest"};

    @Test
    void requestsBecomeLayerJobsOncePerLayerThenNothingOnceConvertedThenAgainWhenForced() throws Exception {
        try (Stage s = new Stage()) {
            for (String r : ALL) {
                s.request(images.ref(r), false);
            }
            s.request(images.ref("app/multi:1"), false); // identical request right after

            // 2 + 1 + 1 + 1 + 2 image records, one status each
            List<ImageRecord> recs = values(s.await(s.topics.images(), 7), ImageRecord.class);
            assertEquals(7, recs.size());
            assertEquals(7, s.await(s.topics.status(), 7).size());
            s.await(s.topics.layerJobs(), images.allImageLayers().size());
            s.pollOnce(Duration.ofMillis(500));
            List<ConsumerRecord<byte[], byte[]>> jobRecords = s.records(s.topics.layerJobs());
            List<LayerJob> jobs = values(jobRecords, LayerJob.class);
            assertEquals(images.allImageLayers().size(), jobs.size(), "one job per distinct layer: " + jobs);
            assertEquals(images.allImageLayers(), jobs.stream().map(j -> j.layer().digest()).collect(Collectors.toCollection(TreeSet::new)));
            for (ConsumerRecord<byte[], byte[]> r : jobRecords) {
                assertEquals(V.read(LayerJob.class, r.value()).layer().digest(), new String(r.key(), StandardCharsets.UTF_8));
            }
            for (ConsumerRecord<byte[], byte[]> r : s.records(s.topics.images())) {
                assertEquals(V.read(ImageRecord.class, r.value()).subject().digest(), new String(r.key(), StandardCharsets.UTF_8));
            }
            for (ConsumerRecord<byte[], byte[]> r : s.records(s.topics.status())) {
                ImageStatus st = V.read(ImageStatus.class, r.value());
                assertEquals(st.subjectDigest(), new String(r.key(), StandardCharsets.UTF_8));
                assertEquals(ImageStatus.State.QUEUED, st.state());
            }
            Set<String> subjects = recs.stream().map(ImageRecord::key).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(Set.of(images.multi.images().get(0).digest(), images.multi.images().get(1).digest(),
                    images.dockerDigest, images.single.digest()), subjects);
            assertTrue(s.records(s.topics.deadLetters()).isEmpty());

            // the worker converted everything: the same requests give image records only
            s.markAllConverted();
            for (String r : ALL) {
                s.request(images.ref(r), false);
            }
            assertEquals(12, s.await(s.topics.images(), 12).size());
            assertEquals(12, s.await(s.topics.status(), 12).size());
            s.pollOnce(Duration.ofMillis(500));
            assertEquals(jobs.size(), s.records(s.topics.layerJobs()).size(), "no new layer job");
            List<ImageStatus> last = values(s.records(s.topics.status()), ImageStatus.class).subList(7, 12);
            for (ImageStatus st : last) {
                assertEquals(st.layersTotal(), st.layersDone(), st.toString());
            }

            // force: the multi-platform image's three layers again
            s.request(images.ref("app/multi:1"), true);
            List<LayerJob> forced = values(s.await(s.topics.layerJobs(), jobs.size() + 3), LayerJob.class)
                    .subList(jobs.size(), jobs.size() + 3);
            assertTrue(forced.stream().allMatch(LayerJob::force));
            Set<String> multiLayers = new TreeSet<>();
            images.multi.images().subList(0, 2).forEach(i -> i.layers().forEach(l -> multiLayers.add(l.digest())));
            assertEquals(multiLayers, forced.stream().map(j -> j.layer().digest()).collect(Collectors.toCollection(TreeSet::new)));
            assertTrue(s.records(s.topics.deadLetters()).isEmpty());
        }
    }

    @Test
    void badRequestsEndInDeadLettersAndTheRouteKeepsConsuming() throws Exception {
        try (Stage s = new Stage()) {
            s.send("this is not json");
            s.send("{\"schemaVersion\":1,\"reference\":\"" + images.ref("app/single:1") + "\"}");
            s.request(images.ref("bad..name:1"), false);
            s.request("no-such-registry.invalid:5000/app/x:1", false);
            s.request(images.ref("app/multi:missing"), false);
            s.request(images.ref("app/single@" + images.single.config().digest()), false);
            s.request(images.ref("bad/unsupported:1"), false);
            s.request(images.ref("app/single:1"), false);

            List<DeadLetter> dead = values(s.await(s.topics.deadLetters(), 7), DeadLetter.class);
            assertEquals(List.of("not-json", "schema-violation", IngestException.INVALID_REFERENCE,
                    IngestException.UNKNOWN_HOST, IngestException.MANIFEST_UNKNOWN, IngestException.NOT_A_MANIFEST,
                    IngestException.UNSUPPORTED_LAYER), dead.stream().map(DeadLetter::reasonCode).toList());
            for (DeadLetter d : dead) {
                assertEquals(DeadLetter.Stage.INGEST, d.stage());
                assertTrue(d.message() != null && !d.message().isBlank());
                assertEquals(s.topics.imageRequests(), d.input().topic());
                assertNotNull(d.input().offset());
            }
            assertTrue(dead.get(0).input().text().contains("this is not json"));
            assertTrue(dead.get(1).message().contains("correlationId"), dead.get(1).message());
            assertEquals(images.unsupportedDigest, dead.get(6).subjectDigest());
            // the failed image has a failed status; the good request after the bad ones went through
            List<ImageRecord> recs = values(s.await(s.topics.images(), 1), ImageRecord.class);
            assertEquals(images.single.digest(), recs.get(0).key());
            List<ImageStatus> st = values(s.await(s.topics.status(), 2), ImageStatus.class);
            assertEquals(ImageStatus.State.FAILED, st.get(0).state());
            assertEquals(IngestException.UNSUPPORTED_LAYER, st.get(0).reasonCode());
            assertEquals(2, values(s.await(s.topics.layerJobs(), 2), LayerJob.class).size());

            // offsets were committed: a restarted stage in the same group does not handle them again
            s.app.close();
            s.app = new IngestApplication(s.config, S3.client()).start();
            s.request(images.ref("app/docker:1"), false);
            List<ImageRecord> after = values(s.await(s.topics.images(), 2), ImageRecord.class);
            assertEquals(images.dockerDigest, after.get(1).key());
            s.pollOnce(Duration.ofMillis(500));
            assertEquals(7, s.records(s.topics.deadLetters()).size(), "nothing handled twice");
            assertEquals(2, s.records(s.topics.images()).size(), "nothing handled twice");
        }
    }

    @Test
    void backfillAndIndividualRequestsProduceEachLayerJobOnce() throws Exception {
        try (Stage s = new Stage();
             KafkaProducer<String, byte[]> p = KAFKA.producer(new org.apache.kafka.common.serialization.StringSerializer(),
                     new org.apache.kafka.common.serialization.ByteArraySerializer());
             dev.erofspipeline.registry.RegistryClient client =
                     new dev.erofspipeline.registry.RegistryClient(REGISTRY.host(), images.options())) {
            Backfill.Result r = new Backfill(client, new Backfill.Options(REGISTRY.host(), List.of("app/**"), List.of(),
                    0, false, List.of(), 2, null, null), new KafkaRequestSink(p, s.topics, V), null).run();
            assertEquals(4, r.requests());
            s.request(images.ref("app/multi:1"), false);
            s.request(images.ref("app/docker:1"), false);
            assertEquals(8, s.await(s.topics.images(), 8).size());
            s.await(s.topics.layerJobs(), images.allImageLayers().size());
            s.pollOnce(Duration.ofMillis(500));
            List<LayerJob> jobs = values(s.records(s.topics.layerJobs()), LayerJob.class);
            assertEquals(images.allImageLayers(), jobs.stream().map(j -> j.layer().digest())
                    .collect(Collectors.toCollection(TreeSet::new)));
            assertEquals(images.allImageLayers().size(), jobs.size());
            assertTrue(jobs.stream().allMatch(j -> j.priority() == Priority.LOW));
        }
    }

    @Test
    void aFailingDedupCheckIsRetriedNeitherDeadLetteredNorCommittedNorDuplicated() throws Exception {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        ConvertedLayers flaky = (d, p) -> {
            if (calls.incrementAndGet() <= 4) {
                throw new IllegalStateException("S3 unavailable (test)");
            }
            return false;
        };
        try (Stage s = new Stage(flaky)) {
            s.request(images.ref("app/multi:1"), false);
            assertEquals(2, s.await(s.topics.images(), 2).size());
            s.await(s.topics.layerJobs(), 3);
            s.pollOnce(Duration.ofMillis(500));
            assertEquals(3, s.records(s.topics.layerJobs()).size(), "each layer once, after the retries");
            assertTrue(s.records(s.topics.deadLetters()).isEmpty());
            assertTrue(calls.get() > 4);
        }
    }

    @Test
    void aPushNotificationThroughTheApplicationsWebhookBecomesAnImageRecord() throws Exception {
        try (Stage s = new Stage()) {
            String secret = "route-test-secret-0123456789";
            WebhookServer hook = s.app.startWebhook(new java.net.InetSocketAddress("127.0.0.1", 0), secret);
            String envelope = "{\"events\":[{\"id\":\"ev-1\",\"action\":\"push\",\"target\":{\"mediaType\":\""
                    + dev.erofspipeline.schemas.MediaTypes.OCI_MANIFEST + "\",\"digest\":\"" + images.single.digest()
                    + "\",\"repository\":\"app/single\",\"tag\":\"1\",\"url\":\"http://" + REGISTRY.host()
                    + "/v2/app/single/manifests/" + images.single.digest() + "\"},\"request\":{\"host\":\""
                    + REGISTRY.host() + "\"}}]}";
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + hook.port()
                            + WebhookServer.DISTRIBUTION_PATH)).header("Authorization", "Bearer " + secret)
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(envelope)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            List<ImageRecord> recs = values(s.await(s.topics.images(), 1), ImageRecord.class);
            assertEquals(images.single.digest(), recs.get(0).key());
            assertEquals(REGISTRY.host() + "/app/single:1@" + images.single.digest(), recs.get(0).reference());
        }
    }
}

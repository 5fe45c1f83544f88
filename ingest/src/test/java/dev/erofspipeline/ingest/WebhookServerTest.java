package dev.erofspipeline.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.RegistryFixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The webhook endpoint over real HTTP; the distribution case with a real docker-registry's notifications. */
class WebhookServerTest {
    @RegisterExtension
    static final KafkaFixture KAFKA = KafkaFixture.shared();
    @RegisterExtension
    static final RegistryFixture SHARED_REGISTRY = RegistryFixture.shared();

    static final String SECRET = "webhook-secret-0123456789";
    static final RecordValidator V = RecordValidator.defaults();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static Topics topics;
    static KafkaProducer<String, byte[]> producer;
    static WebhookServer server;
    static KafkaConsumer<byte[], byte[]> requests;

    @BeforeAll
    static void start() throws Exception {
        topics = Topics.withPrefix("wh" + System.nanoTime() + ".");
        KAFKA.createTopics(topics.imageRequests());
        producer = KAFKA.producer(new StringSerializer(), new ByteArraySerializer());
        server = new WebhookServer(new InetSocketAddress("127.0.0.1", 0), SECRET, producer, topics, V).start();
        requests = KAFKA.bytesConsumer("wh-check-" + System.nanoTime());
        requests.subscribe(List.of(topics.imageRequests()));
    }

    @AfterAll
    static void stop() {
        server.close();
        requests.close();
        producer.close();
    }

    private static HttpResponse<String> post(String path, String auth, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/vnd.docker.distribution.events.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * The first queued request matching {@code wanted}; others are skipped (the registry may notify again when an
     * answer was slow, and tests share the topic).
     */
    private static ImageRequest awaitRequest(java.util.function.Predicate<ImageRequest> wanted) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : requests.poll(Duration.ofMillis(100))) {
                ImageRequest q = V.read(ImageRequest.class, r.value());
                if (wanted.test(q)) {
                    return q;
                }
            }
        }
        throw new AssertionError("no matching image request was queued");
    }

    @Test
    void refusesWithReasons() throws Exception {
        String bearer = "Bearer " + SECRET;
        HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + WebhookServer.DISTRIBUTION_PATH)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode());
        assertEquals(401, post(WebhookServer.DISTRIBUTION_PATH, null, "{\"events\":[]}").statusCode());
        HttpResponse<String> wrong = post(WebhookServer.DISTRIBUTION_PATH, "Bearer not-the-secret", "{\"events\":[]}");
        assertEquals(401, wrong.statusCode());
        assertTrue(wrong.body().contains("secret"), wrong.body());
        HttpResponse<String> notJson = post(WebhookServer.DISTRIBUTION_PATH, bearer, "push!");
        assertEquals(400, notJson.statusCode());
        assertTrue(notJson.body().contains("not JSON"), notJson.body());
        HttpResponse<String> noEvents = post(WebhookServer.DISTRIBUTION_PATH, bearer, "{\"hello\":1}");
        assertEquals(400, noEvents.statusCode());
        assertTrue(noEvents.body().contains("events"), noEvents.body());
        assertEquals(400, post(WebhookServer.HARBOR_PATH, bearer, "[]").statusCode());
        assertEquals(413, post(WebhookServer.DISTRIBUTION_PATH, bearer, "x".repeat(WebhookServer.MAX_BODY + 1)).statusCode());

        // events that are not manifest pushes are ignored: 200, nothing queued
        String pull = "{\"events\":[{\"id\":\"e1\",\"action\":\"pull\",\"target\":{\"mediaType\":"
                + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" + "a".repeat(64)
                + "\",\"repository\":\"x/y\",\"tag\":\"1\",\"url\":\"http://r.example:5000/v2/x/y/manifests/1\"}},"
                + "{\"id\":\"e2\",\"action\":\"push\",\"target\":{\"mediaType\":\"application/octet-stream\",\"digest\":\"sha256:"
                + "b".repeat(64) + "\",\"repository\":\"x/y\"}}]}";
        HttpResponse<String> ignored = post(WebhookServer.DISTRIBUTION_PATH, bearer, pull);
        assertEquals(200, ignored.statusCode(), ignored.body());
        JsonNode answer = new ObjectMapper().readTree(ignored.body());
        assertEquals(0, answer.get("accepted").size());
        assertEquals(2, answer.get("ignored").size());
        for (ConsumerRecord<byte[], byte[]> rec : KafkaFixture.poll(requests, 1, Duration.ofMillis(300))) {
            assertTrue(!V.read(ImageRequest.class, rec.value()).reference().contains("/x/y"), "an ignored event was queued");
        }
    }

    @Test
    void harborPushArtifactIsQueued() throws Exception {
        String digest = "sha256:" + "c".repeat(64);
        String body = "{\"type\":\"PUSH_ARTIFACT\",\"occur_at\":1700000000,\"operator\":\"admin\",\"event_data\":{"
                + "\"resources\":[{\"digest\":\"" + digest + "\",\"tag\":\"v1\",\"resource_url\":"
                + "\"harbor.example.com/library/nginx:v1\"}],\"repository\":{\"name\":\"nginx\",\"namespace\":\"library\","
                + "\"repo_full_name\":\"library/nginx\",\"repo_type\":\"private\"}}}";
        String basic = "Basic " + Base64.getEncoder().encodeToString(("harbor:" + SECRET).getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = post(WebhookServer.HARBOR_PATH, basic, body);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("harbor.example.com/library/nginx:v1@" + digest,
                awaitRequest(q -> q.reference().startsWith("harbor.example.com/")).reference());
    }

    @Test
    void distributionNotificationsOfARealPushAreQueued() throws Exception {
        TestImages images = TestImages.seed(SHARED_REGISTRY);
        URI hook = URI.create("http://hook:" + SECRET + "@127.0.0.1:" + server.port() + WebhookServer.DISTRIBUTION_PATH);
        try (RegistryFixture registry = RegistryFixture.process().withNotificationEndpoint("erofs", hook)) {
            registry.start();
            String pushed = registry.seed(images.layoutDir, "multi", "hooked/multi:7");
            ImageRequest req = awaitRequest(q -> q.reference().contains("/hooked/multi:7"));
            assertEquals(registry.host() + "/hooked/multi:7@" + pushed, req.reference());
            assertTrue(req.correlationId().startsWith("webhook-"));
            // and it resolves to the two platform images
            try (RegistryTargets t = new RegistryTargets(RegistryOptions.builder().insecureHost(registry.host()).build())) {
                assertEquals(2, new ImageResolver(t).resolve(req).images().size());
            }
        }
    }
}

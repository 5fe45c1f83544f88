package dev.erofspipeline.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** The outages the fault tests inject: a broker and an S3 server stopped and started again, requests held by a tap. */
class OutageTest {

    @TempDir
    Path dir;

    @Test
    void aRestartedBrokerKeepsItsPortAndItsRecords() throws Exception {
        try (KafkaFixture kafka = KafkaFixture.create().start()) {
            String bootstrap = kafka.bootstrapServers();
            String topic = kafka.newTopic("outage");
            try (KafkaProducer<String, String> p = kafka.stringProducer()) {
                p.send(new ProducerRecord<>(topic, "k", "before")).get();
            }
            kafka.stopBroker();
            kafka.startBroker();
            assertEquals(bootstrap, kafka.bootstrapServers());
            try (KafkaProducer<String, String> p = kafka.stringProducer()) {
                p.send(new ProducerRecord<>(topic, "k", "after")).get(60, TimeUnit.SECONDS);
            }
            try (KafkaConsumer<String, String> c = kafka.stringConsumer("outage-reader")) {
                c.subscribe(List.of(topic));
                List<String> values = KafkaFixture.poll(c, 2, Duration.ofSeconds(60)).stream()
                        .map(ConsumerRecord::value).toList();
                assertEquals(List.of("before", "after"), values);
            }
        }
    }

    @Test
    void aRestartedS3ServerKeepsItsEndpointItsObjectsAndItsOpenUploads() {
        try (S3Fixture s3 = S3Fixture.onDirectory(dir, "outage").start()) {
            S3Client client = s3.client();
            URI endpoint = s3.endpoint();
            client.putObject(b -> b.bucket("outage").key("kept"), RequestBody.fromString("kept"));
            String uploadId = client.createMultipartUpload(b -> b.bucket("outage").key("open")).uploadId();
            s3.stopServer();
            assertThrows(RuntimeException.class, () -> client.headObject(b -> b.bucket("outage").key("kept")));
            s3.startServer();
            assertEquals(endpoint, s3.endpoint());
            assertEquals("kept", client.getObjectAsBytes(b -> b.bucket("outage").key("kept")).asUtf8String());
            assertEquals(List.of(uploadId), client.listMultipartUploads(b -> b.bucket("outage")).uploads().stream()
                    .map(u -> u.uploadId()).toList());
        }
    }

    @Test
    void aTapHoldsARequestBeforeTheServerOrItsAnswerBeforeTheClient() throws Exception {
        try (S3Fixture s3 = S3Fixture.onDirectory(dir, "tapped").start();
                HttpTap tap = new HttpTap(s3.embeddedS3().port(), 0);
                S3Client client = S3Client.builder().endpointOverride(URI.create(tap.endpoint()))
                        .region(software.amazon.awssdk.regions.Region.US_EAST_1).forcePathStyle(true)
                        .credentialsProvider(() -> software.amazon.awssdk.auth.credentials.AwsBasicCredentials
                                .create(s3.accessKey(), s3.secretKey()))
                        .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1))).build()) {
            client.putObject(b -> b.bucket("tapped").key("a"), RequestBody.fromString("signed requests pass"));
            assertTrue(tap.requests().contains("PUT /tapped/a"), tap.requests().toString());

            HeldRequest before = tap.trap(Pattern.compile("PUT /tapped/b"), HttpTap.Stop.BEFORE_SERVER);
            CompletableFuture<?> put = CompletableFuture.runAsync(
                    () -> client.putObject(b -> b.bucket("tapped").key("b"), RequestBody.fromString("b")));
            assertTrue(before.await(Duration.ofSeconds(30)));
            assertFalse(put.isDone());
            before.release();
            assertThrows(Exception.class, () -> put.get(30, TimeUnit.SECONDS));
            assertFalse(s3.client().listObjectsV2(b -> b.bucket("tapped")).contents().stream()
                    .anyMatch(o -> o.key().equals("b")), "the server never saw it");

            HeldRequest after = tap.trap(Pattern.compile("PUT /tapped/c"), HttpTap.Stop.BEFORE_CLIENT);
            CompletableFuture<?> put2 = CompletableFuture.runAsync(
                    () -> client.putObject(b -> b.bucket("tapped").key("c"), RequestBody.fromString("c")));
            assertTrue(after.await(Duration.ofSeconds(30)));
            assertEquals("c", s3.client().getObjectAsBytes(b -> b.bucket("tapped").key("c")).asUtf8String(),
                    "the server stored it");
            after.release();
            assertThrows(Exception.class, () -> put2.get(30, TimeUnit.SECONDS), "the client never got the answer");
        }
    }

    @Test
    void theProxyDropsABodyHalfWayAndHoldsARequest() throws Exception {
        try (RegistryFixture registry = RegistryFixture.create().start();
                FaultInjectingProxy proxy = new FaultInjectingProxy(registry.host())) {
            String digest = registry.http().pushBlob("outage/x", new byte[100_000]);
            HttpClient http = HttpClient.newHttpClient();
            URI blob = URI.create("http://" + proxy.host() + "/v2/outage/x/blobs/" + digest);
            proxy.inject(FaultInjectingProxy.Fault.dropMidBody("GET", Pattern.compile("/v2/outage/x/blobs/.*")));
            assertThrows(java.io.IOException.class,
                    () -> http.send(HttpRequest.newBuilder(blob).build(), HttpResponse.BodyHandlers.ofByteArray()));
            assertEquals(100_000, http.send(HttpRequest.newBuilder(blob).build(),
                    HttpResponse.BodyHandlers.ofByteArray()).body().length);

            // a PUT, which the JDK client does not send again by itself when its connection closes
            HeldRequest hold = proxy.hold("PUT", Pattern.compile("/v2/outage/x/manifests/.*"));
            URI manifest = URI.create("http://" + proxy.host() + "/v2/outage/x/manifests/held");
            CompletableFuture<HttpResponse<byte[]>> held = http.sendAsync(HttpRequest.newBuilder(manifest)
                    .PUT(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertTrue(hold.await(Duration.ofSeconds(30)));
            assertEquals("PUT /v2/outage/x/manifests/held", hold.request());
            assertFalse(held.isDone());
            hold.release();
            assertThrows(Exception.class, () -> held.get(30, TimeUnit.SECONDS));
        }
    }
}

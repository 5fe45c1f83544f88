package dev.erofspipeline.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import software.amazon.awssdk.core.sync.RequestBody;

/**
 * The Testcontainers variants (apache/kafka, MinIO, registry:2). Runs only where a Docker engine
 * answers; elsewhere JUnit reports the class as skipped. (Same effect as
 * {@code @Testcontainers(disabledWithoutDocker = true)}, without its ERROR log line on machines that
 * have no Docker at all.)
 */
@EnabledIf(value = "dev.erofspipeline.testkit.Containers#dockerAvailable", disabledReason = "no Docker engine")
class ContainersTest {

    @Test
    void kafkaContainerRoundTrip() throws Exception {
        try (KafkaFixture kafka = KafkaFixture.container().start()) {
            String topic = kafka.newTopic("c");
            try (KafkaProducer<String, String> p = kafka.stringProducer()) {
                p.send(new ProducerRecord<>(topic, "k", "v")).get();
            }
            try (KafkaConsumer<String, String> c = kafka.stringConsumer("g")) {
                c.subscribe(List.of(topic));
                List<ConsumerRecord<String, String>> got = KafkaFixture.poll(c, 1, Duration.ofSeconds(60));
                assertEquals("v", got.get(0).value());
            }
        }
    }

    @Test
    void minioPutGet() {
        try (S3Fixture s3 = S3Fixture.container("c").start()) {
            s3.client().putObject(b -> b.bucket("c").key("k"), RequestBody.fromString("v"));
            assertEquals("v", s3.client().getObjectAsBytes(b -> b.bucket("c").key("k")).asUtf8String());
        }
    }

    @Test
    void registryContainerAcceptsABlob() {
        try (RegistryFixture reg = RegistryFixture.container().start()) {
            String d = reg.http().pushBlob("c/r", new byte[] {1, 2, 3});
            assertTrue(reg.http().blobExists("c/r", d));
        }
    }
}

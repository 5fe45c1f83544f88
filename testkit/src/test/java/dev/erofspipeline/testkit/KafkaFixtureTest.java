package dev.erofspipeline.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class KafkaFixtureTest {

    @RegisterExtension
    static final KafkaFixture KAFKA = KafkaFixture.create();

    @Test
    void producesAndConsumesStringsThroughAConsumerGroup() throws Exception {
        assertTrue(KAFKA.bootstrapServers().startsWith("127.0.0.1:") || Containers.requested(), KAFKA.bootstrapServers());
        String topic = KAFKA.newTopic("requests");
        try (KafkaProducer<String, String> p = KAFKA.stringProducer()) {
            p.send(new ProducerRecord<>(topic, "ref", "127.0.0.1:5000/app:1")).get();
            p.send(new ProducerRecord<>(topic, "ref", "127.0.0.1:5000/app:2")).get();
        }
        try (KafkaConsumer<String, String> c = KAFKA.stringConsumer("ingest")) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> got = KafkaFixture.poll(c, 2, Duration.ofSeconds(30));
            assertEquals(List.of("127.0.0.1:5000/app:1", "127.0.0.1:5000/app:2"),
                    got.stream().map(ConsumerRecord::value).toList());
            c.commitSync();
            Map<TopicPartition, OffsetAndMetadata> committed = KAFKA.admin()
                    .listConsumerGroupOffsets("ingest").partitionsToOffsetAndMetadata().get();
            assertEquals(2L, committed.get(new TopicPartition(topic, 0)).offset(), "group offset committed");
        }
    }

    @Test
    void bytesRoundTripWithPartitions() throws Exception {
        String topic = "layer-jobs-bytes";
        KAFKA.createTopic(topic, 3);
        KAFKA.createTopic(topic, 3); // idempotent
        byte[] value = "{\"layer\":\"sha256:00\"}".getBytes(StandardCharsets.UTF_8);
        try (KafkaProducer<byte[], byte[]> p = KAFKA.bytesProducer()) {
            p.send(new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8), value)).get();
        }
        try (KafkaConsumer<byte[], byte[]> c = KAFKA.bytesConsumer("workers")) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<byte[], byte[]>> got = KafkaFixture.poll(c, 1, Duration.ofSeconds(30));
            assertEquals(1, got.size());
            assertArrayEquals(value, got.get(0).value());
        }
        assertEquals(3, KAFKA.admin().describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size());
    }
}

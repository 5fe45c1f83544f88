package dev.erofspipeline.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {

    @Test
    void persistentDataDirSurvivesRestartWithSamePortAndRecords(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("kafka");
        String bootstrap;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().dataDir(data).start()) {
            bootstrap = kafka.bootstrapServers();
            assertTrue(bootstrap.startsWith("127.0.0.1:"), bootstrap);
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                admin.createTopics(List.of(new NewTopic("kept", 1, (short) 1))).all().get();
            }
            try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringSerializer(), new StringSerializer())) {
                p.send(new ProducerRecord<>("kept", "k", "v1")).get();
            }
        }
        assertTrue(Files.isDirectory(data.resolve("log")), "persistent dir kept");

        try (EmbeddedKafka kafka = EmbeddedKafka.builder().dataDir(data).start()) {
            assertEquals(bootstrap, kafka.bootstrapServers(), "ports are reused from the data dir");
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                Set<String> names = admin.listTopics().names().get();
                assertTrue(names.contains("kept"), names.toString());
            }
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.GROUP_ID_CONFIG, "g",
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new StringDeserializer())) {
                c.subscribe(List.of("kept"));
                String value = null;
                long deadline = System.currentTimeMillis() + 20_000;
                while (value == null && System.currentTimeMillis() < deadline) {
                    ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                    if (!recs.isEmpty()) {
                        value = recs.iterator().next().value();
                    }
                }
                assertEquals("v1", value);
            }
        }
    }

    @Test
    void failedStartOnABusyPortCleansUpAndThrows() throws Exception {
        try (java.net.ServerSocket busy = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            // Kafka itself logs three ERROR lines and a BindException here: expected
            long before = countTempDirs();
            EmbeddedKafka kafka = EmbeddedKafka.builder().port(busy.getLocalPort()).build();
            RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, kafka::start);
            assertFalse(kafka.isRunning(), e.toString());
            assertEquals(before, countTempDirs(), "temp dir removed after the failed start");
            kafka.close();
        }
    }

    private static long countTempDirs() throws java.io.IOException {
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("erofs-kafka-")).count();
        }
    }

    @Test
    void transientBrokerDeletesItsDirectory() {
        Path dataDir;
        try (EmbeddedKafka kafka = new EmbeddedKafka().start()) {
            dataDir = kafka.dataDir();
            assertTrue(Files.isDirectory(dataDir));
        }
        assertFalse(Files.exists(dataDir), "temp dir removed on close");
    }
}

package dev.erofspipeline.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.testcontainers.kafka.KafkaContainer;

import dev.erofspipeline.embedded.EmbeddedKafka;

/**
 * A real Kafka broker for tests: {@link EmbeddedKafka} in this JVM, or an apache/kafka container when
 * {@code -Derofs.test.containers=true} (skipped where no Docker engine exists).
 *
 * <pre>{@code
 * @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
 * ...
 * String topic = KAFKA.newTopic("requests");
 * try (var p = KAFKA.stringProducer()) { p.send(new ProducerRecord<>(topic, "k", "v")).get(); }
 * }</pre>
 *
 * Clients made by the helpers are closed by {@link #close()} if the test did not close them.
 */
public final class KafkaFixture extends Fixture<KafkaFixture> {

    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

    private final boolean useContainer;
    private final EmbeddedKafka.Builder embeddedBuilder;
    private final Deque<AutoCloseable> clients = new ConcurrentLinkedDeque<>();
    private EmbeddedKafka embedded;
    private KafkaContainer container;
    private String bootstrapServers;
    private Admin admin;

    private KafkaFixture(boolean useContainer, EmbeddedKafka.Builder embeddedBuilder) {
        this.useContainer = useContainer;
        this.embeddedBuilder = embeddedBuilder;
    }

    /** Embedded broker, or a container if {@code -Derofs.test.containers=true}. Not started yet. */
    public static KafkaFixture create() {
        return new KafkaFixture(Containers.requested(), EmbeddedKafka.builder());
    }

    /** Always the embedded broker, configured by the given builder (e.g. extra broker properties). */
    public static KafkaFixture embedded(EmbeddedKafka.Builder builder) {
        return new KafkaFixture(false, builder);
    }

    /** Always an apache/kafka container (skipped without Docker). */
    public static KafkaFixture container() {
        return new KafkaFixture(true, null);
    }

    private static KafkaFixture sharedInstance;

    /**
     * The per-JVM shared instance (as {@link #create()}), started on first use, stopped at JVM exit; the
     * JUnit callbacks and {@link #close()} do not stop it. Use unique topic/bucket/repository names per test.
     */
    public static synchronized KafkaFixture shared() {
        if (sharedInstance == null) {
            sharedInstance = create().markShared();
        }
        return sharedInstance;
    }

    @Override
    public synchronized KafkaFixture start() {
        if (bootstrapServers != null) {
            return this;
        }
        if (useContainer) {
            KafkaContainer c = Containers.kafka();
            try {
                c.start();
                container = c;
                bootstrapServers = c.getBootstrapServers();
            } catch (RuntimeException e) {
                c.stop();
                throw e;
            }
        } else {
            embedded = embeddedBuilder.build().start();
            bootstrapServers = embedded.bootstrapServers();
        }
        return this;
    }

    @Override
    public synchronized boolean isStarted() {
        return bootstrapServers != null;
    }

    /** {@code host:port} for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        requireStarted();
        return bootstrapServers;
    }

    /**
     * Stops the embedded broker, keeping its port and log directory, to simulate a broker outage; clients
     * (the fixture's included) reconnect after {@link #startBroker()}.
     */
    public void stopBroker() {
        requireEmbedded().stop();
    }

    /** Starts the broker stopped by {@link #stopBroker()} again, on the same port with the same log. */
    public void startBroker() {
        requireEmbedded().start();
    }

    private synchronized EmbeddedKafka requireEmbedded() {
        requireStarted();
        if (embedded == null) {
            throw new IllegalStateException("only the embedded broker can be stopped and started again");
        }
        return embedded;
    }

    /** The in-process broker, or null when a container is used. */
    public EmbeddedKafka embeddedKafka() {
        return embedded;
    }

    /** A shared Admin client, closed with the fixture. */
    public synchronized Admin admin() {
        requireStarted();
        if (admin == null) {
            admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                    AdminClientConfig.CLIENT_ID_CONFIG, "testkit-admin"));
        }
        return admin;
    }

    /** Creates the topics (1 partition each) unless they exist. */
    public void createTopics(String... names) {
        List<NewTopic> topics = new ArrayList<>();
        for (String n : names) {
            topics.add(new NewTopic(n, 1, (short) 1));
        }
        createTopics(topics);
    }

    /** Creates a topic with this many partitions unless it exists. */
    public void createTopic(String name, int partitions) {
        createTopics(List.of(new NewTopic(name, partitions, (short) 1)));
    }

    /** Creates topics with full control (configs, partitions); existing ones are left alone. */
    public void createTopics(List<NewTopic> topics) {
        var results = admin().createTopics(topics).values();
        for (var e : results.entrySet()) {
            try {
                e.getValue().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException ex) {
                if (!(ex.getCause() instanceof TopicExistsException)) {
                    throw new IllegalStateException("cannot create topic " + e.getKey(), ex.getCause());
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", ex);
            } catch (TimeoutException ex) {
                throw new IllegalStateException("timed out creating topic " + e.getKey(), ex);
            }
        }
    }

    /** Creates a topic with a unique name starting with the prefix and returns the name. */
    public String newTopic(String prefix) {
        String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        createTopics(name);
        return name;
    }

    /** Producer settings: bootstrap servers, acks=all, idempotence, short linger. */
    public Map<String, Object> producerConfig() {
        Map<String, Object> m = new HashMap<>();
        m.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        m.put(ProducerConfig.ACKS_CONFIG, "all");
        m.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        m.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return m;
    }

    /** Consumer settings: bootstrap servers, the group, earliest offsets, manual commits. */
    public Map<String, Object> consumerConfig(String groupId) {
        Map<String, Object> m = new HashMap<>();
        m.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        m.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        m.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        m.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return m;
    }

    public KafkaProducer<String, String> stringProducer() {
        return producer(new StringSerializer(), new StringSerializer());
    }

    public KafkaProducer<byte[], byte[]> bytesProducer() {
        return producer(new ByteArraySerializer(), new ByteArraySerializer());
    }

    public <K, V> KafkaProducer<K, V> producer(Serializer<K> keys, Serializer<V> values) {
        return track(new KafkaProducer<>(producerConfig(), keys, values));
    }

    public KafkaConsumer<String, String> stringConsumer(String groupId) {
        return consumer(groupId, new StringDeserializer(), new StringDeserializer());
    }

    public KafkaConsumer<byte[], byte[]> bytesConsumer(String groupId) {
        return consumer(groupId, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    public <K, V> KafkaConsumer<K, V> consumer(String groupId, Deserializer<K> keys, Deserializer<V> values) {
        return track(new KafkaConsumer<>(consumerConfig(groupId), keys, values));
    }

    /**
     * Polls until at least {@code count} records arrived or the timeout passed; returns what arrived
     * (fewer than {@code count} on timeout, so the caller's assertion shows what was there).
     */
    public static <K, V> List<ConsumerRecord<K, V>> poll(Consumer<K, V> consumer, int count, Duration timeout) {
        List<ConsumerRecord<K, V>> got = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (got.size() < count && System.nanoTime() < deadline) {
            for (ConsumerRecord<K, V> r : consumer.poll(Duration.ofMillis(100))) {
                got.add(r);
            }
        }
        return got;
    }

    private <T extends AutoCloseable> T track(T client) {
        clients.push(client);
        return client;
    }

    private void requireStarted() {
        if (!isStarted()) {
            throw new IllegalStateException("KafkaFixture is not started");
        }
    }

    @Override
    public synchronized void close() {
        if (isShared()) {
            return; // stopped by shutdown hooks at JVM exit
        }
        AutoCloseable c;
        while ((c = clients.poll()) != null) {
            closeQuietly(c);
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
        bootstrapServers = null;
        if (embedded != null) {
            embedded.close();
            embedded = null;
        }
        if (container != null) {
            container.stop();
            container = null;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            if (c instanceof KafkaConsumer<?, ?> k) {
                k.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
            } else if (c instanceof KafkaProducer<?, ?> p) {
                p.close(Duration.ofSeconds(2));
            } else {
                c.close();
            }
        } catch (Exception e) {
            // already closed by the test, or the broker is gone: nothing left to free
        }
    }
}

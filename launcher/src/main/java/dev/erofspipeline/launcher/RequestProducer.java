package dev.erofspipeline.launcher;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** The producer {@code submit} and {@code backfill} queue image requests with: acks=all, idempotent, bounded waits. */
final class RequestProducer {
  static final int MAX_BLOCK_MS = 15_000;

  private RequestProducer() {}

  static KafkaProducer<String, byte[]> create(String bootstrap, String clientId) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    // a broker that is down or a topic that does not exist fails the command instead of hanging it
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, MAX_BLOCK_MS);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  /** A failure to reach Kafka as one line naming the bootstrap servers. */
  static IllegalStateException unreachable(String bootstrap, String topic, Throwable e) {
    Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
    return new IllegalStateException("Kafka at " + bootstrap + " did not take the request on " + topic + ": "
        + c.getClass().getSimpleName() + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")"), e);
  }
}

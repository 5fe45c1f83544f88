package dev.erofspipeline.launcher.status;

import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.RecordValidator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one reader of the compacted {@code erofs.status} topic, used by the {@code status} command
 * ({@link #snapshot}) and by the ops server's {@code /status} ({@link #follow}): every partition
 * assigned without a consumer group, read from the beginning, the latest record per key wins (a
 * tombstone removes the key). Records that do not parse as {@link ImageStatus} are skipped.
 */
public final class StatusTopic implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StatusTopic.class);
  private static final RecordValidator V = RecordValidator.defaults();
  static final int API_TIMEOUT_MS = 15_000;

  private final String bootstrap;
  private final String topic;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Map<String, ImageStatus> latest = new ConcurrentHashMap<>();
  private volatile Thread follower;
  private volatile boolean closing;

  private StatusTopic(String bootstrap, String topic, String clientId) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // never create erofs.status by reading it: the roles create it compacted (kafka.createTopics)
    p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, API_TIMEOUT_MS);
    p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
  }

  /**
   * Reads the topic from the beginning up to the end offsets it has now.
   *
   * @return the latest status per subject digest
   * @throws IllegalStateException (one line naming the bootstrap servers) if Kafka does not answer
   *     or the topic does not exist
   */
  public static Map<String, ImageStatus> snapshot(String bootstrap, String topic, Duration timeout) {
    try (StatusTopic t = new StatusTopic(bootstrap, topic, "erofs-status")) {
      List<TopicPartition> parts = t.assignFromBeginning();
      Map<TopicPartition, Long> end = t.consumer.endOffsets(parts);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!t.reached(end)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("Kafka at " + bootstrap + ": " + topic + " was not read to its end within "
              + timeout.toSeconds() + " s");
        }
        t.pollOnce(Duration.ofMillis(200));
      }
      return t.view();
    } catch (KafkaException e) {
      throw unreachable(bootstrap, topic, e);
    }
  }

  /**
   * Starts a daemon thread that follows the topic from its beginning; {@link #view()} is the
   * latest status per key read so far. {@link #close()} stops it.
   */
  public static StatusTopic follow(String bootstrap, String topic, String clientId) {
    StatusTopic t = new StatusTopic(bootstrap, topic, clientId);
    Thread th = new Thread(t::followLoop, "status-view");
    th.setDaemon(true);
    t.follower = th;
    th.start();
    return t;
  }

  private void followLoop() {
    try {
      while (!closing) {
        try {
          assignFromBeginning();
          break;
        } catch (WakeupException e) {
          return;
        } catch (KafkaException | IllegalStateException e) {
          LOG.warn("status view: {} not readable yet ({}), retrying", topic, e.getMessage());
          for (int i = 0; i < 20 && !closing; i++) {
            Thread.sleep(100);
          }
        }
      }
      while (!closing) {
        pollOnce(Duration.ofSeconds(1));
      }
    } catch (WakeupException | InterruptedException e) {
      // closing
    } catch (RuntimeException e) {
      if (!closing) {
        LOG.warn("status view stopped: {}", e.toString());
      }
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  private List<TopicPartition> assignFromBeginning() {
    List<PartitionInfo> infos = consumer.partitionsFor(topic);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("Kafka at " + bootstrap + " has no topic " + topic);
    }
    List<TopicPartition> parts = new ArrayList<>();
    for (PartitionInfo i : infos) {
      parts.add(new TopicPartition(i.topic(), i.partition()));
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    return parts;
  }

  private boolean reached(Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private void pollOnce(Duration wait) {
    for (ConsumerRecord<String, byte[]> r : consumer.poll(wait)) {
      if (r.key() == null) {
        continue;
      }
      if (r.value() == null) {
        latest.remove(r.key());
        continue;
      }
      try {
        latest.put(r.key(), V.read(ImageStatus.class, r.value()));
      } catch (RuntimeException e) {
        LOG.warn("skipping unreadable status record {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
      }
    }
  }

  /** The latest status per subject digest, ordered by reference then platform. */
  public Map<String, ImageStatus> view() {
    List<ImageStatus> all = new ArrayList<>(latest.values());
    all.sort(ORDER);
    Map<String, ImageStatus> m = new LinkedHashMap<>();
    for (ImageStatus s : all) {
      m.put(s.subjectDigest(), s);
    }
    return m;
  }

  /** The latest status of one subject digest, or null. */
  public ImageStatus get(String subjectDigest) {
    return latest.get(subjectDigest);
  }

  private static final Comparator<ImageStatus> ORDER = Comparator
      .comparing(StatusTopic::displayName)
      .thenComparing(s -> s.platform() == null ? "" : s.platform())
      .thenComparing(ImageStatus::subjectDigest);

  /** The reference as requested, else {@code registry/repository}. */
  public static String displayName(ImageStatus s) {
    if (s.reference() != null && !s.reference().isBlank()) {
      return s.reference();
    }
    return s.registry() + "/" + s.repository();
  }

  /** queued, converting n/m layers, publishing, published, failed: reason. */
  public static String stateText(ImageStatus s) {
    return switch (s.state()) {
      case QUEUED -> "queued";
      case CONVERTING -> "converting " + s.layersDone() + "/" + s.layersTotal() + " layers";
      case PUBLISHING -> "publishing";
      case PUBLISHED -> "published";
      case FAILED -> "failed: " + (s.reason() == null ? "no reason given" : s.reason());
    };
  }

  /** A failure to read the topic as one line naming the bootstrap servers. */
  static IllegalStateException unreachable(String bootstrap, String topic, Throwable e) {
    return new IllegalStateException("Kafka at " + bootstrap + " did not answer reading " + topic + ": "
        + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), e);
  }

  @Override
  public void close() {
    closing = true;
    Thread th = follower;
    if (th == null) {
      consumer.close(Duration.ofSeconds(2));
      return;
    }
    consumer.wakeup();
    try {
      th.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

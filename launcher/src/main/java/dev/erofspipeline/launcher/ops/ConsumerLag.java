package dev.erofspipeline.launcher.ops;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumer lag of this role's consumer groups, per topic and partition, as the gauge {@code
 * erofs_kafka_consumer_lag{group,topic,partition}}: log-end offset minus the group's committed
 * offset (minus the log-start offset where the group has committed nothing yet, as the consumers
 * start from the earliest record). Read through an {@link Admin} client at most once per interval,
 * when {@link #refresh()} is called (by a scrape of {@code /metrics}), so an idle installation
 * costs the broker nothing.
 */
public final class ConsumerLag {
  private static final Logger LOG = LoggerFactory.getLogger(ConsumerLag.class);
  public static final String METRIC = "erofs.kafka.consumer.lag";

  /** A consumer group and the topic it consumes. */
  public record Subscription(String group, String topic) {}

  private record Key(String group, String topic, int partition) {}

  private final Admin admin;
  private final List<Subscription> subscriptions;
  private final MeterRegistry meters;
  private final long intervalNanos;
  private final Map<Key, AtomicLong> values = new ConcurrentHashMap<>();
  private long lastRefresh;
  private boolean refreshed;

  public ConsumerLag(Admin admin, List<Subscription> subscriptions, MeterRegistry meters, java.time.Duration interval) {
    this.admin = admin;
    this.subscriptions = List.copyOf(subscriptions);
    this.meters = meters;
    this.intervalNanos = interval.toNanos();
  }

  /** Reads the offsets again if the last read is older than the interval; never throws. */
  public synchronized void refresh() {
    long now = System.nanoTime();
    if (refreshed && now - lastRefresh < intervalNanos) {
      return;
    }
    try {
      readNow();
      refreshed = true;
      lastRefresh = now;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn("consumer lag not read: {}", e.toString());
    }
  }

  /** The current lag of one partition (tests), or -1 when unknown. */
  public long lag(String group, String topic, int partition) {
    AtomicLong v = values.get(new Key(group, topic, partition));
    return v == null ? -1 : v.get();
  }

  private void readNow() throws Exception {
    Set<String> topicNames = new java.util.TreeSet<>();
    subscriptions.forEach(s -> topicNames.add(s.topic()));
    Map<String, TopicDescription> described =
        admin.describeTopics(topicNames).allTopicNames().get(10, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
    for (TopicDescription d : described.values()) {
      d.partitions().forEach(p -> {
        TopicPartition tp = new TopicPartition(d.name(), p.partition());
        latest.put(tp, OffsetSpec.latest());
        earliest.put(tp, OffsetSpec.earliest());
      });
    }
    Map<TopicPartition, ListOffsetsResultInfo> ends = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
    Map<TopicPartition, ListOffsetsResultInfo> starts = admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS);
    Map<String, ListConsumerGroupOffsetsSpec> groups = new HashMap<>();
    subscriptions.forEach(s -> groups.put(s.group(), new ListConsumerGroupOffsetsSpec()));
    var committedByGroup = admin.listConsumerGroupOffsets(groups);
    for (Subscription s : subscriptions) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          committedByGroup.partitionsToOffsetAndMetadata(s.group()).get(10, TimeUnit.SECONDS);
      for (Map.Entry<TopicPartition, ListOffsetsResultInfo> e : ends.entrySet()) {
        TopicPartition tp = e.getKey();
        if (!tp.topic().equals(s.topic())) {
          continue;
        }
        OffsetAndMetadata c = committed.get(tp);
        long from = c != null ? c.offset() : starts.get(tp).offset();
        long lag = Math.max(0, e.getValue().offset() - from);
        gauge(new Key(s.group(), tp.topic(), tp.partition())).set(lag);
      }
    }
  }

  private AtomicLong gauge(Key k) {
    return values.computeIfAbsent(k, key -> {
      AtomicLong v = new AtomicLong();
      Gauge.builder(METRIC, v, AtomicLong::get)
          .description("records of the topic partition not yet committed by the consumer group")
          .tag("group", key.group())
          .tag("topic", key.topic())
          .tag("partition", Integer.toString(key.partition()))
          .register(meters);
      return v;
    });
  }
}

package dev.erofspipeline.publish.route;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every publish process reads every record of some topics, without a consumer group: {@code
 * fromEnd} topics from their end offsets at start (what came before is found by the full rescan),
 * {@code fromBeginning} topics from their first retained record. Once every partition has a position
 * {@code started} runs (it lets the start rescan begin: after the positions, so nothing falls
 * between the two), then each record goes to {@code handler}; a handler failure (S3 or Kafka
 * unavailable) handles the same record again after a pause. Nothing is committed: a restart starts over as above.
 */
final class LayerEventsFollower extends ServiceSupport {
  private static final Logger LOG = LoggerFactory.getLogger(LayerEventsFollower.class);
  private static final Duration PAUSE = Duration.ofSeconds(1);

  interface Handler {
    void handle(ConsumerRecord<String, byte[]> record) throws Exception;
  }

  interface Step {
    void run() throws Exception;
  }

  private final String brokers;
  private final Set<String> fromEnd;
  private final Set<String> fromBeginning;
  private final Step started;
  private final Handler handler;
  private volatile boolean closing;
  private volatile KafkaConsumer<String, byte[]> consumer;
  private Thread thread;

  LayerEventsFollower(String brokers, Set<String> fromEnd, Set<String> fromBeginning, Step started, Handler handler) {
    this.brokers = brokers;
    this.fromEnd = fromEnd;
    this.fromBeginning = fromBeginning;
    this.started = started;
    this.handler = handler;
  }

  @Override
  protected void doStart() {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "erofs-publish-follower");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100);
    consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    closing = false;
    thread = new Thread(this::run, "publish-follower");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  protected void doStop() throws InterruptedException {
    closing = true;
    KafkaConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    if (thread != null) {
      thread.join(Duration.ofSeconds(30).toMillis());
    }
  }

  private void run() {
    KafkaConsumer<String, byte[]> c = consumer;
    try {
      until(() -> position(c), "assigning " + fromEnd + " " + fromBeginning);
      until(started::run, "start rescan");
      while (!closing) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
          if (!until(() -> handler.handle(r), r.topic() + "-" + r.partition() + "@" + r.offset())) {
            return;
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      if (!closing) {
        LOG.error("publish follower stopped: {}", e.toString(), e);
      }
    } finally {
      c.close(Duration.ofSeconds(2));
    }
  }

  /** Assigns every partition and takes a position in each (end or beginning) before returning. */
  private void position(KafkaConsumer<String, byte[]> c) {
    List<TopicPartition> end = partitions(c, fromEnd);
    List<TopicPartition> beginning = partitions(c, fromBeginning);
    List<TopicPartition> all = new ArrayList<>(end);
    all.addAll(beginning);
    c.assign(all);
    c.seekToEnd(end);
    c.seekToBeginning(beginning);
    for (TopicPartition tp : all) {
      c.position(tp); // the seeks are lazy: resolved here, so records from now on are read
    }
  }

  private static List<TopicPartition> partitions(KafkaConsumer<String, byte[]> c, Set<String> topics) {
    List<TopicPartition> out = new ArrayList<>();
    for (String topic : topics) {
      List<PartitionInfo> infos = c.partitionsFor(topic);
      if (infos == null || infos.isEmpty()) {
        throw new IllegalStateException("no topic " + topic);
      }
      infos.forEach(i -> out.add(new TopicPartition(i.topic(), i.partition())));
    }
    return out;
  }

  /** Runs {@code step} until it succeeds; false when closing first. */
  private boolean until(Step step, String what) {
    for (int attempt = 1; !closing; attempt++) {
      try {
        step.run();
        return true;
      } catch (WakeupException e) {
        throw e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      } catch (Exception e) {
        if (closing) {
          return false;
        }
        LOG.warn("publish follower: {} failed ({}), again in {} s: {}", what, attempt, PAUSE.toSeconds(), e.toString());
        try {
          Thread.sleep(PAUSE.toMillis());
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return false;
  }
}

package dev.erofspipeline.convert.worker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultConsumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Kafka consumer feeding a pool of {@code concurrency} slots: each fetched record becomes an
 * exchange routed on a slot's thread, so a free slot takes the next job of any assigned partition
 * while a big layer occupies another.
 *
 * <p>Offsets: a partition is committed up to its oldest job not yet finished (fetched, waiting or
 * in flight), never past it. A job is finished when its exchange completed without an exception,
 * that is when its result or dead letter was acknowledged by Kafka. An exchange that failed while
 * the worker runs (Kafka did not take the result) is routed again after {@link #RERUN_DELAY}; at
 * shutdown or after its partition was taken away it is left uncommitted for the next owner.
 *
 * <p>Flow control: while the slots are taken, the consumer pauses its partitions and keeps polling
 * (so the group does not evict it); a slot that frees resumes them. Records with the same key (a
 * layer digest) run one after the other, in order: two conversions of one layer at a time would
 * abort each other's unfinished uploads in S3.
 *
 * <p>Rebalance: jobs in flight of revoked partitions are finished (the rebalance waits for them,
 * up to {@code maxPollInterval}) and committed; jobs of those partitions that had not started are
 * dropped for the new owner. Lost partitions (the group already gave them away) commit nothing.
 *
 * <p>Stop: fetching ends, jobs not started are dropped, jobs in flight get up to {@code
 * drainTimeout} (the worker abandons them at its grace period: {@link
 * LayerJobHandler#abandonAll()}); what finished is committed, the rest is left to another worker.
 *
 * <p>The Kafka consumer is not thread-safe: every call on it (poll, pause, resume, commits,
 * close) happens in the poll thread, including the rebalance callbacks, which run inside poll. Slot
 * threads hand their outcome over through a queue and {@link KafkaConsumer#wakeup()}, the one
 * consumer method meant for other threads. The fields below without a lock are the poll thread's.
 */
final class LayerJobsConsumer extends DefaultConsumer {
  private static final Logger LOG = LoggerFactory.getLogger(LayerJobsConsumer.class);
  /** A poll wakes up early for a finished job or a stop; this only bounds an idle wait. */
  private static final Duration POLL_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration RERUN_DELAY = Duration.ofSeconds(2);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

  private final LayerJobsEndpoint endpoint;
  private final LayerJobsEndpoint.Settings settings;
  private final BlockingQueue<Outcome> outcomes = new LinkedBlockingQueue<>();
  private final Map<TopicPartition, PartitionOffsets> partitions = new HashMap<>();
  private final ArrayDeque<Job> waiting = new ArrayDeque<>();
  private final Set<Job> inFlight = new HashSet<>();
  private volatile boolean stopping;
  private KafkaConsumer<String, byte[]> kafka;
  private ExecutorService slots;
  private Thread pollThread;

  LayerJobsConsumer(LayerJobsEndpoint endpoint, Processor processor) {
    super(endpoint, processor);
    this.endpoint = endpoint;
    this.settings = endpoint.settings();
  }

  @Override
  protected void doStart() throws Exception {
    super.doStart();
    stopping = false;
    kafka = new KafkaConsumer<>(consumerProperties(settings));
    AtomicInteger slotNumber = new AtomicInteger();
    slots = Executors.newFixedThreadPool(settings.concurrency(), r -> {
      Thread t = new Thread(r, "layer-job-" + slotNumber.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    pollThread = new Thread(this::pollLoop, "layer-jobs-consumer");
    pollThread.start();
  }

  @Override
  protected void doStop() throws Exception {
    stopping = true;
    if (pollThread != null) {
      kafka.wakeup();
      pollThread.join(settings.drainTimeout().plus(CLOSE_TIMEOUT).plus(CLOSE_TIMEOUT).toMillis());
      if (pollThread.isAlive()) {
        LOG.warn("the layer-jobs consumer did not stop in time; leaving it behind");
      }
      slots.shutdownNow();
      pollThread = null;
    }
    super.doStop();
  }

  private static Properties consumerProperties(LayerJobsEndpoint.Settings s) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, s.brokers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, s.groupId());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // one record per poll: the consumer takes no more jobs than it has free slots for (its fetches
    // are still batched; the other records wait in its buffer, where a rebalance can hand them on)
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
    p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, Long.toString(s.maxPollInterval().toMillis()));
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Long.toString(s.sessionTimeout().toMillis()));
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Long.toString(s.sessionTimeout().toMillis() / 3));
    return p;
  }

  private void pollLoop() {
    try {
      kafka.subscribe(List.of(settings.topic()), new Rebalance());
      while (!stopping) {
        takeOutcomes();
        startJobs();
        commitFinishedAsync();
        if (inFlight.size() + waiting.size() >= settings.concurrency()) {
          kafka.pause(kafka.assignment());
        } else {
          kafka.resume(kafka.paused());
        }
        ConsumerRecords<String, byte[]> records;
        try {
          records = kafka.poll(POLL_TIMEOUT);
        } catch (WakeupException e) {
          continue; // a job finished, or the consumer stops
        } catch (KafkaException e) {
          LOG.warn("polling {} failed; polling again in a second", settings.topic(), e);
          Thread.sleep(1000);
          continue;
        }
        for (ConsumerRecord<String, byte[]> r : records) {
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          partitions.computeIfAbsent(tp, x -> new PartitionOffsets()).fetched(r.offset());
          waiting.add(new Job(r, tp));
        }
      }
      drain();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.error("the layer-jobs consumer failed; no more jobs are taken by this worker", e);
      endpoint.consumerFailed("the layer-jobs consumer failed: " + e);
    } finally {
      try {
        kafka.close(CLOSE_TIMEOUT);
      } catch (RuntimeException e) {
        LOG.warn("closing the layer-jobs consumer failed", e);
      }
    }
  }

  /** Stopping: no job starts any more; those in flight get the drain timeout to finish and be committed. */
  private void drain() throws InterruptedException {
    waiting.clear(); // fetched, never started: left uncommitted for the next owner
    long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
    while (!inFlight.isEmpty()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        LOG.warn("{} layer jobs still running after {}: left uncommitted", inFlight.size(), settings.drainTimeout());
        for (Job j : inFlight) {
          j.lastAttempt = true;
        }
        break;
      }
      Outcome o = outcomes.poll(Math.min(left, POLL_TIMEOUT.toNanos()), TimeUnit.NANOSECONDS);
      if (o != null) {
        record(o);
        takeOutcomes();
        commitFinishedNow(partitions.keySet());
      }
    }
    commitFinishedNow(partitions.keySet());
  }

  private void takeOutcomes() {
    for (Outcome o; (o = outcomes.poll()) != null; ) {
      record(o);
    }
  }

  private void record(Outcome o) {
    inFlight.remove(o.job());
    PartitionOffsets p = partitions.get(o.job().partition);
    if (p != null && o.done()) {
      p.finished(o.job().record.offset());
    }
  }

  /** Starts waiting jobs, in order, while slots are free; a job whose key is in flight waits for it. */
  private void startJobs() {
    for (Iterator<Job> it = waiting.iterator(); it.hasNext() && inFlight.size() < settings.concurrency(); ) {
      Job job = it.next();
      if (job.key() != null && inFlight.stream().anyMatch(j -> Objects.equals(j.key(), job.key()))) {
        continue;
      }
      it.remove();
      inFlight.add(job);
      slots.execute(job);
    }
  }

  /**
   * Commits without waiting, so that the next job starts during the round trip; the callback runs
   * in the poll thread (in a later poll or commit). A failed commit is sent again in the next turn.
   */
  private void commitFinishedAsync() {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    partitions.forEach((tp, p) -> {
      if (p.committable() > p.requested) {
        p.requested = p.committable();
        offsets.put(tp, new OffsetAndMetadata(p.requested));
      }
    });
    if (offsets.isEmpty()) {
      return;
    }
    kafka.commitAsync(offsets, (done, error) -> {
      if (error == null) {
        done.forEach((tp, o) -> {
          PartitionOffsets p = partitions.get(tp);
          if (p != null) {
            p.committed = Math.max(p.committed, o.offset());
          }
        });
      } else {
        LOG.warn("committing {} failed: {}; committing again", offsets, error.toString());
        offsets.keySet().forEach(tp -> {
          PartitionOffsets p = partitions.get(tp);
          if (p != null) {
            p.requested = p.committed;
          }
        });
      }
    });
  }

  /** Commits and waits: before partitions move on and before the consumer closes. */
  private void commitFinishedNow(Collection<TopicPartition> which) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : which) {
      PartitionOffsets p = partitions.get(tp);
      if (p != null && p.committable() > p.committed) {
        offsets.put(tp, new OffsetAndMetadata(p.committable()));
      }
    }
    if (offsets.isEmpty()) {
      return;
    }
    while (true) {
      try {
        kafka.commitSync(offsets);
        break;
      } catch (WakeupException e) {
        // a job finished meanwhile; the commit is simply repeated
      } catch (KafkaException e) {
        // a rebalance or a broker outage: the offsets are committed later, or by the next owner
        LOG.warn("committing {} failed: {}", offsets, e.toString());
        return;
      }
    }
    offsets.forEach((tp, o) -> {
      PartitionOffsets p = partitions.get(tp);
      p.committed = Math.max(p.committed, o.offset());
      p.requested = Math.max(p.requested, o.offset());
    });
  }

  /** Runs inside poll, in the poll thread. */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
      for (TopicPartition tp : assigned) {
        partitions.put(tp, new PartitionOffsets());
      }
      LOG.info("layer-job partitions assigned: {}", assigned);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
      if (revoked.isEmpty()) {
        return;
      }
      waiting.removeIf(j -> revoked.contains(j.partition));
      // finishing what runs keeps two workers from converting one layer at the same time; at a stop
      // the drain has waited already
      if (!stopping) {
        inFlight.stream().filter(j -> revoked.contains(j.partition)).forEach(j -> j.lastAttempt = true);
        try {
          while (inFlight.stream().anyMatch(j -> revoked.contains(j.partition))) {
            Outcome o = outcomes.poll(POLL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (o != null) {
              record(o);
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      commitFinishedNow(revoked);
      partitions.keySet().removeAll(revoked);
      LOG.info("layer-job partitions revoked: {}", revoked);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
      waiting.removeIf(j -> lost.contains(j.partition));
      inFlight.stream().filter(j -> lost.contains(j.partition)).forEach(j -> j.lastAttempt = true);
      partitions.keySet().removeAll(lost);
      LOG.warn("layer-job partitions lost (this worker left the group): {}; their jobs in flight are not committed", lost);
    }
  }

  /** How far one partition may be committed: up to its oldest unfinished job. */
  static final class PartitionOffsets {
    private final TreeSet<Long> unfinished = new TreeSet<>();
    private long next = -1;
    /** Acknowledged by Kafka. */
    long committed = -1;
    /** Sent, maybe not acknowledged yet. */
    long requested = -1;

    void fetched(long offset) {
      unfinished.add(offset);
      next = Math.max(next, offset + 1);
    }

    void finished(long offset) {
      unfinished.remove(offset);
    }

    /** The offset to commit (the next record to deliver after a restart), or -1 before any fetch. */
    long committable() {
      return unfinished.isEmpty() ? next : unfinished.first();
    }
  }

  private record Outcome(Job job, boolean done) {}

  /** One record, routed on a slot thread; its outcome goes back to the poll thread. */
  private final class Job implements Runnable {
    final ConsumerRecord<String, byte[]> record;
    final TopicPartition partition;
    /** Set by the poll thread when a failure must not be routed again (stop, partition gone). */
    volatile boolean lastAttempt;

    Job(ConsumerRecord<String, byte[]> record, TopicPartition partition) {
      this.record = record;
      this.partition = partition;
    }

    String key() {
      return record.key();
    }

    @Override
    public void run() {
      boolean done = false;
      try {
        while (true) {
          Exception failure = route();
          if (failure == null) {
            done = true;
            break;
          }
          if (stopping || lastAttempt) {
            break; // uncommitted: delivered again to this worker's successor or the partition's new owner
          }
          LOG.warn("layer job {}-{} at offset {} failed ({}); routing it again in {} s", partition.topic(),
              partition.partition(), record.offset(), failure.toString(), RERUN_DELAY.toSeconds());
          Thread.sleep(RERUN_DELAY.toMillis());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        outcomes.add(new Outcome(this, done));
        try {
          kafka.wakeup();
        } catch (RuntimeException closed) {
          // the consumer was closed after the drain timeout: nothing is committed any more
        }
      }
    }

    /** Routes the record once; returns the exchange's exception, or null when it completed. */
    private Exception route() {
      Exchange exchange = createExchange(false);
      try {
        Message in = exchange.getMessage();
        in.setBody(record.value());
        in.setHeader(KafkaConstants.PARTITION, record.partition());
        in.setHeader(KafkaConstants.OFFSET, record.offset());
        if (record.key() != null) {
          in.setHeader(KafkaConstants.KEY, record.key());
        }
        try {
          getProcessor().process(exchange);
        } catch (Exception e) {
          exchange.setException(e);
        }
        return exchange.getException();
      } finally {
        releaseExchange(exchange, false);
      }
    }
  }
}

package dev.erofspipeline.convert.worker;

import java.time.Duration;
import java.util.Optional;
import org.apache.camel.CamelContext;
import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultEndpoint;

/**
 * The layer-job topic as a Camel endpoint to consume from: one Kafka consumer for the worker
 * process feeding a pool of conversions ({@link LayerJobsConsumer}). camel-kafka's own consumer
 * cannot do this: it runs each record through the route in its poll thread and commits from
 * there, so every layer in flight needed a consumer of its own, pinned to its partitions, and one
 * consumer idled while another still had a backlog.
 */
public final class LayerJobsEndpoint extends DefaultEndpoint {

  /**
   * @param concurrency jobs in flight at most; any free slot takes the next job of any assigned
   *     partition
   * @param maxPollInterval how long a rebalance waits for this worker's jobs of revoked partitions
   *     (it lets them finish and commits them) before the group gives up on the worker
   * @param sessionTimeout how long a worker that stopped heartbeating (killed) keeps its partitions
   * @param drainTimeout how long a stop waits for jobs in flight before it closes the consumer
   *     without committing them
   */
  public record Settings(
      String brokers,
      String groupId,
      String topic,
      int concurrency,
      Duration maxPollInterval,
      Duration sessionTimeout,
      Duration drainTimeout) {
    public Settings {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
      }
    }
  }

  private final Settings settings;
  /** Why the consumer stopped taking jobs while the worker runs (null: it has not). */
  private volatile String failure;

  public LayerJobsEndpoint(CamelContext camel, Settings settings) {
    super("erofs-layer-jobs:" + settings.topic(), null);
    setCamelContext(camel);
    this.settings = settings;
  }

  Settings settings() {
    return settings;
  }

  void consumerFailed(String reason) {
    failure = reason;
  }

  /** Why the consumer stopped taking jobs, if it did while running: the worker is broken for good. */
  public Optional<String> failure() {
    return Optional.ofNullable(failure);
  }

  @Override
  public Consumer createConsumer(Processor processor) {
    return new LayerJobsConsumer(this, processor);
  }

  @Override
  public Producer createProducer() {
    throw new UnsupportedOperationException("layer jobs are consumed here; they are produced with a Kafka producer");
  }
}

package dev.erofspipeline.convert.worker;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.NativeLayerConverter;
import dev.erofspipeline.registry.Registries;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import software.amazon.awssdk.services.s3.S3Client;

/** A worker process's conversion service: the Camel context running {@link WorkerRoute}. */
public final class ConvertWorker implements AutoCloseable {

  private static final long ABANDON_MARGIN_SECONDS = 5;

  /**
   * @param concurrency layers in flight in this process
   * @param shutdownTimeout how long a stop waits for layers in flight before abandoning them
   *     (uncommitted, so another worker takes them over)
   * @param tempDir an existing directory for the native profile's tar spools and verity spill files
   *     (null: java.io.tmpdir)
   */
  public record Config(
      String brokers,
      Topics topics,
      String groupId,
      int concurrency,
      Duration maxPollInterval,
      Duration shutdownTimeout,
      S3Client s3,
      String bucket,
      String s3Prefix,
      int partSize,
      RegistryOptions registryOptions,
      ConversionLimits limits,
      RetryPolicy retry,
      String converterVersion,
      Duration sessionTimeout,
      Path tempDir) {
    /** Kafka's default session timeout. */
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(45);

    public Config(String brokers, Topics topics, String groupId, int concurrency, Duration maxPollInterval,
        Duration shutdownTimeout, S3Client s3, String bucket, String s3Prefix, int partSize,
        RegistryOptions registryOptions, ConversionLimits limits, RetryPolicy retry, String converterVersion) {
      this(brokers, topics, groupId, concurrency, maxPollInterval, shutdownTimeout, s3, bucket, s3Prefix, partSize,
          registryOptions, limits, retry, converterVersion, DEFAULT_SESSION_TIMEOUT, null);
    }
  }

  private final Config config;
  private final WorkerMetrics metrics;
  private final Map<String, RegistryTarget> registries = new ConcurrentHashMap<>();
  private final CamelContext camel = new DefaultCamelContext();
  private LayerJobHandler handler;
  private LayerJobsEndpoint layerJobs;

  public ConvertWorker(Config config, MeterRegistry meters) {
    this.config = config;
    this.metrics = new WorkerMetrics(meters);
    metrics.registryClients(registries);
  }

  public ConvertWorker start() throws Exception {
    RecordValidator validator = RecordValidator.defaults();
    // Decompressing on a second thread pays only while cores outnumber layers in flight.
    boolean parallel = config.concurrency() < Runtime.getRuntime().availableProcessors();
    LayerConverter.Options options =
        LayerConverter.Options.DEFAULT.withParallel(parallel).withTempDir(config.tempDir());
    LayerConverter converter = new LayerConverter(config.limits(), options);
    handler =
        new LayerJobHandler(
            new S3Staging(config.s3(), config.bucket(), config.s3Prefix(), config.partSize(), validator),
            registry -> registries.computeIfAbsent(registry, r -> Registries.open(r, config.registryOptions())),
            converter,
            new NativeLayerConverter(config.limits(), options),
            config.retry(),
            metrics,
            config.converterVersion());
    // Abandoned jobs need a moment to unwind after the grace period: the consumer waits that much
    // longer for them, and Camel longer still, so that the consumer commits what finished.
    camel.getShutdownStrategy().setTimeout(config.shutdownTimeout().toSeconds() + 2 * ABANDON_MARGIN_SECONDS);
    layerJobs =
        new LayerJobsEndpoint(camel, new LayerJobsEndpoint.Settings(config.brokers(), config.groupId(),
            config.topics().layerJobs(), config.concurrency(), config.maxPollInterval(), config.sessionTimeout(),
            config.shutdownTimeout().plusSeconds(ABANDON_MARGIN_SECONDS)));
    camel.addEndpoint(layerJobs.getEndpointUri(), layerJobs);
    camel.addRoutes(new WorkerRoute(layerJobs, config.brokers(), config.topics(), validator, handler, metrics));
    camel.start();
    return this;
  }

  public WorkerMetrics metrics() {
    return metrics;
  }

  /**
   * Why this worker takes no more jobs although it was not stopped (its Kafka consumer failed), if
   * so: liveness turns this into a restart.
   */
  public Optional<String> failure() {
    return layerJobs == null ? Optional.empty() : layerJobs.failure();
  }

  /**
   * Stops polling, lets layers in flight finish for up to the shutdown timeout, then abandons the
   * rest (uncommitted, nothing visible in S3) and closes the registries.
   */
  @Override
  public void close() {
    Thread abandoner =
        new Thread(
            () -> {
              try {
                Thread.sleep(config.shutdownTimeout().toMillis());
                handler.abandonAll();
              } catch (InterruptedException finishedInTime) {
                // every layer in flight finished within the grace period
              }
            },
            "convert-worker-abandon");
    abandoner.setDaemon(true);
    try {
      if (handler != null) {
        abandoner.start();
      }
      camel.stop();
    } finally {
      abandoner.interrupt();
      for (RegistryTarget r : registries.values()) {
        r.close();
      }
    }
  }
}

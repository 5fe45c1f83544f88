package dev.erofspipeline.convert.worker;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.registry.Registries;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import software.amazon.awssdk.services.s3.S3Client;

/** A worker process's conversion service: the Camel context running {@link WorkerRoute}. */
public final class ConvertWorker implements AutoCloseable {

  /**
   * @param concurrency layers in flight in this process
   * @param shutdownTimeout how long a stop waits for layers in flight before abandoning them
   *     (uncommitted, so another worker takes them over)
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
      String converterVersion) {}

  private final Config config;
  private final WorkerMetrics metrics;
  private final Map<String, RegistryTarget> registries = new ConcurrentHashMap<>();
  private final CamelContext camel = new DefaultCamelContext();

  public ConvertWorker(Config config, MeterRegistry meters) {
    this.config = config;
    this.metrics = new WorkerMetrics(meters);
  }

  public ConvertWorker start() throws Exception {
    RecordValidator validator = RecordValidator.defaults();
    // Decompressing on a second thread pays only while cores outnumber layers in flight.
    boolean parallel = config.concurrency() < Runtime.getRuntime().availableProcessors();
    LayerConverter converter =
        new LayerConverter(config.limits(), LayerConverter.Options.DEFAULT.withParallel(parallel));
    LayerJobHandler handler =
        new LayerJobHandler(
            new S3Staging(config.s3(), config.bucket(), config.s3Prefix(), config.partSize(), validator),
            registry -> registries.computeIfAbsent(registry, r -> Registries.open(r, config.registryOptions())),
            converter,
            config.retry(),
            metrics,
            config.converterVersion());
    camel.getShutdownStrategy().setTimeout(Math.max(1, config.shutdownTimeout().toSeconds()));
    camel.addRoutes(
        new WorkerRoute(
            new WorkerRoute.Settings(config.brokers(), config.groupId(), config.concurrency(), config.maxPollInterval()),
            config.topics(),
            validator,
            handler,
            metrics));
    camel.start();
    return this;
  }

  public WorkerMetrics metrics() {
    return metrics;
  }

  /** Stops polling, lets layers in flight finish up to the shutdown timeout, closes registries. */
  @Override
  public void close() {
    try {
      camel.stop();
    } finally {
      for (RegistryTarget r : registries.values()) {
        r.close();
      }
    }
  }
}

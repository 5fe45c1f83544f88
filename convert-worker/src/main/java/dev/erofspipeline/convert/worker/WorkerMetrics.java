package dev.erofspipeline.convert.worker;

import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryCounters;
import dev.erofspipeline.registry.RegistryTarget;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToLongFunction;

/** The worker's meters; names follow Prometheus conventions once exported. */
public final class WorkerMetrics {
  private final MeterRegistry registry;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Counter completed;
  private final Counter reused;
  private final Counter retries;
  private final Counter uploadsAborted;
  private final Counter bytesIn;
  private final Counter bytesOut;
  private final Timer conversion;
  private final Map<Phase, Timer> phases = new EnumMap<>(Phase.class);

  /** The steps of one job, timed separately so that an operator (and the benchmark) sees where the time goes. */
  public enum Phase {
    /** the S3 lookup of an earlier result */
    CHECK,
    /** the blob streamed from the registry through the converter (parts of the tree upload overlap it) */
    CONVERT,
    /** the index and tree uploads completed */
    UPLOAD,
    /** result.json written */
    RESULT;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public WorkerMetrics(MeterRegistry registry) {
    this.registry = registry;
    registry.gauge("erofs.worker.jobs.in.flight", inFlight);
    completed = Counter.builder("erofs.worker.jobs.completed").description("layers converted").register(registry);
    reused = Counter.builder("erofs.worker.jobs.reused").description("jobs answered from an earlier result in S3").register(registry);
    retries = Counter.builder("erofs.worker.jobs.retries").description("job attempts repeated after a transient failure").register(registry);
    uploadsAborted =
        Counter.builder("erofs.worker.uploads.aborted")
            .description("unfinished S3 multipart uploads of an earlier, interrupted attempt aborted before converting again")
            .register(registry);
    bytesIn = Counter.builder("erofs.worker.bytes.in").baseUnit("bytes").description("layer blob bytes read from registries").register(registry);
    bytesOut = Counter.builder("erofs.worker.bytes.out").baseUnit("bytes").description("index and tree bytes written to S3").register(registry);
    conversion =
        Timer.builder("erofs.worker.conversion")
            .description("blob download, conversion and upload of one layer")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(10))
            .maximumExpectedValue(Duration.ofHours(1))
            .register(registry);
    for (Phase p : Phase.values()) {
      phases.put(p, Timer.builder("erofs.worker.phase").tag("phase", p.tag())
          .description("time a job spends in one step").register(registry));
    }
  }

  void phase(Phase p, long nanos) {
    phases.get(p).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Total time spent in one step over all jobs so far. */
  public Duration phaseTotal(Phase p) {
    return Duration.ofNanos((long) phases.get(p).totalTime(TimeUnit.NANOSECONDS));
  }

  void started() {
    inFlight.incrementAndGet();
  }

  void finished() {
    inFlight.decrementAndGet();
  }

  void converted(long nanos) {
    completed.increment();
    conversion.record(nanos, TimeUnit.NANOSECONDS);
  }

  void reused() {
    reused.increment();
  }

  void retried() {
    retries.increment();
  }

  void uploadsAborted(int n) {
    uploadsAborted.increment(n);
  }

  void bytesIn(long n) {
    bytesIn.increment(n);
  }

  void bytesOut(long n) {
    bytesOut.increment(n);
  }

  /**
   * Exports the registry clients' own retries (a request repeated after a 5xx, a 429 or a broken
   * connection) and resumed blob downloads, summed over the registries in the map as it grows.
   */
  void registryClients(Map<String, RegistryTarget> registries) {
    FunctionCounter.builder("erofs.worker.registry.retries", registries, r -> sum(r, RegistryCounters::retries))
        .description("registry requests repeated after a transient failure (5xx, 429, broken connection)")
        .register(registry);
    FunctionCounter.builder("erofs.worker.registry.resumes", registries, r -> sum(r, RegistryCounters::resumes))
        .description("blob downloads resumed with a Range request after a broken connection")
        .register(registry);
  }

  private static double sum(Map<String, RegistryTarget> registries, ToLongFunction<RegistryCounters> counter) {
    long n = 0;
    for (RegistryTarget t : registries.values()) {
      if (t instanceof RegistryClient c) {
        n += counter.applyAsLong(c.counters());
      }
    }
    return n;
  }

  /** A job that ended in the dead-letter topic, by reason code. */
  public void failed(String reasonCode) {
    Counter.builder("erofs.worker.jobs.failed").tag("reason", reasonCode).register(registry).increment();
  }

  public int inFlight() {
    return inFlight.get();
  }
}

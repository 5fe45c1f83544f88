package dev.erofspipeline.convert.worker;

import dev.erofspipeline.registry.Backoff;
import java.time.Duration;

/**
 * How often a layer job is tried again after a transient failure (registry 5xx/429 beyond the
 * client's own retries, S3 errors, a connection reset mid-blob), and how long to wait in between:
 * exponential backoff with full jitter on the upper half, so workers that failed together do not
 * retry together.
 */
public record RetryPolicy(int maxAttempts, Duration initialDelay, Duration maxDelay) {
  public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofSeconds(2), Duration.ofMinutes(1));

  public RetryPolicy {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1");
    }
  }

  /** The wait after failed attempt {@code attempt} (1-based). */
  Duration delayAfter(int attempt) {
    return Backoff.delay(initialDelay, maxDelay, attempt - 1);
  }
}

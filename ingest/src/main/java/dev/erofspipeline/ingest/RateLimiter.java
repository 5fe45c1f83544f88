package dev.erofspipeline.ingest;

import java.util.function.LongSupplier;

/** At most {@code perSecond} permits a second, evenly spaced (no bursts); 0 or less: unlimited. Thread-safe. */
public final class RateLimiter {
    private final long intervalNanos;
    private final LongSupplier clock;
    private long next;

    public RateLimiter(double perSecond) {
        this(perSecond, System::nanoTime);
    }

    RateLimiter(double perSecond, LongSupplier clock) {
        this.intervalNanos = perSecond <= 0 ? 0 : (long) (1_000_000_000L / perSecond);
        this.clock = clock;
        this.next = clock.getAsLong();
    }

    /** Waits for the next permit. */
    public void acquire() throws InterruptedException {
        if (intervalNanos == 0) {
            return;
        }
        long wait;
        synchronized (this) {
            long now = clock.getAsLong();
            long at = Math.max(now, next);
            next = at + intervalNanos;
            wait = at - now;
        }
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
    }
}

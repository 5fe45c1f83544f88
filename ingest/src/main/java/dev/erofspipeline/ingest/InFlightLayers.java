package dev.erofspipeline.ingest;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Layers (digest + profile fingerprint) this process has queued and whose result is not known to exist yet, so that
 * identical requests arriving at once produce one job per layer.
 *
 * <p>A claim is taken when a job is about to be emitted and released when emitting failed, when a later check finds
 * the layer's {@code result.json} (the job is done; not for a claim of a forced job, since the result existed before
 * it), or when it is older than the time-to-live (the job may have been
 * lost: a request after that queues the layer again). Only this process is covered: two ingest processes can each queue
 * the same layer once; Kafka keying by layer digest sends both to the same partition, so one worker sees them one after
 * the other and the second finds the result already there.
 */
public final class InFlightLayers {
    private record Claim(long at, boolean forced) {
    }

    private final ConcurrentHashMap<String, Claim> claims = new ConcurrentHashMap<>();
    private final long ttlNanos;
    private final LongSupplier clock;

    public InFlightLayers(Duration ttl) {
        this(ttl, System::nanoTime);
    }

    InFlightLayers(Duration ttl, LongSupplier clock) {
        this.ttlNanos = ttl.toNanos();
        this.clock = clock;
    }

    /** The key of a layer under a profile. */
    public static String key(String layerDigest, String profileFingerprint) {
        return layerDigest + "/" + profileFingerprint;
    }

    /** Now, on the clock claims are taken with. */
    public long now() {
        return clock.getAsLong();
    }

    /** Takes the claim unless another live one exists; true when taken. */
    public boolean tryClaim(String key) {
        return tryClaim(key, false);
    }

    /** Takes the claim, for a job with {@code force} or not, unless another live one exists; true when taken. */
    public boolean tryClaim(String key, boolean forced) {
        long now = clock.getAsLong();
        boolean[] taken = {false};
        claims.compute(key, (k, c) -> {
            if (c == null || now - c.at() > ttlNanos) {
                taken[0] = true;
                return new Claim(now, forced);
            }
            return c;
        });
        if (claims.size() > 100_000) {
            claims.values().removeIf(c -> now - c.at() > ttlNanos);
        }
        return taken[0];
    }

    /**
     * Releases a claim taken before {@code nanos} (the layer was found converted by a check that started then: the job
     * of that claim is done). A claim taken after it, by a request running at the same time, stays.
     */
    public void releaseIfClaimedBefore(String key, long nanos) {
        claims.computeIfPresent(key, (k, c) -> !c.forced() && c.at() - nanos < 0 ? null : c);
    }

    /** Releases claims (their jobs could not be emitted). */
    public void release(Collection<String> keys) {
        keys.forEach(claims::remove);
    }

    public boolean isClaimed(String key) {
        Claim c = claims.get(key);
        return c != null && clock.getAsLong() - c.at() <= ttlNanos;
    }

    public int size() {
        return claims.size();
    }
}

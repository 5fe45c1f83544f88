package dev.erofspipeline.registry;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Plain counters a caller can export as metrics (no metrics library here). Thread-safe, monotonic.
 */
public final class RegistryCounters {
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong retries = new AtomicLong();
    private final AtomicLong resumes = new AtomicLong();
    private final AtomicLong tokenFetches = new AtomicLong();
    private final AtomicLong referrerConflicts = new AtomicLong();

    /** HTTP requests sent (every attempt counts, token requests included). */
    public long requests() {
        return requests.get();
    }

    /** Attempts repeated after a transient failure. */
    public long retries() {
        return retries.get();
    }

    /** Blob downloads resumed with a Range request after a broken connection. */
    public long resumes() {
        return resumes.get();
    }

    /** Bearer tokens fetched from a realm (cache misses). */
    public long tokenFetches() {
        return tokenFetches.get();
    }

    /** Referrers tag index writes repeated because a concurrent writer dropped our entry. */
    public long referrerConflicts() {
        return referrerConflicts.get();
    }

    void request() {
        requests.incrementAndGet();
    }

    void retry() {
        retries.incrementAndGet();
    }

    void resume() {
        resumes.incrementAndGet();
    }

    void tokenFetch() {
        tokenFetches.incrementAndGet();
    }

    void referrerConflict() {
        referrerConflicts.incrementAndGet();
    }

    @Override
    public String toString() {
        return "RegistryCounters[requests=" + requests + ", retries=" + retries + ", resumes=" + resumes
                + ", tokenFetches=" + tokenFetches + ", referrerConflicts=" + referrerConflicts + "]";
    }
}

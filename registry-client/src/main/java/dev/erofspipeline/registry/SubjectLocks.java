package dev.erofspipeline.registry;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Serializes writers of one referrers subject. {@link #PROCESS} is shared by every client of the process (the
 * default), so two threads adding referrers to the same subject never interleave their read-modify-write.
 */
final class SubjectLocks {
    static final SubjectLocks PROCESS = new SubjectLocks();

    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    ReentrantLock lockFor(String key) {
        // locks are few (one per subject written by this process) and tiny: not evicted
        return locks.computeIfAbsent(key, k -> new ReentrantLock());
    }
}

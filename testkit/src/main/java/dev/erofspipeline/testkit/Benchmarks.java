package dev.erofspipeline.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** What the benchmark programs (scripts/bench-*.sh) share: timing a batch at a given parallelism, machine load, process CPU. */
public final class Benchmarks {

    /** Work on one item of a batch. */
    @FunctionalInterface
    public interface Task<T> {
        void run(T item) throws Exception;
    }

    private Benchmarks() {
    }

    /** Runs {@code task} on every item, {@code parallelism} at a time; returns the wall time in seconds. */
    public static <T> double parallelSeconds(List<T> items, int parallelism, Task<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(parallelism);
        try {
            long t0 = System.nanoTime();
            List<Future<?>> done = new ArrayList<>();
            for (T item : items) {
                done.add(pool.submit(() -> {
                    task.run(item);
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            return (System.nanoTime() - t0) / 1e9;
        } finally {
            pool.shutdown();
        }
    }

    /** The one-minute load average, to print next to each measurement on a shared machine. */
    public static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    /** CPU seconds this JVM has used so far (all threads, GC and JIT included). */
    public static double jvmCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    /** User plus system CPU seconds a running process (e.g. docker-registry) has used so far. */
    public static double processCpuSeconds(long pid) {
        try {
            String[] stat = Files.readString(Path.of("/proc/" + pid + "/stat")).replaceAll("^.*\\) ", "").split(" ");
            return (Long.parseLong(stat[11]) + Long.parseLong(stat[12])) / 100.0; // USER_HZ is 100 on Linux
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

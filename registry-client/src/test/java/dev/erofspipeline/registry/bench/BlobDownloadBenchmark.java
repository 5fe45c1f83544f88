package dev.erofspipeline.registry.bench;

import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.testkit.Benchmarks;
import dev.erofspipeline.testkit.RegistryFixture;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * CPU of one blob download from a real docker-registry (not a test): {@link RegistryClient#openBlobUnverified} against
 * the transports it could use, in one run, interleaved round by round: the JDK HttpClient with
 * {@code BodyHandlers.ofInputStream()} and 256 KiB read buffers (the registry client's transport for blobs before),
 * a bare HttpURLConnection, and curl as an outside reference. Prints the mean over the rounds of this JVM's CPU
 * (every thread, GC and JIT included; the clock ticks in 10 ms steps, so a mean, not a median), docker-registry's CPU
 * and the wall time per download.
 *
 * <p>Arguments: {@code [MiB per blob] [rounds]} (defaults 100 9).
 */
public final class BlobDownloadBenchmark {
    private static final String REPOSITORY = "bench/blob";

    private BlobDownloadBenchmark() {
    }

    /** How one download is made; returns the bytes read. */
    @FunctionalInterface
    private interface Download {
        long run() throws Exception;
    }

    /** CPU of one download: this JVM's, or curl's (a child process). */
    private record Cost(double jvmMillis, double registryMillis, double wallMillis) {
    }

    public static void main(String[] args) throws Exception {
        int mib = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 9;
        // the registry client's former setting for the JDK client: read before any HttpClient is built
        System.setProperty("jdk.httpclient.bufsize", Integer.toString(256 << 10));
        try (RegistryFixture registry = RegistryFixture.create().start();
                RegistryClient client = new RegistryClient(registry.host(),
                        RegistryOptions.builder().insecureHost(registry.host()).build())) {
            byte[] blob = new byte[mib << 20];
            new Random(1).nextBytes(blob);
            String digest = client.pushBlob(REPOSITORY, BlobSource.of(blob));
            blob = null;
            URI uri = URI.create("http://" + registry.host() + "/v2/" + REPOSITORY + "/blobs/" + digest);
            HttpClient jdk = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            Map<String, Download> variants = new LinkedHashMap<>();
            variants.put("RegistryClient.openBlobUnverified", () -> drain(client.openBlobUnverified(REPOSITORY, digest, -1)));
            variants.put("JDK HttpClient, ofInputStream, 256 KiB", () ->
                    drain(jdk.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofInputStream()).body()));
            variants.put("HttpURLConnection", () -> drain(((HttpURLConnection) uri.toURL().openConnection()).getInputStream()));
            Map<String, List<Cost>> costs = new LinkedHashMap<>();
            variants.keySet().forEach(k -> costs.put(k, new ArrayList<>()));
            costs.put("curl (outside reference)", new ArrayList<>());
            System.out.printf(Locale.ROOT, "%d MiB blob, %d rounds, load %s%n", mib, rounds, Benchmarks.loadAverage());
            for (int round = 0; round < rounds; round++) {
                for (Map.Entry<String, Download> v : variants.entrySet()) {
                    costs.get(v.getKey()).add(measure(registry, v.getValue(), mib));
                }
                costs.get("curl (outside reference)").add(curl(registry, uri, mib));
            }
            System.out.printf(Locale.ROOT, "%-40s %14s %14s %10s   (mean of %d; load %s)%n", "download of " + mib + " MiB",
                    "client CPU ms", "registry CPU", "wall ms", rounds, Benchmarks.loadAverage());
            double base = mean(costs.get("JDK HttpClient, ofInputStream, 256 KiB"), Cost::jvmMillis);
            for (Map.Entry<String, List<Cost>> e : costs.entrySet()) {
                double cpu = mean(e.getValue(), Cost::jvmMillis);
                System.out.printf(Locale.ROOT, "%-40s %14.0f %14.0f %10.0f   client CPU %.2fx the JDK HttpClient's%n", e.getKey(),
                        cpu, mean(e.getValue(), Cost::registryMillis), mean(e.getValue(), Cost::wallMillis), cpu / base);
            }
        }
    }

    private static long drain(InputStream in) throws IOException {
        byte[] buf = new byte[256 << 10];
        long total = 0;
        try (in) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                total += n;
            }
        }
        return total;
    }

    private static Cost measure(RegistryFixture registry, Download d, int mib) throws Exception {
        double jvm0 = Benchmarks.jvmCpuSeconds();
        double reg0 = Benchmarks.processCpuSeconds(registry.pid());
        long t0 = System.nanoTime();
        long n = d.run();
        long t1 = System.nanoTime();
        check(n, mib);
        return new Cost(1e3 * (Benchmarks.jvmCpuSeconds() - jvm0), 1e3 * (Benchmarks.processCpuSeconds(registry.pid()) - reg0),
                (t1 - t0) / 1e6);
    }

    /** curl's CPU, read from the shell that waited for it (its children's user and system time). */
    private static Cost curl(RegistryFixture registry, URI uri, int mib) throws Exception {
        double reg0 = Benchmarks.processCpuSeconds(registry.pid());
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("sh", "-c", "curl -sS -o /dev/null -w '%{size_download}\\n' \"$0\"; cat /proc/$$/stat",
                uri.toString()).redirectErrorStream(true).start();
        String[] out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split("\n");
        if (p.waitFor() != 0 || out.length != 2) {
            throw new IOException("curl: " + Arrays.toString(out));
        }
        long t1 = System.nanoTime();
        check(Long.parseLong(out[0].trim()), mib);
        String[] stat = out[1].replaceAll("^.*\\) ", "").split(" ");
        double childMillis = (Long.parseLong(stat[13]) + Long.parseLong(stat[14])) * 10.0; // cutime, cstime in 1/100 s
        return new Cost(childMillis, 1e3 * (Benchmarks.processCpuSeconds(registry.pid()) - reg0), (t1 - t0) / 1e6);
    }

    private static void check(long bytes, int mib) throws IOException {
        if (bytes != (long) mib << 20) {
            throw new IOException("downloaded " + bytes + " bytes, expected " + ((long) mib << 20));
        }
    }

    private static double mean(List<Cost> costs, java.util.function.ToDoubleFunction<Cost> f) {
        return costs.stream().mapToDouble(f).average().orElseThrow();
    }
}

package dev.erofspipeline.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Debian's {@code docker-registry serve config.yml} (distribution 2.8.2) as a child process on a free 127.0.0.1 port
 * with a temp storage directory (INFRA.md section 3). Private to these tests: the shared
 * {@code dev.erofspipeline.testkit.RegistryFixture} was not committed yet when they were written.
 */
final class LocalRegistry implements AutoCloseable {
    private final Path dir;
    private final Process process;
    private final int port;

    private LocalRegistry(Path dir, Process process, int port) {
        this.dir = dir;
        this.process = process;
        this.port = port;
    }

    static LocalRegistry start() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("registry-client-test-");
        for (int attempt = 1; ; attempt++) {
            int port = freePort();
            Path config = dir.resolve("config.yml");
            Files.writeString(config, "version: 0.1\n"
                    + "log: {level: warn, accesslog: {disabled: true}}\n"
                    + "storage: {filesystem: {rootdirectory: " + dir.resolve("data") + "}, delete: {enabled: true}, "
                    + "cache: {blobdescriptor: inmemory}}\n"
                    + "http: {addr: 127.0.0.1:" + port + ", secret: local-test-secret, headers: {X-Content-Type-Options: [nosniff]}}\n"
                    + "health: {storagedriver: {enabled: false}}\n");
            Process p = new ProcessBuilder("/usr/bin/docker-registry", "serve", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("registry.log").toFile())
                    .start();
            LocalRegistry r = new LocalRegistry(dir, p, port);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && p.isAlive()) {
                try (Socket probe = new Socket("127.0.0.1", port)) {
                    probe.shutdownOutput();
                    return r;
                } catch (IOException notYet) {
                    Thread.sleep(20);
                }
            }
            r.stopProcess();
            if (attempt >= 3) {
                String log = Files.readString(dir.resolve("registry.log"));
                r.close();
                throw new IllegalStateException("docker-registry did not start: " + log);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** {@code 127.0.0.1:<port>}. */
    String host() {
        return "127.0.0.1:" + port;
    }

    int port() {
        return port;
    }

    /** A client for this registry (plain HTTP), fast retries for tests. */
    RegistryClient client() {
        return new RegistryClient(host(), options(host()).build());
    }

    static RegistryOptions.Builder options(String... insecure) {
        RegistryOptions.Builder b = RegistryOptions.builder().initialBackoff(java.time.Duration.ofMillis(10))
                .maxBackoff(java.time.Duration.ofMillis(100));
        for (String h : insecure) {
            b.insecureHost(h);
        }
        return b;
    }

    private void stopProcess() {
        process.destroy();
        try {
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(3, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopProcess();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

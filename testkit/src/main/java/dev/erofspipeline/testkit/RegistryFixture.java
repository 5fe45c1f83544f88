package dev.erofspipeline.testkit;

import dev.erofspipeline.embedded.ShutdownHook;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.GenericContainer;

import dev.erofspipeline.embedded.EmbeddedSupport;

/**
 * An OCI registry for tests: Debian's {@code docker-registry serve config.yml} (distribution 2.8) as a
 * child process on a free 127.0.0.1 port with a temporary storage directory, deletes enabled; or a
 * {@code registry:2} container when {@code -Derofs.test.containers=true} (skipped without Docker).
 *
 * <p>Images are seeded from OCI layouts with skopeo ({@link #seed}). The child process is stopped by
 * {@link #close()} (SIGTERM, then SIGKILL after 3 s), and by a JVM shutdown hook if the JVM exits first;
 * the temp directory goes with it.
 *
 * <p>Notification endpoints (distribution's {@code notifications:} section) can be added before
 * {@link #start()}, or later followed by {@link #restart()}, which keeps the port and the storage.
 *
 * <p>The binaries are looked up on PATH; {@code -Derofs.test.docker-registry=} and
 * {@code -Derofs.test.skopeo=} override them. Install with
 * {@code apt-get install -y --no-install-recommends docker-registry skopeo}.
 */
public final class RegistryFixture extends Fixture<RegistryFixture> {

    /** Output format of {@link #seed(Path, String, String, Format)}. */
    public enum Format {
        /** Keep the layout's media types (OCI); digests are preserved. */
        AS_IS,
        /** {@code --format v2s2}: Docker v2 schema 2 media types (new digests). */
        DOCKER_V2S2
    }

    /** A notification endpoint in distribution's configuration. */
    public record NotificationEndpoint(String name, URI url, Duration timeout, int threshold, Duration backoff) {
        public NotificationEndpoint {
            Objects.requireNonNull(name);
            Objects.requireNonNull(url);
            Objects.requireNonNull(timeout);
            Objects.requireNonNull(backoff);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(RegistryFixture.class);
    private static final String REGISTRY_BIN = System.getProperty("erofs.test.docker-registry", "docker-registry");
    private static final String SKOPEO_BIN = System.getProperty("erofs.test.skopeo", "skopeo");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration SKOPEO_TIMEOUT = Duration.ofSeconds(120);
    private static final int START_ATTEMPTS = 4;

    private final boolean useContainer;
    private final List<NotificationEndpoint> notifications = new ArrayList<>();
    private boolean accessLog;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1).build();

    private Path dir;
    private Path storage;
    private Path config;
    private Path log;
    private int port;
    private Process process;
    private GenericContainer<?> container;
    private String host;
    private ShutdownHook shutdownHook;
    private long startMillis;

    private RegistryFixture(boolean useContainer) {
        this.useContainer = useContainer;
    }

    /** docker-registry child process (or a registry:2 container with {@code -Derofs.test.containers=true}). */
    public static RegistryFixture create() {
        return new RegistryFixture(Containers.requested());
    }

    /** Always the docker-registry child process. */
    public static RegistryFixture process() {
        return new RegistryFixture(false);
    }

    /** Always a registry:2 container (skipped without Docker). */
    public static RegistryFixture container() {
        return new RegistryFixture(true);
    }

    /** Adds a notification endpoint (timeout 1 s, threshold 3, backoff 1 s); effective at the next (re)start. */
    public RegistryFixture withNotificationEndpoint(String name, URI url) {
        return withNotificationEndpoint(new NotificationEndpoint(name, url, Duration.ofSeconds(1), 3, Duration.ofSeconds(1)));
    }

    public synchronized RegistryFixture withNotificationEndpoint(NotificationEndpoint endpoint) {
        if (useContainer) {
            throw new UnsupportedOperationException("notifications are only wired for the docker-registry process");
        }
        notifications.add(endpoint);
        return this;
    }

    /**
     * Writes an access log line per request (method, path, status) to the registry's log, effective at the
     * next (re)start; the load test counts registry requests with it.
     */
    public synchronized RegistryFixture withAccessLog() {
        if (useContainer) {
            throw new UnsupportedOperationException("the access log is only wired for the docker-registry process");
        }
        accessLog = true;
        return this;
    }

    /** The registry's log file (process mode): its output, and the access log when enabled. */
    public Path logFile() {
        requireProcess();
        return log;
    }

    private static RegistryFixture sharedInstance;

    /**
     * The per-JVM shared instance (as {@link #create()}), started on first use, stopped at JVM exit; the
     * JUnit callbacks and {@link #close()} do not stop it. Use unique topic/bucket/repository names per test.
     */
    public static synchronized RegistryFixture shared() {
        if (sharedInstance == null) {
            sharedInstance = create().markShared();
        }
        return sharedInstance;
    }

    @Override
    public synchronized RegistryFixture start() {
        if (host != null) {
            return this;
        }
        long t0 = System.nanoTime();
        try {
            if (useContainer) {
                GenericContainer<?> c = Containers.registry();
                container = c;
                c.start();
                host = Containers.hostAndPort(c, 5000);
            } else {
                dir = Files.createTempDirectory("erofs-registry-");
                storage = Files.createDirectories(dir.resolve("storage"));
                config = dir.resolve("config.yml");
                log = dir.resolve("registry.log");
                shutdownHook = ShutdownHook.register("registry-fixture-kill", this::killAndDelete);
                startProcess(0);
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot prepare the registry directory", e);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        startMillis = (System.nanoTime() - t0) / 1_000_000;
        LOG.info("registry started on {} in {} ms{}", host, startMillis,
                process != null ? " (docker-registry pid " + process.pid() + ")" : " (container)");
        return this;
    }

    /** Starts the child on {@code fixedPort}, or on a free port (retrying on a port race) when 0. */
    private void startProcess(int fixedPort) throws IOException {
        for (int attempt = 1; ; attempt++) {
            port = fixedPort != 0 ? fixedPort : EmbeddedSupport.freeLoopbackPort();
            Files.writeString(config, configYaml(), StandardCharsets.UTF_8);
            ProcessBuilder pb = new ProcessBuilder(REGISTRY_BIN, "serve", config.toString())
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            try {
                process = pb.start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot run '" + REGISTRY_BIN + "' (install it: apt-get install -y "
                        + "--no-install-recommends docker-registry skopeo)", e);
            }
            String failure = awaitReady();
            if (failure == null) {
                host = EmbeddedSupport.LOOPBACK + ":" + port;
                return;
            }
            stopProcess();
            boolean portRace = failure.contains("address already in use");
            if (!portRace || fixedPort != 0 || attempt >= START_ATTEMPTS) {
                throw new IllegalStateException("docker-registry did not start: " + failure);
            }
        }
    }

    /** Polls {@code GET /v2/} until 200; returns null when ready, else a reason with the log's tail. */
    private String awaitReady() {
        URI v2 = URI.create("http://" + EmbeddedSupport.LOOPBACK + ":" + port + "/v2/");
        HttpRequest req = HttpRequest.newBuilder(v2).timeout(Duration.ofSeconds(2)).GET().build();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                return "exited with code " + process.exitValue() + ": " + logTail();
            }
            try {
                HttpResponse<Void> r = http.send(req, HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return null;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
            sleep(15);
        }
        return "not ready after " + READY_TIMEOUT + ": " + logTail();
    }

    /** The configuration file's content for the current port and notification endpoints. */
    public synchronized String configYaml() {
        StringBuilder y = new StringBuilder();
        y.append("version: 0.1\n");
        y.append("log:\n  level: info\n  accesslog:\n    disabled: ").append(!accessLog).append('\n');
        y.append("storage:\n  filesystem:\n    rootdirectory: ").append(quote(storage.toString())).append('\n');
        y.append("  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\n");
        y.append("http:\n  addr: ").append(EmbeddedSupport.LOOPBACK).append(':').append(port).append('\n');
        y.append("  secret: local-test-secret\n  headers:\n    X-Content-Type-Options: [nosniff]\n");
        y.append("health:\n  storagedriver:\n    enabled: false\n");
        if (!notifications.isEmpty()) {
            y.append("notifications:\n  endpoints:\n");
            for (NotificationEndpoint n : notifications) {
                y.append("    - name: ").append(quote(n.name())).append('\n');
                y.append("      url: ").append(quote(n.url().toString())).append('\n');
                y.append("      timeout: ").append(n.timeout().toMillis()).append("ms\n");
                y.append("      threshold: ").append(n.threshold()).append('\n');
                y.append("      backoff: ").append(n.backoff().toMillis()).append("ms\n");
            }
        }
        return y.toString();
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** Restarts the child on the same port with the same storage, applying the current configuration. */
    public synchronized RegistryFixture restart() {
        requireProcess();
        stopProcess();
        host = null;
        try {
            startProcess(port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /**
     * Stops the registry, runs {@code docker-registry garbage-collect} on its storage (optionally with
     * {@code --delete-untagged}), and starts it again on the same port. Returns the tool's output.
     */
    public synchronized String garbageCollect(boolean deleteUntagged) {
        requireProcess();
        stopProcess();
        host = null;
        List<String> cmd = new ArrayList<>(List.of(REGISTRY_BIN, "garbage-collect"));
        if (deleteUntagged) {
            cmd.add("--delete-untagged");
        }
        cmd.add(config.toString());
        ExternalCommand.Result r = ExternalCommand.run(Duration.ofSeconds(60), cmd);
        try {
            startProcess(port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return r.orThrow().output();
    }

    @Override
    public synchronized boolean isStarted() {
        return host != null;
    }

    /** {@code 127.0.0.1:<port>} (the container's mapped address in container mode). */
    public synchronized String host() {
        if (host == null) {
            throw new IllegalStateException("RegistryFixture is not started");
        }
        return host;
    }

    /** {@code http://host:port}. */
    public URI baseUri() {
        return URI.create("http://" + host());
    }

    public synchronized int port() {
        host();
        return useContainer ? container.getMappedPort(5000) : port;
    }

    /** The child's process id, or -1 in container mode. */
    public synchronized long pid() {
        host();
        return process != null ? process.pid() : -1;
    }

    /** The registry's storage root (process mode). */
    public Path storageDir() {
        requireProcess();
        return storage;
    }

    /** The temp directory holding config.yml, registry.log and storage/ (process mode); deleted by close. */
    public Path directory() {
        requireProcess();
        return dir;
    }

    /** How long the last {@link #start()} took, in milliseconds. */
    public long startMillis() {
        return startMillis;
    }

    /** The registry's own log so far (process mode), for failure messages. */
    public synchronized String log() {
        try {
            return log != null && Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    private String logTail() {
        String s = log();
        return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
    }

    /** A plain-HTTP registry client for this registry. */
    public RegistryHttp http() {
        return new RegistryHttp(baseUri());
    }

    /**
     * Copies {@code oci:ociLayout:tag} (all platforms) to {@code docker://host/repoAndTag} with skopeo and
     * returns the digest of the pushed manifest or index.
     */
    public String seed(Path ociLayout, String tag, String repoAndTag) {
        return seed(ociLayout, tag, repoAndTag, Format.AS_IS);
    }

    /** Like {@link #seed(Path, String, String)}, optionally converting to Docker v2 schema 2. */
    public String seed(Path ociLayout, String tag, String repoAndTag, Format format) {
        Path digestFile = null;
        try {
            digestFile = Files.createTempFile("skopeo-digest-", ".txt");
            List<String> cmd = new ArrayList<>(List.of(SKOPEO_BIN, "--insecure-policy", "copy", "--quiet", "--all",
                    "--dest-tls-verify=false", "--digestfile", digestFile.toString()));
            if (format == Format.DOCKER_V2S2) {
                cmd.add("--format");
                cmd.add("v2s2");
            } else {
                cmd.add("--preserve-digests");
            }
            cmd.add("oci:" + ociLayout.toAbsolutePath() + ":" + tag);
            cmd.add("docker://" + host() + "/" + repoAndTag);
            ExternalCommand.run(SKOPEO_TIMEOUT, cmd).orThrow();
            return Files.readString(digestFile, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (digestFile != null) {
                try {
                    Files.deleteIfExists(digestFile);
                } catch (IOException ignored) {
                    // temp file
                }
            }
        }
    }

    /** Copies {@code docker://host/repoAndTag} (all platforms) into an OCI layout directory at {@code tag}. */
    public void copyToLayout(String repoAndTag, Path ociLayout, String tag) {
        ExternalCommand.run(SKOPEO_TIMEOUT, SKOPEO_BIN, "--insecure-policy", "copy", "--quiet", "--all",
                "--preserve-digests", "--src-tls-verify=false", "docker://" + host() + "/" + repoAndTag,
                "oci:" + ociLayout.toAbsolutePath() + ":" + tag).orThrow();
    }

    /** Runs skopeo with these arguments (after {@code --insecure-policy}); the caller checks the result. */
    public ExternalCommand.Result skopeo(String... args) {
        List<String> cmd = new ArrayList<>(List.of(SKOPEO_BIN, "--insecure-policy"));
        cmd.addAll(List.of(args));
        return ExternalCommand.run(SKOPEO_TIMEOUT, cmd);
    }

    private void requireProcess() {
        if (useContainer) {
            throw new UnsupportedOperationException("only in docker-registry process mode");
        }
        if (dir == null) {
            throw new IllegalStateException("RegistryFixture is not started");
        }
    }

    /** SIGTERM, then SIGKILL after 3 s; waits until the process is gone. */
    private void stopProcess() {
        Process p = process;
        process = null;
        if (p == null) {
            return;
        }
        try {
            p.destroy();
            if (!p.waitFor(3, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private void killAndDelete() {
        Process p = process;
        if (p != null) {
            p.destroyForcibly();
        }
        EmbeddedSupport.deleteQuietly(dir);
    }

    @Override
    public synchronized void close() {
        if (isShared()) {
            return; // stopped by shutdown hooks at JVM exit
        }
        host = null;
        stopProcess();
        if (dir != null) {
            EmbeddedSupport.deleteQuietly(dir);
            dir = null;
        }
        ShutdownHook hook = shutdownHook;
        shutdownHook = null;
        if (hook != null) {
            hook.cancel();
        }
        if (container != null) {
            container.stop();
            container = null;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

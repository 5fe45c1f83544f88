package dev.erofspipeline.embedded;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * A real Kafka broker in KRaft mode (combined broker + controller, node id 1) running inside this JVM.
 *
 * <p>It listens on 127.0.0.1 only, on free ports unless fixed ones are given, and keeps its log in a
 * directory of its own: a temporary one that {@link #close()} deletes, or a persistent data directory
 * (for the product's embedded default mode) that is formatted once and reused, together with the ports
 * it used the first time.
 *
 * <p>Settings are sized for one node and little memory: replication factors 1, a 4 MiB log-cleaner
 * dedupe buffer, no initial rebalance delay, few threads.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    /** Stores the cluster id and ports of a persistent data directory so that a restart reuses them. */
    static final String STATE_FILE = "embedded-kafka.properties";
    private static final int BIND_ATTEMPTS = 4;

    private final Path persistentDir;
    private final int requestedPort;
    private final int requestedControllerPort;
    private final Map<String, String> overrides;

    private Path dataDir;
    private boolean ownsDataDir;
    private int port;
    private int controllerPort;
    private KafkaRaftServer server;
    private final boolean stopAtExit;
    private ShutdownHook shutdownHook;
    private volatile boolean running;
    /** Stopped by {@link #stop()}: the next start reuses the directory and ports. */
    private boolean stoppedForRestart;

    /** A broker with a temporary log directory and free ports. */
    public EmbeddedKafka() {
        this(new Builder());
    }

    private EmbeddedKafka(Builder b) {
        this.persistentDir = b.dataDir;
        this.requestedPort = b.port;
        this.requestedControllerPort = b.controllerPort;
        this.overrides = new LinkedHashMap<>(b.overrides);
        this.stopAtExit = b.stopAtExit;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Formats the storage if needed and starts the broker; returns when it accepts clients. */
    public synchronized EmbeddedKafka start() {
        if (running) {
            return this;
        }
        long t0 = System.nanoTime();
        RuntimeException last = null;
        for (int attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
            try {
                startOnce();
                last = null;
                break;
            } catch (RuntimeException e) {
                last = e;
                cleanupAfterFailedStart();
                boolean portsChosenByUs = persistentDir == null && requestedPort == 0 && requestedControllerPort == 0
                        && !stoppedForRestart;
                if (!(portsChosenByUs && isBindFailure(e))) {
                    break;
                }
                LOG.warn("Kafka could not bind its ports (attempt {}), retrying on other ports", attempt);
            }
        }
        if (last != null) {
            throw last;
        }
        running = true;
        stoppedForRestart = false;
        if (stopAtExit && shutdownHook == null) { // a restart after stop() keeps the hook it had
            shutdownHook = ShutdownHook.register("embedded-kafka-shutdown", this::closeFromHook);
        }
        LOG.info("Kafka broker started on {} in {} ms (log dir {})", bootstrapServers(),
                (System.nanoTime() - t0) / 1_000_000, dataDir);
        return this;
    }

    private void startOnce() {
        try {
            if (dataDir != null && server == null) {
                // restarted after stop(): same directory, same ports (kept in the fields)
                Files.createDirectories(dataDir);
            } else if (persistentDir != null) {
                dataDir = persistentDir.toAbsolutePath();
                ownsDataDir = false;
                Files.createDirectories(dataDir);
            } else {
                dataDir = Files.createTempDirectory("erofs-kafka-");
                ownsDataDir = true;
            }
            Path logDir = dataDir.resolve("log");
            Files.createDirectories(logDir);
            Properties state = loadState();
            if (port == 0) {
                port = pick(requestedPort, state, "port");
                controllerPort = pick(requestedControllerPort, state, "controller.port");
                while (controllerPort == port) {
                    controllerPort = EmbeddedSupport.freeLoopbackPort();
                }
            }
            String clusterId = state.getProperty("cluster.id", Uuid.randomUuid().toString());

            Properties props = brokerProperties(logDir);
            Path cfg = dataDir.resolve("server.properties");
            try (OutputStream out = Files.newOutputStream(cfg)) {
                props.store(out, "written by EmbeddedKafka; regenerated at every start");
            }
            if (!Files.exists(logDir.resolve("meta.properties"))) {
                ByteArrayOutputStream toolOut = new ByteArrayOutputStream();
                int rc;
                try (PrintStream ps = new PrintStream(toolOut, true, StandardCharsets.UTF_8)) {
                    rc = StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", cfg.toString(),
                        "--standalone"}, ps);
                }
                if (rc != 0) {
                    throw new IllegalStateException("Kafka storage format failed (rc " + rc + "): "
                            + toolOut.toString(StandardCharsets.UTF_8));
                }
            }
            if (persistentDir != null) {
                Properties newState = new Properties();
                newState.setProperty("cluster.id", clusterId);
                newState.setProperty("port", Integer.toString(port));
                newState.setProperty("controller.port", Integer.toString(controllerPort));
                try (OutputStream out = Files.newOutputStream(dataDir.resolve(STATE_FILE))) {
                    newState.store(out, "EmbeddedKafka: the ports and cluster id this data directory was formatted with");
                }
            }
            server = new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM);
            server.startup();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the Kafka data directory " + dataDir, e);
        }
    }

    private Properties brokerProperties(Path logDir) {
        String listener = "PLAINTEXT://" + EmbeddedSupport.LOOPBACK + ":" + port;
        String controller = "CONTROLLER://" + EmbeddedSupport.LOOPBACK + ":" + controllerPort;
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.bootstrap.servers", EmbeddedSupport.LOOPBACK + ":" + controllerPort);
        p.setProperty("listeners", listener + "," + controller);
        p.setProperty("advertised.listeners", listener + "," + controller);
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("inter.broker.listener.name", "PLAINTEXT");
        p.setProperty("log.dirs", logDir.toString());
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "1");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("transaction.state.log.num.partitions", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("default.replication.factor", "1");
        p.setProperty("min.insync.replicas", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        p.setProperty("log.cleaner.dedupe.buffer.size", "4194304");
        p.setProperty("log.cleaner.threads", "1");
        p.setProperty("num.network.threads", "2");
        p.setProperty("num.io.threads", "2");
        p.setProperty("background.threads", "2");
        p.setProperty("num.partitions", "1");
        overrides.forEach(p::setProperty);
        return p;
    }

    private Properties loadState() throws IOException {
        Properties state = new Properties();
        if (persistentDir != null) {
            Path f = dataDir.resolve(STATE_FILE);
            if (Files.exists(f)) {
                try (InputStream in = Files.newInputStream(f)) {
                    state.load(in);
                }
            }
        }
        return state;
    }

    private static int pick(int requested, Properties state, String key) {
        if (requested > 0) {
            return requested;
        }
        String saved = state.getProperty(key);
        return saved != null ? Integer.parseInt(saved) : EmbeddedSupport.freeLoopbackPort();
    }

    private static boolean isBindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException) {
                return true;
            }
            String m = t.getMessage();
            if (m != null && (m.contains("Address already in use") || m.contains("failed to bind"))) {
                return true;
            }
        }
        return false;
    }

    private void cleanupAfterFailedStart() {
        stopServer();
        if (ownsDataDir && !stoppedForRestart) {
            EmbeddedSupport.deleteQuietly(dataDir);
            dataDir = null;
            port = 0;
            controllerPort = 0;
        }
    }

    private void stopServer() {
        KafkaRaftServer s = server;
        server = null;
        if (s != null) {
            try {
                s.shutdown();
                s.awaitShutdown();
            } catch (RuntimeException e) {
                LOG.warn("Kafka shutdown failed", e);
            }
        }
    }

    /** {@code 127.0.0.1:<port>}, for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        requireRunning();
        return EmbeddedSupport.LOOPBACK + ":" + port;
    }

    /** The PLAINTEXT port clients use. */
    public int port() {
        requireRunning();
        return port;
    }

    /** The directory holding {@code log/} and {@code server.properties}. */
    public Path dataDir() {
        requireRunning();
        return dataDir;
    }

    public boolean isRunning() {
        return running;
    }

    private void requireRunning() {
        if (!running) {
            throw new IllegalStateException("the embedded Kafka broker is not running");
        }
    }

    /**
     * Stops the broker but keeps its log directory and ports, so that {@link #start()} brings the same broker
     * back (a broker restart, as an operator's rolling restart or a crash-and-restart would do). Clients keep
     * their configured bootstrap address and reconnect. {@link #close()} still deletes a temporary directory.
     */
    public synchronized void stop() {
        if (!running) {
            return;
        }
        running = false;
        stoppedForRestart = true;
        long t0 = System.nanoTime();
        stopServer();
        LOG.info("Kafka broker stopped for a restart in {} ms (log dir {} kept)", (System.nanoTime() - t0) / 1_000_000,
                dataDir);
    }

    /** Stops the broker and deletes its directory unless it is a persistent one. Idempotent. */
    @Override
    public synchronized void close() {
        ShutdownHook hook = shutdownHook;
        shutdownHook = null;
        if (hook != null) {
            hook.cancel();
        }
        doClose();
    }

    private synchronized void closeFromHook() {
        shutdownHook = null;
        doClose();
    }

    private void doClose() {
        if (!running && server == null && !stoppedForRestart) {
            return;
        }
        running = false;
        stoppedForRestart = false;
        long t0 = System.nanoTime();
        stopServer();
        if (ownsDataDir) {
            EmbeddedSupport.deleteQuietly(dataDir);
        }
        LOG.info("Kafka broker stopped in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }

    /** Options; everything is optional. */
    public static final class Builder {
        private Path dataDir;
        private int port;
        private int controllerPort;
        private final Map<String, String> overrides = new LinkedHashMap<>();
        private boolean stopAtExit = true;

        private Builder() {
        }

        /**
         * A persistent data directory: formatted on first start, reused afterwards (with the ports stored
         * in it unless explicit ports are given), never deleted by {@link EmbeddedKafka#close()}.
         */
        public Builder dataDir(Path dir) {
            this.dataDir = Objects.requireNonNull(dir);
            return this;
        }

        /** Fixed client port on 127.0.0.1 (default: a free one). */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** Fixed controller port on 127.0.0.1 (default: a free one). */
        public Builder controllerPort(int port) {
            this.controllerPort = port;
            return this;
        }

        /** Any broker property, applied last (listeners and log.dirs are better left alone). */
        public Builder brokerProperty(String key, String value) {
            overrides.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
            return this;
        }

        /**
         * Leaves stopping it at JVM exit to the owner, which registers its own hook that stops the
         * server's clients first and the server last: with a hook of its own the server would stop
         * at the same time as they do (the JVM runs all hooks at once), and their last commits
         * and uploads would fail or hang until they time out.
         */
        public Builder stoppedByOwnerAtExit() {
            this.stopAtExit = false;
            return this;
        }

        public EmbeddedKafka build() {
            return new EmbeddedKafka(this);
        }

        /** {@code build().start()}. */
        public EmbeddedKafka start() {
            return build().start();
        }
    }
}

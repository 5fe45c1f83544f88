package dev.erofspipeline.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Properties;

import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An S3-compatible server (S3Proxy) inside this JVM, bound to 127.0.0.1 only.
 *
 * <p>Objects live either under a directory ({@code filesystem-nio2}: one sub-directory per bucket,
 * kept after {@link #close()}, for the product's embedded default mode) or in memory
 * ({@code transient-nio2}: gone after {@link #close()}, for tests). Requests are authenticated with
 * AWS signature v2 or v4 against the configured access key and secret.
 */
public final class EmbeddedS3 implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedS3.class);
    public static final String DEFAULT_ACCESS_KEY = "erofs-local";
    public static final String DEFAULT_SECRET_KEY = "erofs-local-secret";
    private static final int BIND_ATTEMPTS = 4;
    private static final long START_TIMEOUT_MS = 30_000;

    private final Path directory;
    private final String accessKey;
    private final String secretKey;
    private final int requestedPort;

    private S3Proxy proxy;
    private BlobStore blobStore;
    private int port;
    private final boolean stopAtExit;
    private ShutdownHook shutdownHook;
    private volatile boolean running;

    /** An in-memory server with the default credentials on a free port. */
    public EmbeddedS3() {
        this(new Builder());
    }

    private EmbeddedS3(Builder b) {
        this.directory = b.directory;
        this.accessKey = b.accessKey;
        this.secretKey = b.secretKey;
        this.requestedPort = b.port;
        this.stopAtExit = b.stopAtExit;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts the server and returns once it serves requests. */
    public synchronized EmbeddedS3 start() {
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
                stopQuietly();
                if (requestedPort != 0 || !isBindFailure(e)) {
                    break;
                }
                LOG.warn("S3Proxy could not bind its port (attempt {}), retrying on another port", attempt);
            }
        }
        if (last != null) {
            throw last;
        }
        running = true;
        if (stopAtExit) {
            shutdownHook = ShutdownHook.register("embedded-s3-shutdown", this::stopQuietly);
        }
        LOG.info("S3Proxy started on {} in {} ms ({})", endpoint(), (System.nanoTime() - t0) / 1_000_000,
                directory == null ? "in memory" : directory);
        return this;
    }

    private void startOnce() {
        port = requestedPort != 0 ? requestedPort : EmbeddedSupport.freeLoopbackPort();
        Properties p = new Properties();
        String provider;
        if (directory != null) {
            try {
                Files.createDirectories(directory);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the S3 directory " + directory, e);
            }
            provider = "filesystem-nio2";
            p.setProperty("jclouds.filesystem.basedir", directory.toAbsolutePath().toString());
        } else {
            provider = "transient-nio2";
        }
        // the property names still say "jclouds" in S3Proxy 4.x, which no longer uses jclouds
        p.setProperty("jclouds.provider", provider);
        p.setProperty("jclouds.identity", accessKey);
        p.setProperty("jclouds.credential", secretKey);
        p.setProperty("s3proxy.endpoint", "http://" + EmbeddedSupport.LOOPBACK + ":" + port);
        p.setProperty("s3proxy.authorization", "aws-v2-or-v4");
        p.setProperty("s3proxy.identity", accessKey);
        p.setProperty("s3proxy.credential", secretKey);
        try {
            blobStore = BlobStores.create(provider, p);
            proxy = S3Proxy.Builder.fromProperties(p).blobStore(blobStore).build();
            proxy.start();
            long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
            while (!"STARTED".equals(proxy.getState())) {
                if ("FAILED".equals(proxy.getState()) || System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("S3Proxy did not start: state " + proxy.getState());
                }
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting S3Proxy", e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy failed to start on port " + port + ": " + e, e);
        }
    }

    private static boolean isBindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException) {
                return true;
            }
            String m = t.getMessage();
            if (m != null && (m.contains("Address already in use") || m.contains("Failed to bind"))) {
                return true;
            }
        }
        return false;
    }

    /** {@code http://127.0.0.1:<port>}. */
    public URI endpoint() {
        requireRunning();
        return URI.create("http://" + EmbeddedSupport.LOOPBACK + ":" + port);
    }

    public int port() {
        requireRunning();
        return port;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /** The directory holding the buckets, or null when objects are kept in memory. */
    public Path directory() {
        return directory;
    }

    public boolean isRunning() {
        return running;
    }

    private void requireRunning() {
        if (!running) {
            throw new IllegalStateException("the embedded S3 server is not running");
        }
    }

    /** Stops the server (about 10 ms); in-memory objects are gone, a directory is kept. Idempotent. */
    @Override
    public synchronized void close() {
        ShutdownHook hook = shutdownHook;
        shutdownHook = null;
        if (hook != null) {
            hook.cancel();
        }
        stopQuietly();
    }

    private synchronized void stopQuietly() {
        running = false;
        S3Proxy p = proxy;
        proxy = null;
        if (p != null) {
            try {
                p.stop();
            } catch (Exception e) {
                LOG.warn("S3Proxy stop failed", e);
            }
        }
        BlobStore b = blobStore;
        blobStore = null;
        if (b != null) {
            try {
                b.close();
            } catch (Exception e) {
                LOG.warn("S3Proxy blob store close failed", e);
            }
        }
    }

    /** Options; everything is optional. */
    public static final class Builder {
        private Path directory;
        private String accessKey = DEFAULT_ACCESS_KEY;
        private String secretKey = DEFAULT_SECRET_KEY;
        private int port;
        private boolean stopAtExit = true;

        private Builder() {
        }

        /** Keep objects under this directory (filesystem-nio2) instead of in memory. */
        public Builder directory(Path dir) {
            this.directory = Objects.requireNonNull(dir);
            return this;
        }

        public Builder credentials(String accessKey, String secretKey) {
            this.accessKey = Objects.requireNonNull(accessKey);
            this.secretKey = Objects.requireNonNull(secretKey);
            return this;
        }

        /** Fixed port on 127.0.0.1 (default: a free one). */
        public Builder port(int port) {
            this.port = port;
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

        public EmbeddedS3 build() {
            return new EmbeddedS3(this);
        }

        /** {@code build().start()}. */
        public EmbeddedS3 start() {
            return build().start();
        }
    }
}

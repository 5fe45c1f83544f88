package dev.erofspipeline.testkit;

import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;

import org.testcontainers.containers.GenericContainer;

import dev.erofspipeline.embedded.EmbeddedS3;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;

/**
 * An S3 server for tests: {@link EmbeddedS3} (S3Proxy, in memory unless a directory is given) in this
 * JVM, or a MinIO container when {@code -Derofs.test.containers=true} (skipped without Docker).
 * It hands out a configured AWS SDK v2 {@link S3Client} (path-style, us-east-1, static credentials) and
 * a bucket that exists once the fixture is started.
 */
public final class S3Fixture extends Fixture<S3Fixture> {

    public static final String DEFAULT_BUCKET = "erofs-test";

    private final boolean useContainer;
    private final Path directory;
    private final String bucket;
    private EmbeddedS3 embedded;
    private GenericContainer<?> container;
    private URI endpoint;
    private String accessKey;
    private String secretKey;
    private S3Client client;

    private S3Fixture(boolean useContainer, Path directory, String bucket) {
        this.useContainer = useContainer;
        this.directory = directory;
        this.bucket = Objects.requireNonNull(bucket);
    }

    /** In-memory S3Proxy (or MinIO with {@code -Derofs.test.containers=true}), bucket {@value #DEFAULT_BUCKET}. */
    public static S3Fixture create() {
        return new S3Fixture(Containers.requested(), null, DEFAULT_BUCKET);
    }

    /** Like {@link #create()} with another bucket name. */
    public static S3Fixture withBucket(String bucket) {
        return new S3Fixture(Containers.requested(), null, bucket);
    }

    /** Always S3Proxy, keeping objects under this directory (filesystem-nio2); the directory is not deleted. */
    public static S3Fixture onDirectory(Path directory, String bucket) {
        return new S3Fixture(false, Objects.requireNonNull(directory), bucket);
    }

    /** Always a MinIO container (skipped without Docker). */
    public static S3Fixture container(String bucket) {
        return new S3Fixture(true, null, bucket);
    }

    private static S3Fixture sharedInstance;

    /**
     * The per-JVM shared instance (as {@link #create()}), started on first use, stopped at JVM exit; the
     * JUnit callbacks and {@link #close()} do not stop it. Use unique topic/bucket/repository names per test.
     */
    public static synchronized S3Fixture shared() {
        if (sharedInstance == null) {
            sharedInstance = create().markShared();
        }
        return sharedInstance;
    }

    @Override
    public synchronized S3Fixture start() {
        if (client != null) {
            return this;
        }
        try {
            if (useContainer) {
                GenericContainer<?> c = Containers.minio();
                container = c;
                c.start();
                endpoint = URI.create("http://" + Containers.hostAndPort(c, 9000));
                accessKey = Containers.MINIO_USER;
                secretKey = Containers.MINIO_PASSWORD;
            } else {
                EmbeddedS3.Builder b = EmbeddedS3.builder();
                if (directory != null) {
                    b.directory(directory);
                }
                embedded = b.start();
                endpoint = embedded.endpoint();
                accessKey = embedded.accessKey();
                secretKey = embedded.secretKey();
            }
            client = newClient();
            createBucket(bucket);
            return this;
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    @Override
    public synchronized boolean isStarted() {
        return client != null;
    }

    /** A new client for this server (the caller closes it); {@link #client()} is the shared one. */
    public S3Client newClient() {
        return S3Client.builder()
                .endpointOverride(endpoint())
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
                .build();
    }

    /** The shared client, closed with the fixture. */
    public synchronized S3Client client() {
        if (client == null) {
            throw new IllegalStateException("S3Fixture is not started");
        }
        return client;
    }

    /** Creates a bucket unless this owner already has it. */
    public void createBucket(String name) {
        try {
            client().createBucket(b -> b.bucket(name));
        } catch (BucketAlreadyOwnedByYouException e) {
            // fine: persistent directory or a second call
        }
    }

    /** The bucket created at start. */
    public String bucket() {
        return bucket;
    }

    public synchronized URI endpoint() {
        if (endpoint == null) {
            throw new IllegalStateException("S3Fixture is not started");
        }
        return endpoint;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /**
     * Stops the server of an {@link #onDirectory} fixture, keeping its directory and port, to simulate an S3
     * outage; {@link #startServer()} brings it back with every object and upload it had.
     */
    public synchronized void stopServer() {
        requireRestartable();
        embedded.close();
    }

    /** Starts the server stopped by {@link #stopServer()} again, on the same port and directory. */
    public synchronized void startServer() {
        requireRestartable();
        embedded = EmbeddedS3.builder().directory(directory).credentials(accessKey, secretKey).port(endpoint.getPort())
                .start();
    }

    private void requireRestartable() {
        if (embedded == null || directory == null) {
            throw new IllegalStateException("only a started S3Fixture.onDirectory can be stopped and started again");
        }
    }

    /** The in-process server, or null when a container is used. */
    public EmbeddedS3 embeddedS3() {
        return embedded;
    }

    @Override
    public synchronized void close() {
        if (isShared()) {
            return; // stopped by shutdown hooks at JVM exit
        }
        if (client != null) {
            try {
                client.close();
            } catch (RuntimeException e) {
                // nothing left to free
            }
            client = null;
        }
        endpoint = null;
        if (embedded != null) {
            embedded.close();
            embedded = null;
        }
        if (container != null) {
            container.stop();
            container = null;
        }
    }
}

package dev.erofspipeline.testkit;

import java.time.Duration;

import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Testcontainers variants of the test kit's components, for machines that have a Docker engine.
 *
 * <p>The fixtures use them instead of the in-process / child-process components when the system property
 * {@value #PROPERTY} is {@code true}. Where no Docker engine answers, {@link #assumeDocker()} aborts the
 * test (JUnit reports it skipped) instead of failing or waiting. Image names can be overridden with the
 * system properties {@code erofs.test.image.kafka}, {@code erofs.test.image.minio} and
 * {@code erofs.test.image.registry}.
 */
public final class Containers {

    /** {@code -Derofs.test.containers=true} selects the container variants in the fixtures. */
    public static final String PROPERTY = "erofs.test.containers";
    public static final String KAFKA_IMAGE = System.getProperty("erofs.test.image.kafka", "apache/kafka:4.1.0"); // broker 4.x; clients 4.3.1 speak to it over the wire
    public static final String MINIO_IMAGE = System.getProperty("erofs.test.image.minio", "minio/minio:RELEASE.2023-09-04T19-57-37Z");
    public static final String REGISTRY_IMAGE = System.getProperty("erofs.test.image.registry", "registry:2");
    public static final String MINIO_USER = "erofs-minio";
    public static final String MINIO_PASSWORD = "erofs-minio-secret";

    private static Boolean dockerAvailable;

    private Containers() {
    }

    /** Whether the fixtures should use containers ({@code -Derofs.test.containers=true}). */
    public static boolean requested() {
        return Boolean.getBoolean(PROPERTY);
    }

    /**
     * Whether a Docker engine answers; asked once per JVM. When nothing hints at a Docker engine (no
     * DOCKER_HOST, no known socket, no ~/.testcontainers.properties) the answer is "no" at once, without
     * Testcontainers' probe and the ERROR it logs.
     */
    public static synchronized boolean dockerAvailable() {
        if (dockerAvailable == null) {
            boolean ok = false;
            if (dockerHinted()) {
                try {
                    ok = DockerClientFactory.instance().isDockerAvailable();
                } catch (Throwable t) { // NOSONAR: any failure of the probe means "no Docker"
                    ok = false;
                }
            }
            dockerAvailable = ok;
        }
        return dockerAvailable;
    }

    private static boolean dockerHinted() {
        if (System.getenv("DOCKER_HOST") != null || System.getenv("TESTCONTAINERS_HOST_OVERRIDE") != null
                || System.getenv("TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE") != null) {
            return true;
        }
        String home = System.getProperty("user.home", "/nonexistent");
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        java.util.List<java.nio.file.Path> candidates = new java.util.ArrayList<>(java.util.List.of(
                java.nio.file.Path.of("/var/run/docker.sock"),
                java.nio.file.Path.of("/run/docker.sock"),
                java.nio.file.Path.of(home, ".docker", "run", "docker.sock"),
                java.nio.file.Path.of(home, ".docker", "desktop", "docker.sock"),
                java.nio.file.Path.of(home, ".colima"),
                java.nio.file.Path.of(home, ".rd", "docker.sock"),
                java.nio.file.Path.of(home, ".testcontainers.properties")));
        if (runtime != null) {
            candidates.add(java.nio.file.Path.of(runtime, "docker.sock"));
        }
        return candidates.stream().anyMatch(java.nio.file.Files::exists);
    }

    /** Aborts (skips) the current test or class when no Docker engine is available. */
    public static void assumeDocker() {
        Assumptions.assumeTrue(dockerAvailable(), "no Docker engine: container variant skipped");
    }

    /** An apache/kafka (KRaft) container; not started. */
    public static KafkaContainer kafka() {
        assumeDocker();
        return new KafkaContainer(DockerImageName.parse(KAFKA_IMAGE));
    }

    /** A MinIO server container with {@link #MINIO_USER}/{@link #MINIO_PASSWORD}; S3 on port 9000. Not started. */
    @SuppressWarnings("resource")
    public static GenericContainer<?> minio() {
        assumeDocker();
        return new GenericContainer<>(DockerImageName.parse(MINIO_IMAGE))
                .withEnv("MINIO_ROOT_USER", MINIO_USER)
                .withEnv("MINIO_ROOT_PASSWORD", MINIO_PASSWORD)
                .withCommand("server", "/data")
                .withExposedPorts(9000)
                .waitingFor(Wait.forHttp("/minio/health/live").forPort(9000).withStartupTimeout(Duration.ofSeconds(60)));
    }

    /** A {@code registry:2} (distribution) container with deletes enabled; HTTP on port 5000. Not started. */
    @SuppressWarnings("resource")
    public static GenericContainer<?> registry() {
        assumeDocker();
        return new GenericContainer<>(DockerImageName.parse(REGISTRY_IMAGE))
                .withEnv("REGISTRY_STORAGE_DELETE_ENABLED", "true")
                .withExposedPorts(5000)
                .waitingFor(Wait.forHttp("/v2/").forPort(5000).withStartupTimeout(Duration.ofSeconds(60)));
    }

    /** {@code host:port} of a started container's port, as seen from this JVM. */
    public static String hostAndPort(GenericContainer<?> c, int containerPort) {
        return c.getHost() + ":" + c.getMappedPort(containerPort);
    }
}

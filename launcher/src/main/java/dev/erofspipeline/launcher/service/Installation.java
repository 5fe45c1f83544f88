package dev.erofspipeline.launcher.service;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.launcher.config.ConfigKey;
import dev.erofspipeline.launcher.config.Configuration;
import dev.erofspipeline.registry.DockerConfig;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.Topics;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * What every command derives from the {@link Configuration}: topic names, the Kafka bootstrap, the
 * S3 client, the registry options. Every value is checked here, before anything starts, and a bad
 * one is an {@link IllegalArgumentException} whose message names the key.
 */
public final class Installation {
  private final Configuration config;
  private final Topics topics;

  public Installation(Configuration config) {
    this.config = config;
    try {
      this.topics = Topics.withPrefix(config.get(ConfigKey.KAFKA_TOPIC_PREFIX));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(ConfigKey.KAFKA_TOPIC_PREFIX.key() + ": " + e.getMessage(), e);
    }
  }

  public Configuration config() {
    return config;
  }

  public Topics topics() {
    return topics;
  }

  /** Consumer groups carry the topic prefix, so two installations can share a cluster. */
  public String group(String base) {
    return topics.prefix() + base;
  }

  /** The configured bootstrap servers, or an error naming the key when none are configured. */
  public String kafkaBootstrap(String why) {
    return config
        .optional(ConfigKey.KAFKA_BOOTSTRAP)
        .orElseThrow(() -> new IllegalArgumentException(ConfigKey.KAFKA_BOOTSTRAP.key() + " is empty: " + why));
  }

  public int positiveInt(ConfigKey key, int min) {
    int v = config.getInt(key);
    if (v < min) {
      throw new IllegalArgumentException(key.key() + " must be at least " + min + ", got " + v);
    }
    return v;
  }

  public double nonNegativeDouble(ConfigKey key) {
    String s = config.get(key);
    try {
      double d = Double.parseDouble(s);
      if (d < 0 || Double.isNaN(d) || Double.isInfinite(d)) {
        throw new NumberFormatException();
      }
      return d;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key.key() + " must be a number >= 0, got '" + s + "'", e);
    }
  }

  /** {@code worker.concurrency}, 0 meaning the number of cores. */
  public int workerConcurrency() {
    int n = positiveInt(ConfigKey.WORKER_CONCURRENCY, 0);
    return n == 0 ? Runtime.getRuntime().availableProcessors() : n;
  }

  /**
   * {@code worker.tempDir} (empty: {@code java.io.tmpdir}), created if missing and checked by writing a file into it,
   * so a worker whose native conversions could not spool refuses to start instead of failing every job.
   */
  public Path workerTempDir() {
    String configured = config.get(ConfigKey.WORKER_TEMP_DIR);
    Path dir = Path.of(configured.isBlank() ? System.getProperty("java.io.tmpdir") : configured).toAbsolutePath();
    String key = ConfigKey.WORKER_TEMP_DIR.key();
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new IllegalArgumentException(key + ": cannot create the directory " + dir + " (" + e + ")", e);
    }
    try {
      Files.delete(Files.createTempFile(dir, "erofs-write-check-", ".tmp"));
    } catch (IOException e) {
      throw new IllegalArgumentException(key + ": the directory " + dir + " is not writable (" + e + ")", e);
    }
    return dir;
  }

  /** The {@code convert.*} limits a worker (and {@code convert-layer}) refuses hostile layers with. */
  public ConversionLimits conversionLimits() {
    return new ConversionLimits(
        positiveLong(ConfigKey.CONVERT_MAX_ENTRIES),
        (int) Math.min(Integer.MAX_VALUE, positiveLong(ConfigKey.CONVERT_MAX_DEPTH)),
        positiveLong(ConfigKey.CONVERT_MAX_UNCOMPRESSED_BYTES),
        (int) Math.min(Integer.MAX_VALUE - 8, positiveLong(ConfigKey.CONVERT_MAX_EXTENSION_RECORD_BYTES)),
        positiveLong(ConfigKey.CONVERT_MAX_LAYER_BYTES));
  }

  private long positiveLong(ConfigKey key) {
    long v = config.getLong(key);
    if (v < 1) {
      throw new IllegalArgumentException(key.key() + " must be at least 1, got " + v);
    }
    return v;
  }

  /** Registry options: docker config.json credentials, plain-HTTP hosts, allowlist. */
  public RegistryOptions registryOptions() {
    RegistryOptions.Builder b = RegistryOptions.builder();
    Optional<String> file = config.optional(ConfigKey.REGISTRY_CONFIG);
    try {
      if (file.isPresent()) {
        Path p = Path.of(file.get());
        if (!Files.isRegularFile(p)) {
          throw new IllegalArgumentException(ConfigKey.REGISTRY_CONFIG.key() + ": no such file " + p);
        }
        b.dockerConfig(DockerConfig.load(p));
      } else {
        b.dockerConfig(DockerConfig.loadDefault());
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(
          ConfigKey.REGISTRY_CONFIG.key() + ": cannot read docker config (" + e.getMessage() + ")", e);
    }
    b.insecureHosts(config.getList(ConfigKey.REGISTRY_INSECURE));
    b.allowedHosts(config.getList(ConfigKey.REGISTRY_ALLOWLIST));
    b.userAgent("erofs-pipeline");
    return b.build();
  }

  /** True when {@code s3.endpoint} is empty (the embedded S3 server would be started). */
  public boolean s3Embedded() {
    return config.optional(ConfigKey.S3_ENDPOINT).isEmpty();
  }

  /**
   * An S3 client for {@code s3.endpoint} (or AWS when the endpoint is the default of the region),
   * with credentials from the key files, or the AWS default chain when none are configured.
   */
  public S3Client s3Client(URI endpoint, AwsCredentialsProvider credentials) {
    S3ClientBuilder b = S3Client.builder();
    String region = config.get(ConfigKey.S3_REGION);
    if (region.isBlank()) {
      throw new IllegalArgumentException(ConfigKey.S3_REGION.key() + " must not be empty");
    }
    b.region(Region.of(region));
    b.forcePathStyle(config.getBoolean(ConfigKey.S3_PATH_STYLE));
    if (endpoint != null) {
      b.endpointOverride(endpoint);
    }
    b.credentialsProvider(credentials);
    return b.build();
  }

  /** The client of the configured external S3 endpoint. */
  public S3Client s3Client() {
    String e = config.optional(ConfigKey.S3_ENDPOINT).orElse(null);
    URI endpoint = null;
    if (e != null) {
      try {
        endpoint = new URI(e);
      } catch (URISyntaxException ex) {
        throw new IllegalArgumentException(ConfigKey.S3_ENDPOINT.key() + " is not a URL: '" + e + "'", ex);
      }
      if (endpoint.getScheme() == null || endpoint.getHost() == null
          || !(endpoint.getScheme().equals("http") || endpoint.getScheme().equals("https"))) {
        throw new IllegalArgumentException(ConfigKey.S3_ENDPOINT.key() + " must be an http(s) URL, got '" + e + "'");
      }
    }
    return s3Client(endpoint, s3Credentials());
  }

  /** Static credentials from the key files, or the AWS default chain. */
  public AwsCredentialsProvider s3Credentials() {
    Optional<String> access = config.secretFromFile(ConfigKey.S3_ACCESS_KEY_FILE);
    Optional<String> secret = config.secretFromFile(ConfigKey.S3_SECRET_KEY_FILE);
    if (access.isPresent() != secret.isPresent()) {
      throw new IllegalArgumentException(ConfigKey.S3_ACCESS_KEY_FILE.key() + " and " + ConfigKey.S3_SECRET_KEY_FILE.key()
          + " must be set together");
    }
    if (access.isPresent()) {
      return StaticCredentialsProvider.create(AwsBasicCredentials.create(access.get(), secret.get()));
    }
    return DefaultCredentialsProvider.builder().build();
  }

  public String bucket() {
    return config.optional(ConfigKey.S3_BUCKET)
        .orElseThrow(() -> new IllegalArgumentException(ConfigKey.S3_BUCKET.key() + " must not be empty"));
  }

  public String s3Prefix() {
    return config.get(ConfigKey.S3_PREFIX);
  }

  /** Admin client settings for {@code bootstrap}. */
  public static Map<String, Object> adminConfig(String bootstrap, String clientId) {
    return Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.CLIENT_ID_CONFIG, clientId,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
  }

  /**
   * Creates every topic of {@link Topics#ALL} that does not exist: {@code kafka.topicPartitions}
   * partitions, {@code erofs.status} compacted. Existing topics are left as they are.
   *
   * @return the names created
   */
  public List<String> createMissingTopics(Admin admin)
      throws InterruptedException, ExecutionException, TimeoutException {
    int partitions = positiveInt(ConfigKey.KAFKA_TOPIC_PARTITIONS, 1);
    int rf = positiveInt(ConfigKey.KAFKA_REPLICATION_FACTOR, 0);
    java.util.Set<String> existing =
        admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().timeoutMs(15_000)).names()
            .get(30, TimeUnit.SECONDS);
    List<NewTopic> missing = new ArrayList<>();
    for (String name : topics.all()) {
      if (existing.contains(name)) {
        continue;
      }
      NewTopic t = new NewTopic(name, Optional.of(partitions), rf == 0 ? Optional.empty() : Optional.of((short) rf));
      if (name.equals(topics.status())) {
        t.configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
      }
      missing.add(t);
    }
    List<String> created = new ArrayList<>();
    if (missing.isEmpty()) {
      return created;
    }
    var result = admin.createTopics(missing);
    for (NewTopic t : missing) {
      try {
        result.values().get(t.name()).get(30, TimeUnit.SECONDS);
        created.add(t.name());
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw e; // another instance creating it at the same time is fine; anything else is not
        }
      }
    }
    return created;
  }
}

package dev.erofspipeline.launcher.config;

/**
 * Every configuration key the pipeline reads, with its default: the one place they are documented.
 * A key {@code a.b} is read from the configuration file, overridden by the environment variable
 * {@code EROFS_A_B}, overridden by a command-line option where one exists. Keys ending in {@code
 * File} name a file holding a secret, so the secret itself never sits in a file of settings, an
 * environment listing or a process table.
 */
public enum ConfigKey {
  KAFKA_BOOTSTRAP("kafka.bootstrap", "", "Kafka bootstrap servers; empty: start an embedded broker"),
  KAFKA_TOPIC_PREFIX("kafka.topicPrefix", "", "Prefix of every topic name"),
  KAFKA_DATA_DIR("kafka.dataDir", ".erofs-pipeline/kafka", "Log directory of the embedded broker"),
  S3_ENDPOINT("s3.endpoint", "", "S3 endpoint URL; empty: start an embedded S3Proxy"),
  S3_REGION("s3.region", "us-east-1", "S3 region"),
  S3_BUCKET("s3.bucket", "erofs-pipeline", "Bucket for staged artifacts"),
  S3_PREFIX("s3.prefix", "", "Key prefix inside the bucket"),
  S3_PATH_STYLE("s3.pathStyle", "true", "Path-style addressing (needed by most S3-compatible servers)"),
  S3_ACCESS_KEY_FILE("s3.accessKeyFile", "", "File with the access key id; empty: the AWS default credentials chain"),
  S3_SECRET_KEY_FILE("s3.secretKeyFile", "", "File with the secret access key"),
  S3_DATA_DIR("s3.dataDir", ".erofs-pipeline/s3", "Data directory of the embedded S3 server"),
  REGISTRY_CONFIG("registry.config", "", "Docker config.json with registry credentials; empty: ~/.docker/config.json if present"),
  REGISTRY_INSECURE("registry.insecure", "", "Comma-separated host:port list reached over plain HTTP (loopback test registries only)"),
  REGISTRY_ALLOWLIST("registry.allowlist", "", "Comma-separated registry hosts the pipeline may contact; empty: any host named in a request"),
  WORKER_CONCURRENCY("worker.concurrency", "0", "Layers in flight per worker process; 0: the number of cores"),
  PROFILE("profile", "all", "Attachment profile: image-bundle, layer or all"),
  SIGNING_KEY_FILE("signing.keyFile", "", "PEM private key (PKCS#8 or PKCS#1) or PKCS#12 file used to sign root hashes"),
  SIGNING_CERT_FILE("signing.certFile", "", "PEM certificate chain of the signing key"),
  SIGNING_PASSWORD_FILE("signing.passwordFile", "", "File with the password of the signing key, if it has one"),
  HTTP_PORT("http.port", "9400", "Port of the metrics, health and status endpoint; 0: none");

  private final String key;
  private final String defaultValue;
  private final String description;

  ConfigKey(String key, String defaultValue, String description) {
    this.key = key;
    this.defaultValue = defaultValue;
    this.description = description;
  }

  public String key() {
    return key;
  }

  public String defaultValue() {
    return defaultValue;
  }

  public String description() {
    return description;
  }

  /** {@code s3.secretKeyFile} → {@code EROFS_S3_SECRET_KEY_FILE}. */
  public String environmentVariable() {
    return "EROFS_" + key.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase(java.util.Locale.ROOT);
  }

  /** The key named {@code key}, or an exception naming the known keys. */
  public static ConfigKey byKey(String key) {
    for (ConfigKey k : values()) {
      if (k.key.equals(key)) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown configuration key '" + key + "'");
  }
}

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
  KAFKA_CREATE_TOPICS("kafka.createTopics", "true", "Create missing topics at start (erofs.status compacted); false: they must exist"),
  KAFKA_TOPIC_PARTITIONS("kafka.topicPartitions", "12", "Partitions of topics created at start; bounds the worker consumers of erofs.layer-jobs"),
  KAFKA_REPLICATION_FACTOR("kafka.replicationFactor", "0", "Replication factor of topics created at start; 0: the broker's default"),
  S3_ENDPOINT("s3.endpoint", "", "S3 endpoint URL; empty: start an embedded S3Proxy"),
  S3_REGION("s3.region", "us-east-1", "S3 region"),
  S3_BUCKET("s3.bucket", "erofs-pipeline", "Bucket for staged artifacts"),
  S3_PREFIX("s3.prefix", "", "Key prefix inside the bucket"),
  S3_CREATE_BUCKET("s3.createBucket", "false", "Create the bucket at start when it does not exist (first start of a fresh installation)"),
  S3_PATH_STYLE("s3.pathStyle", "true", "Path-style addressing (needed by most S3-compatible servers)"),
  S3_ACCESS_KEY_FILE("s3.accessKeyFile", "", "File with the access key id; empty: the AWS default credentials chain"),
  S3_SECRET_KEY_FILE("s3.secretKeyFile", "", "File with the secret access key"),
  S3_DATA_DIR("s3.dataDir", ".erofs-pipeline/s3", "Data directory of the embedded S3 server"),
  REGISTRY_CONFIG("registry.config", "", "Docker config.json with registry credentials; empty: ~/.docker/config.json if present"),
  REGISTRY_INSECURE("registry.insecure", "", "Comma-separated host:port list reached over plain HTTP (loopback test registries only)"),
  REGISTRY_ALLOWLIST("registry.allowlist", "", "Comma-separated registry hosts the services may contact (host, host:port, *.domain, * for any; oci: for OCI layouts); run refuses to start without it; convert adds the hosts of its references"),
  INGEST_WEBHOOK_PORT("ingest.webhookPort", "0", "Port of the registry webhook endpoint of role ingest (bound to http.bind); 0: none"),
  INGEST_WEBHOOK_SECRET_FILE("ingest.webhookSecretFile", "", "File with the webhook's shared secret (at least 16 characters); required with a webhook port"),
  INGEST_REGISTRY_RATE("ingest.registryRate", "20", "Requests a second to each registry host while resolving images; 0: unlimited"),
  WORKER_CONCURRENCY("worker.concurrency", "0", "Layers in flight per worker process; 0: the number of cores"),
  WORKER_SHUTDOWN_GRACE_SECONDS("worker.shutdownGraceSeconds", "120", "On SIGTERM, how long layers in flight may finish before they are abandoned to another worker"),
  WORKER_MAX_POLL_INTERVAL_SECONDS("worker.maxPollIntervalSeconds", "1800", "How long a rebalance waits for the layers in flight of the partitions that move before the group hands them to another worker; must exceed the slowest layer"),
  WORKER_SESSION_TIMEOUT_SECONDS("worker.sessionTimeoutSeconds", "45", "How long a worker that stopped heartbeating (killed, hung host) keeps its partitions before the group gives them to another worker; 6 to 1800 (the broker's default bounds)"),
  WORKER_TEMP_DIR("worker.tempDir", "", "Directory of a worker's temporary files: the native profile's spooled tar (one uncompressed layer per native conversion in flight) and verity tree levels spilled from the heap; created if missing, must be writable; empty: java.io.tmpdir"),
  CONVERT_MAX_LAYER_BYTES("convert.maxLayerBytes", "34359738368", "Largest layer blob (as stored, compressed) a worker or convert-layer reads; a larger one is refused (limit.layer-bytes)"),
  CONVERT_MAX_UNCOMPRESSED_BYTES("convert.maxUncompressedBytes", "68719476736", "Largest uncompressed tar of one layer; bounds decompression bombs (limit.uncompressed-bytes)"),
  CONVERT_MAX_ENTRIES("convert.maxEntries", "5000000", "Most tar headers in one layer; bounds the file tree held in memory (limit.entries)"),
  CONVERT_MAX_DEPTH("convert.maxDepth", "1024", "Most path components of one tar entry (limit.depth)"),
  CONVERT_MAX_EXTENSION_RECORD_BYTES("convert.maxExtensionRecordBytes", "1048576", "Largest PAX header or GNU long name/link record (limit.extension-record)"),
  PROFILE("profile", "all", "Attachment profile: image-bundle, layer or all"),
  NATIVE_ENABLED("native.enabled", "false", "Also convert every layer to a native EROFS layer and publish each image as an EROFS image: an index listing the legacy manifests, then their EROFS twins (os.features erofs)"),
  NATIVE_UPDATE_TAG("native.updateTag", "false", "Write the EROFS image index under the requested tag itself; false: under <tag>-erofs (sha256-<hex>.erofs for a reference without a tag)"),
  SIGNING_KEY_FILE("signing.keyFile", "", "PEM private key (PKCS#8 or PKCS#1) or PKCS#12 file used to sign root hashes"),
  SIGNING_CERT_FILE("signing.certFile", "", "PEM certificate chain of the signing key"),
  SIGNING_PASSWORD_FILE("signing.passwordFile", "", "File with the password of the signing key, if it has one"),
  SIGNING_CA_FILE("signing.caFile", "", "PEM CA bundle the publisher checks each signature against before publishing; empty: the last certificate of signing.certFile"),
  PUBLISH_RETRY_SECONDS("publish.retrySeconds", "30", "How often the publisher looks again at the images it knows need it: a transient failure, a requeue not yet consumed, external signatures awaited (images waiting for layers are completed by their layer results)"),
  PUBLISH_RESCAN_SECONDS("publish.rescanSeconds", "600", "How often the publisher lists every pending image record in S3 (also once at start), reading only new or changed ones: finds the images of a publisher that stopped and those beyond publish.maxWaitingImages"),
  PUBLISH_MAX_WAITING_IMAGES("publish.maxWaitingImages", "20000", "Most waiting images a publisher indexes in memory (a few KB each); beyond that an image is found by the next rescan instead of its last layer result"),
  PUBLISH_SESSION_TIMEOUT_SECONDS("publish.sessionTimeoutSeconds", "45", "How long a publisher that stopped heartbeating (killed) keeps its partitions before the group gives them to another publisher (or to itself restarted); 6 to 1800"),
  HTTP_PORT("http.port", "9400", "Port of the metrics, health and status endpoint; 0: none"),
  HTTP_BIND("http.bind", "0.0.0.0", "Address the metrics, health and webhook endpoints listen on"),
  METRICS_LAG_INTERVAL_SECONDS("metrics.lagIntervalSeconds", "10", "Consumer lag is read from Kafka at most this often (on a scrape of /metrics)");

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

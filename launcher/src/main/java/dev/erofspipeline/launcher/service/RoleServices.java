package dev.erofspipeline.launcher.service;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.worker.ConvertWorker;
import dev.erofspipeline.convert.worker.RetryPolicy;
import dev.erofspipeline.embedded.EmbeddedKafka;
import dev.erofspipeline.embedded.EmbeddedS3;
import dev.erofspipeline.embedded.ShutdownHook;
import dev.erofspipeline.ingest.IngestApplication;
import dev.erofspipeline.ingest.IngestConfig;
import dev.erofspipeline.launcher.config.ConfigKey;
import dev.erofspipeline.launcher.ops.ConsumerLag;
import dev.erofspipeline.launcher.ops.OpsServer;
import dev.erofspipeline.launcher.status.StatusTopic;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ConversionProfile;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The long-running services of one role, started from an {@link Installation}: topics created,
 * the ops endpoint (metrics, health, consumer lag), ingest (route + webhook) and/or the worker.
 * {@link #close()} (also run at JVM exit, e.g. on SIGTERM) stops them in reverse order, the embedded
 * Kafka and S3 servers last; the worker gets {@code worker.shutdownGraceSeconds} to finish the
 * layers in flight.
 */
public final class RoleServices implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RoleServices.class);
  public static final String INGEST_GROUP = IngestConfig.DEFAULT_GROUP;
  public static final String WORKER_GROUP = "erofs-worker";
  public static final String PUBLISH_GROUP = "erofs-publish";
  private static final int PART_SIZE = 8 << 20;

  private final Role role;
  private final Installation inst;
  private final String converterVersion;
  private final Deque<Named> toClose = new ArrayDeque<>();
  /** Ingest, worker and publisher: independent consumers, stopped at the same time. */
  private final List<Named> stages = new CopyOnWriteArrayList<>();
  private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private ShutdownHook exitHook;
  private volatile boolean started;
  private volatile boolean closed;
  private Admin admin;
  private ConsumerLag lag;
  private OpsServer ops;
  private StatusTopic statusView;
  private IngestApplication ingest;
  private volatile ConvertWorker worker;
  private String bootstrap;
  private S3Client s3;
  private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
  private boolean createBucket;
  private volatile long kafkaCheckedAt;
  private volatile boolean kafkaReachable;

  private RoleServices(Installation inst, Role role, String converterVersion) {
    this.inst = inst;
    this.role = role;
    this.converterVersion = converterVersion;
  }

  /**
   * Checks the configuration, then starts everything; on any failure what was started is stopped
   * again and the exception (naming the key where a value is at fault) is thrown.
   */
  public static RoleServices start(Installation inst, Role role, String converterVersion) throws Exception {
    RoleServices s = new RoleServices(inst, role, converterVersion);
    // one hook for everything, so that at exit the services stop before the embedded servers they use
    s.exitHook = ShutdownHook.register("erofs-shutdown", s::close);
    try {
      s.startAll();
      return s;
    } catch (Exception | Error e) {
      s.close();
      throw e;
    }
  }

  private void startAll() throws Exception {
    // Every value is checked before anything starts.
    int httpPort = inst.positiveInt(ConfigKey.HTTP_PORT, 0);
    String bind = inst.config().get(ConfigKey.HTTP_BIND);
    if (bind.isBlank()) {
      throw new IllegalArgumentException(ConfigKey.HTTP_BIND.key() + " must not be empty");
    }
    int lagInterval = inst.positiveInt(ConfigKey.METRICS_LAG_INTERVAL_SECONDS, 0);
    RegistryOptions registryOptions = inst.registryOptions();
    inst.positiveInt(ConfigKey.KAFKA_TOPIC_PARTITIONS, 1);
    inst.positiveInt(ConfigKey.KAFKA_REPLICATION_FACTOR, 0);
    boolean createTopics = inst.config().getBoolean(ConfigKey.KAFKA_CREATE_TOPICS);
    int webhookPort = role.includes(Role.INGEST) ? inst.positiveInt(ConfigKey.INGEST_WEBHOOK_PORT, 0) : 0;
    String webhookSecret = null;
    if (webhookPort > 0) {
      webhookSecret = inst.config().secretFromFile(ConfigKey.INGEST_WEBHOOK_SECRET_FILE)
          .orElseThrow(() -> new IllegalArgumentException(ConfigKey.INGEST_WEBHOOK_SECRET_FILE.key()
              + " is empty but " + ConfigKey.INGEST_WEBHOOK_PORT.key() + " is set: the webhook needs a shared secret"));
      if (webhookSecret.length() < 16) {
        throw new IllegalArgumentException(ConfigKey.INGEST_WEBHOOK_SECRET_FILE.key()
            + ": the secret must have at least 16 characters");
      }
    }
    double registryRate = inst.nonNegativeDouble(ConfigKey.INGEST_REGISTRY_RATE);
    int concurrency = role.includes(Role.WORKER) ? inst.workerConcurrency() : 0;
    ConversionLimits limits = role.includes(Role.WORKER) ? inst.conversionLimits() : null;
    Duration grace = Duration.ofSeconds(inst.positiveInt(ConfigKey.WORKER_SHUTDOWN_GRACE_SECONDS, 0));
    Duration maxPoll = Duration.ofSeconds(inst.positiveInt(ConfigKey.WORKER_MAX_POLL_INTERVAL_SECONDS, 10));
    Duration sessionTimeout = Duration.ofSeconds(inst.positiveInt(ConfigKey.WORKER_SESSION_TIMEOUT_SECONDS, 6));
    Path tempDir = role.includes(Role.WORKER) ? inst.workerTempDir() : null;
    String bucket = inst.bucket();
    createBucket = inst.config().getBoolean(ConfigKey.S3_CREATE_BUCKET);
    Publishing publishing = role.includes(Role.PUBLISH) ? Publishing.configure(inst) : null;
    if (registryOptions.allowedHosts().isEmpty()) {
      // requests, webhooks, backfill and records name registries; services contact only listed ones
      throw new IllegalArgumentException(ConfigKey.REGISTRY_ALLOWLIST.key() + " is empty: list the registry hosts the "
          + "services may contact (host, host:port, *.domain; " + RegistryOptions.LAYOUTS + " for OCI layouts; * for any host)");
    }

    bootstrap = kafka();
    s3 = s3(bucket);

    new JvmMemoryMetrics().bindTo(meters);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(meters);
    toClose.push(named("JVM GC metrics", gc));
    new JvmThreadMetrics().bindTo(meters);
    new ProcessorMetrics().bindTo(meters);
    new UptimeMetrics().bindTo(meters);
    toClose.push(named("metrics", meters::close));

    admin = Admin.create(Installation.adminConfig(bootstrap, "erofs-" + role.label() + "-ops"));
    toClose.push(named("Kafka admin client", () -> admin.close(Duration.ofSeconds(5))));
    List<ConsumerLag.Subscription> subs = new ArrayList<>();
    if (role.includes(Role.INGEST)) {
      subs.add(new ConsumerLag.Subscription(inst.group(INGEST_GROUP), inst.topics().imageRequests()));
    }
    if (role.includes(Role.WORKER)) {
      subs.add(new ConsumerLag.Subscription(inst.group(WORKER_GROUP), inst.topics().layerJobs()));
    }
    if (role.includes(Role.PUBLISH)) {
      subs.add(new ConsumerLag.Subscription(inst.group(PUBLISH_GROUP), inst.topics().images()));
    }
    lag = new ConsumerLag(admin, subs, meters, Duration.ofSeconds(lagInterval));
    if (httpPort > 0) {
      ops = new OpsServer(new InetSocketAddress(bind, httpPort), role.label(), meters, lag::refresh, this::readiness, this::failure)
          .start();
      toClose.push(named("ops endpoint", ops));
    }
    if (createTopics) {
      List<String> created;
      try {
        created = inst.createMissingTopics(admin);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
        throw new IllegalStateException("cannot create the topics on Kafka at " + bootstrap + " ("
            + ConfigKey.KAFKA_BOOTSTRAP.key() + "): " + c.getClass().getSimpleName()
            + (c.getMessage() == null ? "" : ": " + c.getMessage()), e);
      }
      if (!created.isEmpty()) {
        LOG.info("created topics {}", created);
      }
    }
    // every role answers /status from its own group-less view of the compacted topic
    statusView = StatusTopic.follow(bootstrap, inst.topics().status(), "erofs-" + role.label() + "-status");
    toClose.push(named("status view", statusView));
    if (ops != null) {
      ops.withStatus(statusView);
    }

    toClose.push(named("stages", this::closeStages));
    if (role.includes(Role.INGEST)) {
      IngestConfig cfg = IngestConfig.of(bootstrap, ConversionProfile.TAR_INDEX, bucket)
          .withTopics(inst.topics())
          .withGroupId(inst.group(INGEST_GROUP))
          .withS3Prefix(inst.s3Prefix())
          .withRegistryOptions(registryOptions)
          .withRegistryRate(registryRate)
          .withNativeProfile(inst.config().getBoolean(ConfigKey.NATIVE_ENABLED) ? ConversionProfile.NATIVE : null);
      ingest = new IngestApplication(cfg, s3);
      stages.add(named("ingest", ingest));
      ingest.start();
      if (webhookPort > 0) {
        ingest.startWebhook(new InetSocketAddress(bind, webhookPort), webhookSecret);
        LOG.info("webhook endpoint on {}:{}", bind, webhookPort);
      }
    }
    if (role.includes(Role.WORKER)) {
      ConvertWorker.Config cfg = new ConvertWorker.Config(
          bootstrap, inst.topics(), inst.group(WORKER_GROUP), concurrency, maxPoll, grace, s3, bucket,
          inst.s3Prefix(), PART_SIZE, registryOptions, limits, RetryPolicy.DEFAULT,
          converterVersion, sessionTimeout, tempDir);
      worker = new ConvertWorker(cfg, meters);
      stages.add(named("worker", worker));
      worker.start();
      LOG.info("worker: {} layers in flight at most, group {}", concurrency, inst.group(WORKER_GROUP));
    }
    if (publishing != null) {
      stages.add(named("publisher", publishing.start(bootstrap, inst.group(PUBLISH_GROUP), inst.topics(), registryOptions, s3,
          bucket, inst.s3Prefix(), meters)));
      LOG.info("publisher: profiles {}, group {}", publishing.profiles(), inst.group(PUBLISH_GROUP));
    }
    started = true;
    LOG.info("role {} started (Kafka {}, topics prefix '{}')", role.label(), bootstrap, inst.topics().prefix());
  }

  /** External Kafka, or (role all only) the embedded broker on {@code kafka.dataDir}. */
  private String kafka() {
    if (inst.config().optional(ConfigKey.KAFKA_BOOTSTRAP).isPresent() || role != Role.ALL) {
      return inst.kafkaBootstrap("role " + role.label() + " needs an external Kafka (only role all starts an embedded one)");
    }
    EmbeddedKafka k = EmbeddedKafka.builder().dataDir(Path.of(inst.config().get(ConfigKey.KAFKA_DATA_DIR)))
        .stoppedByOwnerAtExit().build();
    toClose.push(named("embedded Kafka", k));
    k.start();
    return k.bootstrapServers();
  }

  /** External S3, or (role all only) the embedded S3 server on {@code s3.dataDir} with the bucket created. */
  private S3Client s3(String bucket) {
    S3Client client;
    if (!inst.s3Embedded() || role != Role.ALL) {
      if (inst.s3Embedded()) {
        throw new IllegalArgumentException(ConfigKey.S3_ENDPOINT.key() + " is empty: role " + role.label()
            + " needs an external S3 endpoint (only role all starts an embedded one)");
      }
      client = inst.s3Client();
      toClose.push(named("S3 client", client));
      if (createBucket) {
        createBucketIfMissing(client, bucket);
      }
      return client;
    }
    EmbeddedS3 e = EmbeddedS3.builder().directory(Path.of(inst.config().get(ConfigKey.S3_DATA_DIR)))
        .stoppedByOwnerAtExit().build();
    toClose.push(named("embedded S3", e));
    e.start();
    client = inst.s3Client(e.endpoint(),
        StaticCredentialsProvider.create(AwsBasicCredentials.create(e.accessKey(), e.secretKey())));
    toClose.push(named("S3 client", client));
    createBucketIfMissing(client, bucket);
    return client;
  }

  private static void createBucketIfMissing(S3Client client, String bucket) {
    try {
      client.headBucket(b -> b.bucket(bucket));
    } catch (software.amazon.awssdk.services.s3.model.S3Exception missing) {
      if (missing.statusCode() != 404) {
        throw missing;
      }
      client.createBucket(b -> b.bucket(bucket));
      LOG.info("created bucket {}", bucket);
    }
  }

  /** Services started and the broker answering (checked at most every two seconds). */
  private OpsServer.Readiness readiness() {
    long now = System.nanoTime();
    if (now - kafkaCheckedAt > TimeUnit.SECONDS.toNanos(2)) {
      boolean ok;
      try {
        admin.describeCluster().clusterId().get(3, TimeUnit.SECONDS);
        ok = true;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ok = false;
      } catch (Exception e) {
        ok = false;
      }
      kafkaReachable = ok;
      kafkaCheckedAt = now;
    }
    return new OpsServer.Readiness(started && !closed, kafkaReachable, null);
  }

  /** Why a stage of this role stopped working while it runs (the worker's consumer died), if one did. */
  private Optional<String> failure() {
    ConvertWorker w = worker;
    return w == null ? Optional.empty() : w.failure();
  }

  public Role role() {
    return role;
  }

  public String bootstrapServers() {
    return bootstrap;
  }

  /** The staging S3 client (external, or the embedded server's). */
  public S3Client s3() {
    return s3;
  }

  public PrometheusMeterRegistry meters() {
    return meters;
  }

  /** The in-process view of {@code erofs.status} behind {@code /status}. */
  public StatusTopic statusView() {
    return statusView;
  }

  public ConsumerLag consumerLag() {
    return lag;
  }

  public boolean isStarted() {
    return started && !closed;
  }

  /** The port of the ops endpoint, or 0 when it is off. */
  public int httpPort() {
    return ops == null ? 0 : ops.port();
  }

  /** Blocks until {@link #close()} has finished. */
  public void awaitStopped() throws InterruptedException {
    stopped.await();
  }

  /**
   * Stops ingest, worker and publisher in parallel: each waits for its consumers' polls and its
   * work in flight, and none needs another to stop first.
   */
  private void closeStages() throws InterruptedException {
    List<Thread> stopping = new ArrayList<>();
    for (Named stage : stages) {
      Thread t = new Thread(() -> closeTimed(stage), "erofs-stop-" + stage.name());
      t.start();
      stopping.add(t);
    }
    for (Thread t : stopping) {
      t.join();
    }
  }

  /** Something to stop, with the name its log lines use. */
  private record Named(String name, AutoCloseable closer) {}

  private static Named named(String name, AutoCloseable closer) {
    return new Named(name, closer);
  }

  private static void closeTimed(Named c) {
    long t0 = System.nanoTime();
    try {
      c.closer().close();
    } catch (Exception e) {
      LOG.warn("stopping {} failed: {}", c.name(), e.toString());
    }
    LOG.info("stopped {} in {} ms", c.name(), (System.nanoTime() - t0) / 1_000_000);
  }

  /** Stops everything, newest first: readiness turns 503 at once, then the services stop. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    exitHook.cancel();
    LOG.info("stopping role {}", role.label());
    while (!toClose.isEmpty()) {
      closeTimed(toClose.pop());
    }
    stopped.countDown();
  }
}

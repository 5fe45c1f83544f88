package dev.erofspipeline.ingest;

import dev.erofspipeline.schemas.RecordValidator;
import org.apache.camel.CamelContext;
import org.apache.camel.component.kafka.KafkaComponent;
import org.apache.camel.impl.DefaultCamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The ingest stage wired up: registry targets, resolver, dedup (S3 + in-flight set), service, and a Camel context
 * running {@link IngestRoutes}. The launcher (or camel-main, via {@link #routes()}) starts it; {@link #close()} stops
 * the route (committing nothing more) and frees the registry clients.
 */
public final class IngestApplication implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IngestApplication.class);

    private final IngestConfig config;
    private final RegistryTargets targets;
    private final InFlightLayers inFlight;
    private final IngestService service;
    private final IngestRoutes routes;
    private CamelContext camel;
    private org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> requestProducer;
    private final java.util.List<AutoCloseable> extras = new java.util.ArrayList<>();

    /**
     * @param s3 the client for the staging bucket; null (or a null bucket in the config) turns the "already converted"
     *           check off, so every layer is queued
     */
    public IngestApplication(IngestConfig config, S3Client s3) {
        this(config, convertedLayers(config, s3));
    }

    /** With another "already converted" check (tests). */
    IngestApplication(IngestConfig config, ConvertedLayers converted) {
        this.config = config;
        this.targets = new RegistryTargets(config.registryOptions(), config.registryRatePerSecond());
        this.inFlight = new InFlightLayers(config.inFlightTtl());
        IngestPlanner planner = new IngestPlanner(config.profile(), config.nativeProfile(), converted, inFlight);
        this.service = new IngestService(RecordValidator.defaults(), new ImageResolver(targets), planner, inFlight);
        this.routes = new IngestRoutes(config, service, inFlight);
    }

    /**
     * The S3 check of the configured bucket, which must exist: a HEAD of a key in a missing bucket answers 404 just
     * like a missing key, which would queue every layer again.
     */
    private static ConvertedLayers convertedLayers(IngestConfig config, S3Client s3) {
        if (s3 == null || config.bucket() == null) {
            LOG.warn("no S3 staging bucket configured: every layer is queued, converted or not");
            return ConvertedLayers.none();
        }
        try {
            s3.headBucket(b -> b.bucket(config.bucket()));
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            throw new IllegalStateException("S3 staging bucket " + config.bucket() + " is not usable: "
                    + e.awsErrorDetails().errorCode() + " (HTTP " + e.statusCode() + ")", e);
        }
        return new S3ConvertedLayers(s3, config.bucket(), config.s3Prefix());
    }

    /** The routes, for a Camel context made elsewhere (brokers must then be set on its kafka component). */
    public IngestRoutes routes() {
        return routes;
    }

    public IngestService service() {
        return service;
    }

    public InFlightLayers inFlight() {
        return inFlight;
    }

    /** Starts a Camel context with the kafka component pointed at the configured brokers and the ingest route. */
    public synchronized IngestApplication start() throws Exception {
        if (camel != null) {
            return this;
        }
        CamelContext ctx = new DefaultCamelContext();
        ctx.getShutdownStrategy().setTimeout(10);
        KafkaComponent kafka = new KafkaComponent();
        kafka.getConfiguration().setBrokers(config.bootstrapServers());
        ctx.addComponent("kafka", kafka);
        ctx.addRoutes(routes);
        ctx.start();
        camel = ctx;
        LOG.info("ingest consuming {} (group {}), profile {}", config.topics().imageRequests(), config.groupId(),
                config.profile().name());
        return this;
    }

    /**
     * Starts the webhook endpoint on {@code bind}, queueing to this stage's image-requests topic; stopped by
     * {@link #close()}.
     */
    public synchronized WebhookServer startWebhook(java.net.InetSocketAddress bind, String secret)
            throws java.io.IOException {
        WebhookServer w = new WebhookServer(bind, secret, requestProducer(), config.topics(), RecordValidator.defaults())
                .start();
        extras.add(w);
        return w;
    }

    /** A backfill of {@code options.registry()} into this stage's image-requests topic (run it on any thread). */
    public Backfill backfill(Backfill.Options options, java.util.function.Consumer<Backfill.Progress> progress) {
        dev.erofspipeline.registry.RegistryClient client =
                new dev.erofspipeline.registry.RegistryClient(options.registry(), config.registryOptions());
        synchronized (this) {
            extras.add(client::close);
        }
        return new Backfill(client, options,
                new KafkaRequestSink(requestProducer(), config.topics(), RecordValidator.defaults()), progress);
    }

    /** The producer of image requests (acks=all, idempotent), made on first use. */
    private synchronized org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> requestProducer() {
        if (requestProducer == null) {
            java.util.Map<String, Object> p = new java.util.HashMap<>();
            p.put(org.apache.kafka.clients.producer.ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
            p.put(org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG, "all");
            p.put(org.apache.kafka.clients.producer.ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            p.put(org.apache.kafka.clients.producer.ProducerConfig.LINGER_MS_CONFIG, 0);
            p.put(org.apache.kafka.clients.producer.ProducerConfig.CLIENT_ID_CONFIG, "erofs-ingest-requests");
            requestProducer = new org.apache.kafka.clients.producer.KafkaProducer<>(p,
                    new org.apache.kafka.common.serialization.StringSerializer(),
                    new org.apache.kafka.common.serialization.ByteArraySerializer());
        }
        return requestProducer;
    }

    public synchronized CamelContext camel() {
        return camel;
    }

    @Override
    public synchronized void close() {
        try {
            if (camel != null) {
                camel.close();
            }
        } catch (Exception e) {
            LOG.warn("stopping the ingest route failed: {}", e.toString());
        } finally {
            camel = null;
            for (AutoCloseable c : extras) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing {} failed: {}", c, e.toString());
                }
            }
            extras.clear();
            if (requestProducer != null) {
                requestProducer.close(java.time.Duration.ofSeconds(5));
                requestProducer = null;
            }
            targets.close();
        }
    }
}

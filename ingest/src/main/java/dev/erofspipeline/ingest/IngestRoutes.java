package dev.erofspipeline.ingest;

import dev.erofspipeline.ingest.IngestPlan.Outgoing;
import dev.erofspipeline.ingest.IngestService.Batch;
import dev.erofspipeline.schemas.DeadLetter;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.component.kafka.consumer.KafkaManualCommit;
import org.apache.camel.support.ExpressionAdapter;

import java.util.List;
import java.util.function.Function;

/**
 * The ingest route, as in the data flow: image request → (validate, resolve, dedup) → layer jobs keyed by layer
 * digest, image records and statuses keyed by subject digest, dead letters; then the request's offset is committed.
 *
 * <p>Offsets are committed by hand, after every output record was acknowledged by the broker (the Kafka producer
 * endpoint completes an exchange only on the broker's ack, {@code acks=all}). Bad requests and resolution failures are
 * outputs too (dead letters), so the route keeps consuming. Anything else (broker or S3 unavailable) fails the
 * exchange: the claims of its jobs are released and, with {@code breakOnFirstError}, the consumer seeks back to the
 * request and handles it again. A request can therefore be handled twice (after a crash between acks and the commit);
 * the records it produces are the same, and the worker and publisher are idempotent.
 */
public final class IngestRoutes extends RouteBuilder {
    public static final String ROUTE_ID = "ingest-image-requests";
    static final String CLAIMS = "erofsIngestClaims";

    private final IngestConfig config;
    private final IngestService service;
    private final InFlightLayers inFlight;

    public IngestRoutes(IngestConfig config, IngestService service, InFlightLayers inFlight) {
        this.config = config;
        this.service = service;
        this.inFlight = inFlight;
    }

    @Override
    public void configure() {
        errorHandler(defaultErrorHandler().maximumRedeliveries(2).redeliveryDelay(500).logExhausted(true));

        from(requestsUri()).routeId(ROUTE_ID)
            .onCompletion().onFailureOnly()
                .process(this::releaseClaims)
            .end()
            .process(this::handleRequest)
            .split(outgoing(Batch::layerJobs)).stopOnException()
                .process(IngestRoutes::asKafkaRecord).to(producerUri(config.topics().layerJobs()))
            .end()
            .split(outgoing(Batch::images)).stopOnException()
                .process(IngestRoutes::asKafkaRecord).to(producerUri(config.topics().images()))
            .end()
            .split(outgoing(Batch::statuses)).stopOnException()
                .process(IngestRoutes::asKafkaRecord).to(producerUri(config.topics().status()))
            .end()
            .split(outgoing(Batch::deadLetters)).stopOnException()
                .process(IngestRoutes::asKafkaRecord).to(producerUri(config.topics().deadLetters()))
            .end()
            .process(IngestRoutes::commitOffset);
    }

    String requestsUri() {
        return "kafka:" + config.topics().imageRequests()
                + "?groupId=" + config.groupId()
                + "&autoOffsetReset=earliest"
                + "&autoCommitEnable=false&allowManualCommit=true&breakOnFirstError=true"
                + "&maxPollRecords=" + config.maxPollRecords()
                + "&pollTimeoutMs=500"
                + "&valueDeserializer=org.apache.kafka.common.serialization.ByteArrayDeserializer";
    }

    static String producerUri(String topic) {
        return "kafka:" + topic
                + "?requestRequiredAcks=all&enableIdempotence=true&lingerMs=0"
                + "&valueSerializer=org.apache.kafka.common.serialization.ByteArraySerializer";
    }

    private void handleRequest(Exchange exchange) {
        Message in = exchange.getMessage();
        byte[] value = in.getBody(byte[].class);
        Object key = in.getHeader(KafkaConstants.KEY);
        DeadLetter.Input input = DeadLetter.Input.of(in.getHeader(KafkaConstants.TOPIC, String.class),
                in.getHeader(KafkaConstants.PARTITION, Integer.class), in.getHeader(KafkaConstants.OFFSET, Long.class),
                key == null ? null : key.toString(), value);
        Batch batch = service.handle(value, input);
        exchange.setProperty(CLAIMS, batch.claims());
        in.setBody(batch);
    }

    private static ExpressionAdapter outgoing(Function<Batch, List<Outgoing>> part) {
        return new ExpressionAdapter() {
            @Override
            public Object evaluate(Exchange exchange) {
                return part.apply(exchange.getMessage().getBody(Batch.class));
            }
        };
    }

    private static void asKafkaRecord(Exchange exchange) {
        Message m = exchange.getMessage();
        Outgoing o = m.getBody(Outgoing.class);
        if (o.key() == null) {
            m.removeHeader(KafkaConstants.KEY);
        } else {
            m.setHeader(KafkaConstants.KEY, o.key());
        }
        m.removeHeader(KafkaConstants.PARTITION_KEY);
        m.removeHeader(KafkaConstants.OVERRIDE_TOPIC);
        m.setBody(o.value());
    }

    private static void commitOffset(Exchange exchange) {
        KafkaManualCommit commit = exchange.getMessage().getHeader(KafkaConstants.MANUAL_COMMIT, KafkaManualCommit.class);
        if (commit != null) {
            commit.commit();
        }
    }

    @SuppressWarnings("unchecked")
    private void releaseClaims(Exchange exchange) {
        List<String> claims = exchange.getProperty(CLAIMS, List.class);
        if (claims != null) {
            inFlight.release(claims);
        }
    }
}

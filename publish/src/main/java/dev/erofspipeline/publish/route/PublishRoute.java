package dev.erofspipeline.publish.route;

import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.RootHashSignature;
import dev.erofspipeline.schemas.SigningRequest;
import dev.erofspipeline.publish.signing.SignatureRejectedException;
import dev.erofspipeline.schemas.SchemaViolationException;
import dev.erofspipeline.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.RuntimeCamelException;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.component.kafka.ManualCommit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The publish stage's data flow: {@code erofs.images} (keyed by subject digest, consumer group) and
 * {@code erofs.layer-results} (keyed by layer digest) in; {@code erofs.status} records and {@code
 * erofs.dead-letters} out; an input's offset is committed only after its outputs are acknowledged.
 * Every publish process reads all of {@code erofs.layer-results} (from its end at start) and of
 * {@code erofs.dead-letters} (from the beginning: the layers the worker gave up on), without a
 * group ({@link LayerEventsFollower}), so a result completes the waiting images of every process;
 * what came before the start is found by the full rescan that follows, and again every {@code
 * rescanPeriod}. A timer ({@code retryPeriod}) looks at what needs another look (transient registry
 * failures, lost requeues). Only the {@code erofs.images} consumer publishes: a layer result, a
 * signature or the timer that completes an image sends the image record back to {@code erofs.images}
 * keyed by its subject digest, so all writes for one subject happen in the process owning that
 * partition. An unreadable record is dead-lettered and committed; a failure to reach S3 stops the
 * partition at that record ({@code breakOnFirstError}) so it is read again.
 */
public final class PublishRoute extends RouteBuilder {
  private static final Logger LOG = LoggerFactory.getLogger(PublishRoute.class);

  /**
   * Kafka connection, consumer group, the retry period (transient failures, lost requeues) and the
   * full rescan period of pending images; {@code sessionTimeout}: how long a publisher that stopped
   * heartbeating (killed) keeps its partitions.
   */
  public record Settings(String brokers, String groupId, Duration retryPeriod, boolean externalSigning, Duration sessionTimeout,
      Duration rescanPeriod) {
    /** Kafka's default session timeout. */
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(45);
    /** The default full rescan period (publish.rescanSeconds). */
    public static final Duration DEFAULT_RESCAN_PERIOD = Duration.ofMinutes(10);

    public Settings(String brokers, String groupId, Duration retryPeriod, boolean externalSigning) {
      this(brokers, groupId, retryPeriod, externalSigning, DEFAULT_SESSION_TIMEOUT, DEFAULT_RESCAN_PERIOD);
    }

    public Settings(String brokers, String groupId, Duration retryPeriod) {
      this(brokers, groupId, retryPeriod, false);
    }
  }

  /**
   * A record to send; {@code requeue}: an image record this stage sends back to itself; {@code
   * status}: the status a status record carries (null for other records).
   */
  private record Out(String topic, String key, byte[] value, boolean requeue, ImageStatus status) {
    Out(String topic, String key, byte[] value) {
      this(topic, key, value, false, null);
    }
  }

  /**
   * Kafka header on the image records this stage requeues to {@code erofs.images}, so that a requeue
   * is told from a request without changing the record's schema.
   */
  static final String REQUEUE_HEADER = "erofs-requeue";

  private final Settings settings;
  private final Topics topics;
  private final RecordValidator validator;
  private final PublishService service;
  /** Held while a status is checked and sent: see {@link PublishService#isStale}. */
  private final Object statusOrder = new Object();
  private ProducerTemplate records;

  public PublishRoute(Settings settings, Topics topics, RecordValidator validator, PublishService service) {
    this.settings = settings;
    this.topics = topics;
    this.validator = validator;
    this.service = service;
  }

  private String consumer(String topic) {
    return "kafka:" + topic + "?brokers=" + settings.brokers() + "&groupId=" + settings.groupId()
        + "&sessionTimeoutMs=" + settings.sessionTimeout().toMillis()
        + "&heartbeatIntervalMs=" + settings.sessionTimeout().toMillis() / 3
        + "&autoOffsetReset=earliest&autoCommitEnable=false&allowManualCommit=true&breakOnFirstError=true"
        // stopping waits for each consumer's poll to return (Camel's default timeout is 5 s)
        + "&pollTimeoutMs=500"
        + "&valueDeserializer=org.apache.kafka.common.serialization.ByteArrayDeserializer";
  }

  private String producer() {
    return "kafka:" + topics.status() + "?brokers=" + settings.brokers() + "&requestRequiredAcks=all"
        + "&lingerMs=0" // records are sent one at a time, each acknowledged before the next
        + "&valueSerializer=org.apache.kafka.common.serialization.ByteArraySerializer";
  }

  @Override
  public void configure() throws Exception {
    records = getContext().createProducerTemplate();
    getContext().addService(records, true, true);
    from(consumer(topics.images())).routeId("publish-images")
        .process(e -> send(onImage(e)))
        .process(new ManualCommit());
    if (settings.externalSigning()) {
      from(consumer(topics.signatures())).routeId("publish-signatures")
          .process(e -> send(onSignature(e)))
          .process(new ManualCommit());
    }
    // layer results, and the worker's dead letters (an image waiting for a layer that will never come fails with its
    // reason), reach every publish process; the start rescan runs once their positions are taken
    getContext().addService(new LayerEventsFollower(settings.brokers(), Set.of(topics.layerResults()),
        Set.of(topics.deadLetters()), service::followingLayerResults,
        r -> send(r.topic().equals(topics.layerResults()) ? onLayerResult(r) : onDeadLetter(r))), true, true);
    from("timer:publish-pending?delay=" + settings.retryPeriod().toMillis() + "&period=" + settings.retryPeriod().toMillis())
        .routeId("publish-pending")
        .process(e -> send(outputs(service.retryPending())));
    // checks every second whether a rescan is due: the first as soon as the results reader has its position
    from("timer:publish-rescan?delay=1000&period=1000")
        .routeId("publish-rescan")
        .process(e -> send(outputs(service.rescanPendingIfDue(settings.rescanPeriod(), settings.retryPeriod()))));
  }

  private List<Out> onImage(Exchange e) throws Exception {
    byte[] value = e.getMessage().getBody(byte[].class);
    ImageRecord image;
    try {
      image = validator.read(ImageRecord.class, value);
    } catch (SchemaViolationException ex) {
      return List.of(deadLetter(e.getMessage(), topics.images(), value, ex, ex.reasonCode()));
    }
    boolean requeued = e.getMessage().getHeader(REQUEUE_HEADER) != null;
    return outputs(List.of(requeued ? service.onRequeuedImage(image) : service.onImage(image)));
  }

  private List<Out> onLayerResult(ConsumerRecord<String, byte[]> r) throws Exception {
    LayerResult result;
    try {
      result = validator.read(LayerResult.class, r.value());
    } catch (SchemaViolationException ex) {
      // every publish process reads every result: a dead letter from each would be one per process
      LOG.warn("unreadable record {}-{}@{} skipped: {}", r.topic(), r.partition(), r.offset(), ex.reasonCode());
      return List.of();
    }
    return outputs(service.onLayerResult(result));
  }

  private List<Out> onDeadLetter(ConsumerRecord<String, byte[]> r) throws Exception {
    DeadLetter letter;
    try {
      letter = validator.read(DeadLetter.class, r.value());
    } catch (SchemaViolationException ex) {
      return List.of(); // not a dead letter this stage can use; dead-lettering it again would loop
    }
    return outputs(service.onLayerFailed(letter));
  }

  private List<Out> onSignature(Exchange e) throws Exception {
    byte[] value = e.getMessage().getBody(byte[].class);
    RootHashSignature signature;
    try {
      signature = validator.read(RootHashSignature.class, value);
    } catch (SchemaViolationException ex) {
      return List.of(deadLetter(e.getMessage(), topics.signatures(), value, ex, ex.reasonCode()));
    }
    try {
      return outputs(service.onSignature(signature));
    } catch (SignatureRejectedException ex) {
      // refused before it can be published
      return List.of(deadLetter(e.getMessage(), topics.signatures(), value, ex, "signature-rejected"));
    }
  }

  private List<Out> outputs(List<PublishService.Outcome> outcomes) {
    List<Out> out = new ArrayList<>();
    for (PublishService.Outcome o : outcomes) {
      if (o.requeue() != null) {
        out.add(new Out(topics.images(), o.requeue().key(), validator.write(o.requeue()), true, null));
      }
      if (o.status() == null) {
        continue;
      }
      out.add(new Out(topics.status(), o.status().key(), validator.write(o.status()), false, o.status()));
      for (SigningRequest r : o.signingRequests()) {
        out.add(new Out(topics.signingRequests(), r.key(), validator.write(r)));
      }
      if (o.deadLetter() != null) {
        out.add(new Out(topics.deadLetters(), o.status().key(), validator.write(o.deadLetter())));
      }
    }
    return out;
  }

  private Out deadLetter(Message in, String topic, byte[] value, Exception error, String reasonCode) {
    String key = in.getHeader(KafkaConstants.KEY, String.class);
    DeadLetter.Input input = DeadLetter.Input.of(topic, in.getHeader(KafkaConstants.PARTITION, Integer.class),
        in.getHeader(KafkaConstants.OFFSET, Long.class), key, value);
    DeadLetter letter = DeadLetter.of(DeadLetter.Stage.PUBLISH, input, error, reasonCode, 1, null);
    LOG.warn("record of {} dead-lettered: {} {}", topic, reasonCode, letter.message());
    return new Out(topics.deadLetters(), key, validator.write(letter));
  }

  /**
   * Sends {@code outs} in order, each acknowledged before the next (an input's offset is committed
   * after this returns). A status is checked and sent under one lock, so a status another route
   * overtook is dropped instead of landing after the image's final one.
   */
  private void send(List<Out> outs) {
    for (Out o : outs) {
      if (o.status() == null) {
        sendRecord(o);
        continue;
      }
      synchronized (statusOrder) {
        if (!service.isStale(o.status())) {
          sendRecord(o);
        }
      }
    }
  }

  private void sendRecord(Out o) {
    Exchange sent = records.send(producer(), e -> {
      Message m = e.getMessage();
      m.setHeader(KafkaConstants.OVERRIDE_TOPIC, o.topic());
      m.setHeader(KafkaConstants.KEY, o.key());
      if (o.requeue()) {
        m.setHeader(REQUEUE_HEADER, "1");
      }
      m.setBody(o.value());
    });
    if (sent.getException() != null) {
      throw new RuntimeCamelException("sending to " + o.topic() + " failed", sent.getException());
    }
  }
}

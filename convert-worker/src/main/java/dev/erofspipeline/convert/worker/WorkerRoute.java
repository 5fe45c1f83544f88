package dev.erofspipeline.convert.worker;

import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.SchemaViolationException;
import dev.erofspipeline.schemas.Topics;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.kafka.KafkaConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's data flow: a layer job from Kafka becomes a result (or a dead letter) on Kafka. The
 * jobs come from {@link LayerJobsEndpoint}, which runs them on a pool and commits a job's offset
 * only once its exchange completed, that is once Kafka acknowledged the result or the dead letter.
 * At-least-once: a worker that dies before the commit leaves the job to be delivered again, and the
 * handler finds the finished result in S3 instead of converting twice. Every failure is answered
 * with a dead letter (and so a commit), so one poison job never blocks its partition; an abandoned
 * job (shutdown) ends the exchange with an exception: no record, no commit.
 */
public final class WorkerRoute extends RouteBuilder {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerRoute.class);

  private final LayerJobsEndpoint layerJobs;
  private final String brokers;
  private final Topics topics;
  private final RecordValidator validator;
  private final LayerJobHandler handler;
  private final WorkerMetrics metrics;

  public WorkerRoute(LayerJobsEndpoint layerJobs, String brokers, Topics topics, RecordValidator validator,
      LayerJobHandler handler, WorkerMetrics metrics) {
    this.layerJobs = layerJobs;
    this.brokers = brokers;
    this.topics = topics;
    this.validator = validator;
    this.handler = handler;
    this.metrics = metrics;
  }

  @Override
  public void configure() {
    from(layerJobs)
        .routeId("convert-worker")
        .process(this::convertOrDeadLetter)
        .to("kafka:" + topics.layerResults()
            + "?brokers=" + brokers
            + "&requestRequiredAcks=all"
            + "&lingerMs=0" // one record per job: waiting for a batch (Camel's default 5 ms) only delays it
            + "&valueSerializer=org.apache.kafka.common.serialization.ByteArraySerializer");
  }

  /** Leaves in the message the record to publish: the layer result, or a dead letter and its topic. */
  private void convertOrDeadLetter(Exchange exchange) throws InterruptedException {
    Message in = exchange.getMessage();
    byte[] value = in.getBody(byte[].class);
    LayerJob job = null;
    try {
      job = validator.read(LayerJob.class, value);
      LayerResult result = handler.handle(job);
      in.setHeader(KafkaConstants.KEY, result.key());
      in.setBody(validator.write(result));
    } catch (SchemaViolationException e) {
      deadLetter(in, value, e, e.reasonCode(), 1, null);
    } catch (JobFailedException e) {
      deadLetter(in, value, e, e.reasonCode(), e.attempts(), job);
    } catch (JobAbandonedException e) {
      throw e; // shutting down: no record, no commit; the job goes to another worker
    } catch (RuntimeException e) {
      // a bug, not the input's fault; still recorded rather than retried forever
      LOG.error("layer job failed unexpectedly", e);
      deadLetter(in, value, e, "internal.error", 1, job);
    }
  }

  private void deadLetter(Message in, byte[] value, Exception error, String reasonCode, int attempts, LayerJob job) {
    metrics.failed(reasonCode);
    DeadLetter.Input input =
        DeadLetter.Input.of(
            topics.layerJobs(),
            in.getHeader(KafkaConstants.PARTITION, Integer.class),
            in.getHeader(KafkaConstants.OFFSET, Long.class),
            in.getHeader(KafkaConstants.KEY, String.class),
            value);
    DeadLetter letter =
        DeadLetter.of(DeadLetter.Stage.CONVERT, input, error, reasonCode, attempts, job == null ? null : job.correlationId());
    if (job != null) {
      letter = letter.withLayerDigest(job.layer().digest());
    }
    LOG.warn("layer job dead-lettered: {} {}", reasonCode, letter.message());
    in.setHeader(KafkaConstants.OVERRIDE_TOPIC, topics.deadLetters());
    in.setHeader(KafkaConstants.KEY, job == null ? in.getHeader(KafkaConstants.KEY, String.class) : job.key());
    in.setBody(validator.write(letter));
  }
}

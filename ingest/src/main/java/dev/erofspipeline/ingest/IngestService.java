package dev.erofspipeline.ingest;

import dev.erofspipeline.ingest.IngestPlan.Outgoing;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.SchemaViolationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * One image request in, its records out: validate, resolve, decide, serialize. Bad input and resolution failures
 * become dead letters (never exceptions); only failures of the infrastructure (the S3 check) throw, so the caller
 * retries the request instead of dropping it.
 */
public final class IngestService {
    /** Reason code when one of our own records failed its schema (a bug or data the schemas cannot carry). */
    public static final String OUTPUT_REFUSED = "output-refused";
    private static final Logger LOG = LoggerFactory.getLogger(IngestService.class);

    private final RecordValidator validator;
    private final ImageResolver resolver;
    private final IngestPlanner planner;
    private final InFlightLayers inFlight;

    public IngestService(RecordValidator validator, ImageResolver resolver, IngestPlanner planner,
                         InFlightLayers inFlight) {
        this.validator = validator;
        this.resolver = resolver;
        this.planner = planner;
        this.inFlight = inFlight;
    }

    /** The records one request turns into, serialized and validated, with the claims to release on failure. */
    public record Batch(List<Outgoing> layerJobs, List<Outgoing> images, List<Outgoing> statuses,
                        List<Outgoing> deadLetters, List<String> claims) {
        public Batch {
            layerJobs = List.copyOf(layerJobs);
            images = List.copyOf(images);
            statuses = List.copyOf(statuses);
            deadLetters = List.copyOf(deadLetters);
            claims = List.copyOf(claims);
        }
    }

    /** A raw {@code erofs.image-requests} record value; {@code input} describes it for dead letters. */
    public Batch handle(byte[] value, DeadLetter.Input input) {
        ImageRequest request;
        try {
            request = validator.read(ImageRequest.class, value);
        } catch (SchemaViolationException e) {
            LOG.warn("image request refused: {}", e.getMessage());
            return serialize(IngestPlan.deadLetter(DeadLetter.of(DeadLetter.Stage.INGEST, input, e, e.reasonCode(), 1,
                    null)), null, input);
        }
        return handle(request, input);
    }

    /** An image request already read. */
    public Batch handle(ImageRequest request, DeadLetter.Input input) {
        return serialize(plan(request, input), request, input);
    }

    /** The plan of a request (no serialization); resolution failures become a dead-letter plan. */
    public IngestPlan plan(ImageRequest request, DeadLetter.Input input) {
        Resolution res;
        try {
            res = resolver.resolve(request);
        } catch (IngestException e) {
            LOG.warn("image request {} ({}) failed: {} {}", request.correlationId(), request.reference(),
                    e.reasonCode(), e.getMessage());
            return IngestPlan.deadLetter(DeadLetter.of(DeadLetter.Stage.INGEST, input, e, e.reasonCode(), 1,
                    request.correlationId()));
        }
        IngestPlan plan = planner.plan(request, res, input);
        LOG.info("{} -> {}: {} image(s), {} layer job(s), {} failed, {} skipped", request.reference(), res.digest(),
                plan.images().size(), plan.layerJobs().size(), res.failures().size(), res.skipped().size());
        return plan;
    }

    private Batch serialize(IngestPlan plan, ImageRequest request, DeadLetter.Input input) {
        try {
            List<Outgoing> jobs = new ArrayList<>();
            for (LayerJob j : plan.layerJobs()) {
                jobs.add(new Outgoing(j.key(), validator.write(j)));
            }
            List<Outgoing> images = new ArrayList<>();
            for (ImageRecord r : plan.images()) {
                images.add(new Outgoing(r.key(), validator.write(r)));
            }
            List<Outgoing> statuses = new ArrayList<>();
            for (ImageStatus s : plan.statuses()) {
                statuses.add(new Outgoing(s.key(), validator.write(s)));
            }
            List<Outgoing> dead = new ArrayList<>();
            for (DeadLetter d : plan.deadLetters()) {
                dead.add(new Outgoing(d.correlationId(), validator.write(d)));
            }
            return new Batch(jobs, images, statuses, dead, plan.claims());
        } catch (SchemaViolationException e) {
            inFlight.release(plan.claims());
            LOG.error("a record made for {} was refused by its schema: {}", request == null ? "?"
                    : request.reference(), e.getMessage());
            DeadLetter d = DeadLetter.of(DeadLetter.Stage.INGEST, input, e, OUTPUT_REFUSED, 1,
                    request == null ? null : request.correlationId());
            try {
                return new Batch(List.of(), List.of(), List.of(),
                        List.of(new Outgoing(d.correlationId(), validator.write(d))), List.of());
            } catch (SchemaViolationException again) {
                throw new IllegalStateException("dead letter refused by its schema", again);
            }
        }
    }
}

package dev.erofspipeline.ingest;

import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerJob;

import java.util.List;

/**
 * Everything one image request turns into, before it is sent: the layer jobs (one per layer to convert, keyed by
 * layer digest), the image records and statuses (keyed by subject digest) and the dead letters. {@code claims} are the
 * {@link InFlightLayers} keys taken for the jobs, to release if sending fails.
 */
public record IngestPlan(List<LayerJob> layerJobs, List<ImageRecord> images, List<ImageStatus> statuses,
                         List<DeadLetter> deadLetters, List<String> claims) {
    public IngestPlan {
        layerJobs = List.copyOf(layerJobs);
        images = List.copyOf(images);
        statuses = List.copyOf(statuses);
        deadLetters = List.copyOf(deadLetters);
        claims = List.copyOf(claims);
    }

    /** A plan that only dead-letters the input. */
    public static IngestPlan deadLetter(DeadLetter d) {
        return new IngestPlan(List.of(), List.of(), List.of(), List.of(d), List.of());
    }

    /** A record ready for Kafka: its key and validated JSON bytes. */
    public record Outgoing(String key, byte[] value) {
    }
}

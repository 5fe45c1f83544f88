package dev.erofspipeline.ingest;

import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.concurrent.TimeUnit;

/** Sends each image request to {@code erofs.image-requests} and waits for the broker's ack (keyed by reference). */
public final class KafkaRequestSink implements Backfill.Sink {
    private final Producer<String, byte[]> producer;
    private final String topic;
    private final RecordValidator validator;

    public KafkaRequestSink(Producer<String, byte[]> producer, Topics topics, RecordValidator validator) {
        this.producer = producer;
        this.topic = topics.imageRequests();
        this.validator = validator;
    }

    @Override
    public void send(ImageRequest request) throws Exception {
        producer.send(new ProducerRecord<>(topic, request.reference(), validator.write(request)))
                .get(30, TimeUnit.SECONDS);
    }
}

package dev.erofspipeline.publish.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.publish.PublishProfile;
import dev.erofspipeline.publish.Publisher;
import dev.erofspipeline.publish.RouteTestSupport;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.StagingLayout;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.function.Predicate;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;

/** The publish route on an embedded Kafka broker, docker-registry and S3Proxy. */
class PublishRouteTest {

  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();

  private static final ObjectMapper JSON = new ObjectMapper();

  private static List<JsonNode> await(KafkaConsumer<byte[], byte[]> consumer, List<JsonNode> seen, Predicate<List<JsonNode>> done)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    while (!done.test(seen)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out; records so far: " + seen);
      }
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        seen.add(JSON.readTree(r.value()));
      }
    }
    return seen;
  }

  private static boolean has(List<JsonNode> records, String subject, String repo, String state) {
    return count(records, subject, repo, state) > 0;
  }

  @Test
  void imagesArePublishedWhenTheirLastLayerResultArrivesAndFailuresAreDeadLettered() throws Exception {
    Topics topics = Topics.withPrefix("route1.");
    KAFKA.createTopics(topics.images(), topics.layerResults(), topics.status(), topics.deadLetters());
    S3Fixture s3 = S3Fixture.shared().start();
    RecordValidator validator = RecordValidator.defaults();
    RouteTestSupport support = new RouteTestSupport();
    String prefix = "route-" + System.nanoTime();
    ImageRecord image = support.seed(REGISTRY, "route/app");
    // the same image, claimed to live in a repository that lacks its layers: the registry refuses the wrappers
    ImageRecord broken = support.record(REGISTRY.host(), "route/broken");

    Publisher publisher = support.publisher(s3, REGISTRY.host(), EnumSet.allOf(PublishProfile.class));
    PublishService service = PublishService.create(publisher, s3.client(), s3.bucket(), prefix, validator, Clock.systemUTC());
    CamelContext camel = new DefaultCamelContext();
    camel.addRoutes(new PublishRoute(new PublishRoute.Settings(KAFKA.bootstrapServers(), "publish-test", Duration.ofMillis(700)),
        topics, validator, service));
    try (KafkaProducer<byte[], byte[]> producer = KAFKA.bytesProducer();
        KafkaConsumer<byte[], byte[]> status = KAFKA.bytesConsumer("status-reader");
        KafkaConsumer<byte[], byte[]> dead = KAFKA.bytesConsumer("dead-reader");
        publisher) {
      status.subscribe(List.of(topics.status()));
      dead.subscribe(List.of(topics.deadLetters()));
      camel.start();
      String subject = image.subject().digest();
      producer.send(new ProducerRecord<>(topics.images(), subject.getBytes(StandardCharsets.UTF_8), validator.write(image))).get();
      producer.send(new ProducerRecord<>(topics.images(), "junk".getBytes(StandardCharsets.UTF_8),
          "{\"not\":\"an image\"}".getBytes(StandardCharsets.UTF_8))).get();
      List<JsonNode> statuses = await(status, new ArrayList<>(), l -> has(l, subject, "route/app", "converting"));
      assertTrue(statuses.stream().anyMatch(n -> n.path("layersDone").asInt() == 0 && n.path("layersTotal").asInt() == 3),
          statuses.toString());
      List<JsonNode> letters = await(dead, new ArrayList<>(), l -> !l.isEmpty());
      assertEquals("schema-violation", letters.get(0).path("reasonCode").asText(), letters.toString());

      // the worker stages the results (result.json last) and announces them
      for (LayerResult r : support.stage(s3, prefix, ConversionProfile.TAR_INDEX)) {
        s3.client().putObject(b -> b.bucket(s3.bucket()).key(r.staging().resultKey()),
            RequestBody.fromBytes(validator.write(r.result())));
        assertEquals(StagingLayout.resultKey(prefix, r.result().layerDigest(), ConversionProfile.TAR_INDEX.fingerprint()),
            r.staging().resultKey());
        producer.send(new ProducerRecord<>(topics.layerResults(), r.key().getBytes(StandardCharsets.UTF_8), validator.write(r))).get();
      }
      await(status, statuses, l -> has(l, subject, "route/app", "published"));
      assertTrue(support.verify(REGISTRY.host(), "route/app"), "verify after the route published");
      // the completed image went back to erofs.images keyed by its subject: publishing stays with that partition's owner
      try (KafkaConsumer<byte[], byte[]> images = KAFKA.bytesConsumer("images-reader")) {
        images.subscribe(List.of(topics.images()));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int withSubject = 0;
        int markedRequeue = 0;
        while (withSubject < 2 && System.nanoTime() < deadline) {
          for (ConsumerRecord<byte[], byte[]> r : images.poll(Duration.ofMillis(200))) {
            if (r.key() != null && new String(r.key(), StandardCharsets.UTF_8).equals(subject)) {
              withSubject++;
              if (r.headers().lastHeader(PublishRoute.REQUEUE_HEADER) != null) {
                markedRequeue++;
              }
            }
          }
        }
        assertTrue(withSubject >= 2, "requeued image record keyed by subject: " + withSubject);
        // told from a request by its header, so a stale requeue is dropped (PublishServiceTest)
        assertEquals(withSubject - 1, markedRequeue, "the request unmarked, its requeues marked");
      }

      // results already there: published or failed at once
      producer.send(new ProducerRecord<>(topics.images(), subject.getBytes(StandardCharsets.UTF_8), validator.write(broken))).get();
      await(status, statuses, l -> has(l, subject, "route/broken", "failed"));
      JsonNode failed = statuses.stream().filter(n -> n.path("repository").asText().equals("route/broken")
          && n.path("state").asText().equals("failed")).findFirst().orElseThrow();
      assertEquals("registry-rejected", failed.path("reasonCode").asText(), failed.toString());
      assertEquals(3, failed.path("layers").size());
      failed.path("layers").forEach(l -> assertEquals("failed", l.path("state").asText(), failed.toString()));
      await(dead, letters, l -> l.stream().anyMatch(n -> n.path("reasonCode").asText().equals("registry-rejected")));
    } finally {
      camel.close();
    }
  }

  /** A publish route whose timer and periodic rescan never run during a test: only results and its start rescan act. */
  private static CamelContext publishRoute(String group, Topics topics, PublishService service) throws Exception {
    CamelContext camel = new DefaultCamelContext();
    camel.addRoutes(new PublishRoute(new PublishRoute.Settings(KAFKA.bootstrapServers(), group, Duration.ofHours(1), false,
        Duration.ofSeconds(6), Duration.ofHours(1)), topics, RecordValidator.defaults(), service));
    camel.start();
    return camel;
  }

  private static void announceResults(KafkaProducer<byte[], byte[]> producer, Topics topics, S3Fixture s3, String prefix,
      RouteTestSupport support) throws Exception {
    RecordValidator validator = RecordValidator.defaults();
    for (LayerResult r : support.stage(s3, prefix, ConversionProfile.TAR_INDEX)) {
      s3.client().putObject(b -> b.bucket(s3.bucket()).key(r.staging().resultKey()), RequestBody.fromBytes(validator.write(r.result())));
      producer.send(new ProducerRecord<>(topics.layerResults(), r.key().getBytes(StandardCharsets.UTF_8), validator.write(r))).get();
    }
  }

  private static long count(List<JsonNode> records, String subject, String repo, String state) {
    return records.stream().filter(n -> n.path("subjectDigest").asText().equals(subject)
        && n.path("repository").asText().equals(repo) && n.path("state").asText().equals(state)).count();
  }

  /**
   * Two publish processes in one group, with timers that never fire: whichever owns the image's
   * partition publishes it once its results arrive, since both read every layer result (no full
   * rescan or retry pass in between).
   */
  @Test
  void twoPublishersPublishAnImageOnceFromItsResultsAlone() throws Exception {
    Topics topics = Topics.withPrefix("route3.");
    KAFKA.createTopic(topics.images(), 2);
    KAFKA.createTopic(topics.layerResults(), 2);
    KAFKA.createTopics(topics.status(), topics.deadLetters());
    S3Fixture s3 = S3Fixture.shared().start();
    RecordValidator validator = RecordValidator.defaults();
    RouteTestSupport support = new RouteTestSupport();
    String prefix = "route-pair-" + System.nanoTime();
    ImageRecord image = support.seed(REGISTRY, "route/pair");
    String subject = image.subject().digest();
    try (Publisher a = support.publisher(s3, REGISTRY.host(), EnumSet.allOf(PublishProfile.class));
        Publisher b = support.publisher(s3, REGISTRY.host(), EnumSet.allOf(PublishProfile.class));
        KafkaProducer<byte[], byte[]> producer = KAFKA.bytesProducer();
        KafkaConsumer<byte[], byte[]> status = KAFKA.bytesConsumer("status-pair");
        CamelContext first = publishRoute("publish-pair", topics,
            PublishService.create(a, s3.client(), s3.bucket(), prefix, validator, Clock.systemUTC()));
        CamelContext second = publishRoute("publish-pair", topics,
            PublishService.create(b, s3.client(), s3.bucket(), prefix, validator, Clock.systemUTC()))) {
      status.subscribe(List.of(topics.status()));
      producer.send(new ProducerRecord<>(topics.images(), subject.getBytes(StandardCharsets.UTF_8), validator.write(image))).get();
      List<JsonNode> statuses = await(status, new ArrayList<>(), l -> has(l, subject, "route/pair", "converting"));
      announceResults(producer, topics, s3, prefix, support);
      await(status, statuses, l -> has(l, subject, "route/pair", "published"));
      Thread.sleep(3_000); // a second publication would show by now
      await(status, statuses, l -> true);
      assertEquals(1, count(statuses, subject, "route/pair", "published"), statuses.toString());
      assertTrue(support.verify(REGISTRY.host(), "route/pair"));
    }
  }

  /** Results that arrived while the only publisher was down: its start rescan finds the image complete and publishes it. */
  @Test
  void anImageCompletedWhileThePublisherWasDownIsPublishedAtItsStart() throws Exception {
    Topics topics = Topics.withPrefix("route4.");
    KAFKA.createTopics(topics.images(), topics.layerResults(), topics.status(), topics.deadLetters());
    S3Fixture s3 = S3Fixture.shared().start();
    RecordValidator validator = RecordValidator.defaults();
    RouteTestSupport support = new RouteTestSupport();
    String prefix = "route-restart-" + System.nanoTime();
    ImageRecord image = support.seed(REGISTRY, "route/restart");
    String subject = image.subject().digest();
    try (Publisher publisher = support.publisher(s3, REGISTRY.host(), EnumSet.allOf(PublishProfile.class));
        KafkaProducer<byte[], byte[]> producer = KAFKA.bytesProducer();
        KafkaConsumer<byte[], byte[]> status = KAFKA.bytesConsumer("status-restart")) {
      status.subscribe(List.of(topics.status()));
      List<JsonNode> statuses;
      try (CamelContext before = publishRoute("publish-restart", topics,
          PublishService.create(publisher, s3.client(), s3.bucket(), prefix, validator, Clock.systemUTC()))) {
        producer.send(new ProducerRecord<>(topics.images(), subject.getBytes(StandardCharsets.UTF_8), validator.write(image))).get();
        statuses = await(status, new ArrayList<>(), l -> has(l, subject, "route/restart", "converting"));
      }
      announceResults(producer, topics, s3, prefix, support); // nobody reads them now
      try (CamelContext after = publishRoute("publish-restart", topics,
          PublishService.create(publisher, s3.client(), s3.bucket(), prefix, validator, Clock.systemUTC()))) {
        await(status, statuses, l -> has(l, subject, "route/restart", "published"));
      }
      assertEquals(1, count(statuses, subject, "route/restart", "published"), statuses.toString());
      assertTrue(support.verify(REGISTRY.host(), "route/restart"));
    }
  }

  @Test
  void externalSignaturesArriveThroughKafkaAndUntrustedOnesAreRefused() throws Exception {
    Topics topics = Topics.withPrefix("route2.");
    KAFKA.createTopics(topics.images(), topics.layerResults(), topics.status(), topics.deadLetters(), topics.signingRequests(),
        topics.signatures());
    S3Fixture s3 = S3Fixture.shared().start();
    RecordValidator validator = RecordValidator.defaults();
    RouteTestSupport support = new RouteTestSupport();
    String prefix = "route-ext-" + System.nanoTime();
    ImageRecord image = support.seed(REGISTRY, "route/external");
    for (LayerResult r : support.stage(s3, prefix, ConversionProfile.TAR_INDEX)) {
      s3.client().putObject(b -> b.bucket(s3.bucket()).key(r.staging().resultKey()), RequestBody.fromBytes(validator.write(r.result())));
    }
    dev.erofspipeline.publish.signing.SignatureStore store =
        new dev.erofspipeline.publish.signing.SignatureStore(s3.client(), s3.bucket(), prefix, validator);
    Publisher publisher = support.publisher(s3, REGISTRY.host(), EnumSet.allOf(PublishProfile.class), store.asSigner());
    PublishService service = PublishService.create(publisher, s3.client(), s3.bucket(), prefix, validator, Clock.systemUTC())
        .withExternalSigning(store, support.verifier());
    CamelContext camel = new DefaultCamelContext();
    camel.addRoutes(new PublishRoute(new PublishRoute.Settings(KAFKA.bootstrapServers(), "publish-ext", Duration.ofSeconds(30),
        true), topics, validator, service));
    camel.addRoutes(new SigningRoute(KAFKA.bootstrapServers(), "signer", topics, validator, support.signer(), Clock.systemUTC()));
    try (KafkaProducer<byte[], byte[]> producer = KAFKA.bytesProducer();
        KafkaConsumer<byte[], byte[]> status = KAFKA.bytesConsumer("status-reader");
        KafkaConsumer<byte[], byte[]> requests = KAFKA.bytesConsumer("request-reader");
        KafkaConsumer<byte[], byte[]> dead = KAFKA.bytesConsumer("dead-reader");
        publisher) {
      status.subscribe(List.of(topics.status()));
      requests.subscribe(List.of(topics.signingRequests()));
      dead.subscribe(List.of(topics.deadLetters()));
      camel.start();
      String subject = image.subject().digest();
      producer.send(new ProducerRecord<>(topics.images(), subject.getBytes(StandardCharsets.UTF_8), validator.write(image))).get();
      List<JsonNode> statuses = await(status, new ArrayList<>(), l -> has(l, subject, "route/external", "published"));
      assertTrue(has(statuses, subject, "route/external", "publishing"), statuses.toString());
      List<JsonNode> reqs = await(requests, new ArrayList<>(), l -> l.size() >= 3);
      assertEquals(3, reqs.stream().map(n -> n.path("layerDigest").asText()).distinct().count(), reqs.toString());
      assertTrue(support.verify(REGISTRY.host(), "route/external"));

      // a signature by a key the trust anchors do not know is refused on arrival
      String layer = image.layers().get(0).digest();
      String rootHash = reqs.stream().filter(n -> n.path("layerDigest").asText().equals(layer)).findFirst().orElseThrow()
          .path("rootHash").asText();
      var untrusted = support.untrustedSigner();
      var bad = new dev.erofspipeline.schemas.RootHashSignature(layer, rootHash,
          java.util.Base64.getEncoder().encodeToString(untrusted.sign(layer, rootHash)),
          List.of(java.util.Base64.getEncoder().encodeToString(untrusted.credentials().signerCertificate().getEncoded())), null,
          null, null, "test");
      producer.send(new ProducerRecord<>(topics.signatures(), layer.getBytes(StandardCharsets.UTF_8), validator.write(bad))).get();
      List<JsonNode> letters = await(dead, new ArrayList<>(),
          l -> l.stream().anyMatch(n -> n.path("reasonCode").asText().equals("signature-rejected")));
      assertTrue(letters.stream().anyMatch(n -> n.path("message").asText().contains("untrusted chain")), letters.toString());
      // the stored (trusted) signature is still the one published
      assertTrue(support.verify(REGISTRY.host(), "route/external"));
    } finally {
      camel.close();
    }
  }
}

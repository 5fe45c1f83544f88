package dev.erofspipeline.publish.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.publish.PublishProfile;
import dev.erofspipeline.publish.Publisher;
import dev.erofspipeline.publish.RouteTestSupport;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;

/** {@link PublishService} without Kafka: the join through S3, pending images, bounded transient failures. */
class PublishServiceTest {

  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();

  private static final S3Fixture S3 = S3Fixture.shared();
  private static final RecordValidator V = RecordValidator.defaults();
  private static final RouteTestSupport SUPPORT = new RouteTestSupport();

  /** A publisher of the image-bundle profile to the test registry. */
  private static Publisher bundlePublisher() {
    return SUPPORT.publisher(S3.start(), REGISTRY.host(), EnumSet.of(PublishProfile.IMAGE_BUNDLE));
  }

  /** The test image's layer results, staged under {@code prefix} as the worker leaves them. */
  private static List<LayerResult> stageResults(String prefix) {
    List<LayerResult> results = SUPPORT.stage(S3.start(), prefix, ConversionProfile.TAR_INDEX);
    writeResults(S3, results, V);
    return results;
  }

  /** The image records {@code outcomes} send back to erofs.images. */
  private static List<ImageRecord> requeues(List<PublishService.Outcome> outcomes) {
    return outcomes.stream().map(PublishService.Outcome::requeue).filter(Objects::nonNull).toList();
  }

  private static void writeResults(S3Fixture s3, List<LayerResult> results, RecordValidator v) {
    for (LayerResult r : results) {
      s3.client().putObject(b -> b.bucket(s3.bucket()).key(r.staging().resultKey()), RequestBody.fromBytes(v.write(r.result())));
    }
  }

  @Test
  void aLayerTheWorkerGaveUpOnFailsTheImagesWaitingForItAndThoseArrivingLater() throws Exception {
    ImageRecord image = SUPPORT.seed(REGISTRY, "svc/failed-layer");
    String layer = image.layers().get(1).digest();
    DeadLetter letter = new DeadLetter(DeadLetter.Stage.CONVERT, DeadLetter.Input.of(new byte[] {'{', '}'}),
        "InvalidLayerException", "tar.checksum", "header checksum mismatch at tar offset 512", java.time.Instant.now(), 1,
        layer, null, image.correlationId());
    try (Publisher p = bundlePublisher()) {
      S3Fixture s3 = S3.start();
      PublishService service = PublishService.create(p, s3.client(), s3.bucket(), "svc-failed-" + System.nanoTime(), V,
          Clock.systemUTC());
      assertEquals(ImageStatus.State.CONVERTING, service.onImage(image).status().state());
      List<PublishService.Outcome> out = service.onLayerFailed(letter);
      assertEquals(1, out.size());
      ImageStatus failed = out.get(0).status();
      assertEquals(ImageStatus.State.FAILED, failed.state());
      assertEquals("tar.checksum", failed.reasonCode());
      assertTrue(failed.reason().contains(layer), failed.reason());
      assertEquals(ImageStatus.LayerState.FAILED, failed.layers().get(1).state());
      assertTrue(service.rescanPending().isEmpty(), "no longer pending");
      // the same image requested again fails at once; a dead letter of another stage changes nothing
      assertEquals(ImageStatus.State.FAILED, service.onImage(image).status().state());
      DeadLetter ingest = new DeadLetter(DeadLetter.Stage.INGEST, letter.input(), "x", "invalid-config", "m",
          java.time.Instant.now(), 1, layer, null, null);
      assertTrue(service.onLayerFailed(ingest).isEmpty());
    }
  }

  /** Every publisher reads all dead letters at start: one older than its layer's result fails nothing. */
  @Test
  void aDeadLetterOlderThanItsLayersResultFailsNothing() throws Exception {
    String prefix = "svc-old-letter-" + System.nanoTime();
    ImageRecord image = SUPPORT.seed(REGISTRY, "svc/old-letter");
    String layer = image.layers().get(0).digest();
    DeadLetter letter = new DeadLetter(DeadLetter.Stage.CONVERT, DeadLetter.Input.of(new byte[] {'{', '}'}),
        "TransientException", "transient.exhausted", "registry unavailable", java.time.Instant.now(), 3, layer, null,
        image.correlationId());
    try (Publisher p = bundlePublisher()) {
      PublishService service = PublishService.create(p, S3.client(), S3.bucket(), prefix, V, Clock.systemUTC());
      assertEquals(ImageStatus.State.CONVERTING, service.onImage(image).status().state());
      stageResults(prefix); // converted; the records still on their way
      assertTrue(service.onLayerFailed(letter).isEmpty(), "the layer has a result: the image still waits");
      assertEquals(1, service.waitingImages());
    }
  }

  /**
   * Found by HostilePipelineTest in CI: the timer's "converting" status, decided just before the
   * dead-letter route failed the image, reached the compacted status topic after "failed".
   */
  @Test
  void aStatusDecidedBeforeTheImageSettledIsStaleAfterwards() throws Exception {
    ImageRecord image = SUPPORT.seed(REGISTRY, "svc/stale-status");
    String layer = image.layers().get(1).digest();
    DeadLetter letter = new DeadLetter(DeadLetter.Stage.CONVERT, DeadLetter.Input.of(new byte[] {'{', '}'}),
        "InvalidLayerException", "tar.pax.global", "PAX global header", java.time.Instant.now(), 1, layer, null,
        image.correlationId());
    ImageRecord again = new ImageRecord(image.registry(), image.repository(), image.subject(), image.platform(),
        image.indexDigest(), image.reference(), image.layers(), image.profile(), "another-request", image.nativeImage());
    try (Publisher p = bundlePublisher()) {
      S3Fixture s3 = S3.start();
      String prefix = "svc-stale-" + System.nanoTime();
      PublishService service = PublishService.create(p, s3.client(), s3.bucket(), prefix, V, Clock.systemUTC());
      ImageStatus converting = service.onImage(image).status();
      assertEquals(ImageStatus.State.CONVERTING, converting.state());
      assertFalse(service.isStale(converting), "nothing settled yet");
      ImageStatus failed = service.onLayerFailed(letter).get(0).status();
      assertTrue(service.isStale(converting), "overtaken by the failure");
      assertFalse(service.isStale(failed), "a final status is never stale");
      assertFalse(service.isStale(service.onImage(again).status()), "another request's status is its own");

      // the same after a publication: a "converting" decided before it is stale
      ImageRecord published = SUPPORT.seed(REGISTRY, "svc/stale-after-publish");
      PublishService other = PublishService.create(p, s3.client(), s3.bucket(), prefix + "-p", V, Clock.systemUTC());
      ImageStatus before = other.onImage(published).status();
      writeResults(s3, SUPPORT.stage(s3, prefix + "-p", ConversionProfile.TAR_INDEX), V);
      ImageStatus done = other.onImage(published).status();
      assertEquals(ImageStatus.State.PUBLISHED, done.state());
      assertTrue(other.isStale(before));
      assertFalse(other.isStale(done));
    }
  }

  @Test
  void aResultSeenWhileTheProcessWasDownIsFoundByItsStartRescan() throws Exception {
    S3Fixture s3 = S3Fixture.shared().start();
    RecordValidator v = RecordValidator.defaults();
    RouteTestSupport support = new RouteTestSupport();
    String prefix = "svc-" + System.nanoTime();
    ImageRecord image = support.seed(REGISTRY, "svc/restart");
    try (Publisher p = support.publisher(s3, REGISTRY.host(), EnumSet.of(PublishProfile.IMAGE_BUNDLE))) {
      PublishService first = PublishService.create(p, s3.client(), s3.bucket(), prefix, v, Clock.systemUTC());
      assertEquals(ImageStatus.State.CONVERTING, first.onImage(image).status().state());
      // this process stops; the results arrive meanwhile
      writeResults(s3, support.stage(s3, prefix, ConversionProfile.TAR_INDEX), v);
      PublishService restarted = PublishService.create(p, s3.client(), s3.bucket(), prefix, v, Clock.systemUTC());
      assertTrue(restarted.retryPending().isEmpty(), "the timer reads nothing it does not know about");
      List<PublishService.Outcome> out = restarted.rescanPending(); // at start
      assertEquals(1, out.size());
      // complete: requeued to erofs.images (keyed by subject), where it is published
      assertEquals(image, out.get(0).requeue());
      assertNull(out.get(0).status());
      PublishService.Outcome published = restarted.onRequeuedImage(out.get(0).requeue());
      assertEquals(ImageStatus.State.PUBLISHED, published.status().state());
      assertEquals(3, published.status().layersDone());
      assertTrue(restarted.rescanPending().isEmpty(), "nothing left pending");
    }
  }

  /** Found by the multi-process test (now FaultsTest): two results of one image arriving together published it twice. */
  @Test
  void layerResultsArrivingTogetherRequeueTheImageOnce() throws Exception {
    S3Fixture s3 = S3Fixture.shared().start();
    RecordValidator v = RecordValidator.defaults();
    RouteTestSupport support = new RouteTestSupport();
    String prefix = "svc-once-" + System.nanoTime();
    ImageRecord image = support.seed(REGISTRY, "svc/once");
    try (Publisher p = support.publisher(s3, REGISTRY.host(), EnumSet.of(PublishProfile.IMAGE_BUNDLE))) {
      PublishService service = PublishService.create(p, s3.client(), s3.bucket(), prefix, v, Clock.systemUTC());
      assertEquals(ImageStatus.State.CONVERTING, service.onImage(image).status().state());
      List<LayerResult> results = support.stage(s3, prefix, ConversionProfile.TAR_INDEX);
      writeResults(s3, results, v);
      List<ImageRecord> requeued = new ArrayList<>();
      for (LayerResult r : results) { // every result lands before the requeued record is consumed
        requeued.addAll(requeues(service.onLayerResult(r)));
      }
      assertEquals(List.of(image), requeued, "one requeue for the image, not one per result");
      assertEquals(ImageStatus.State.PUBLISHED, service.onRequeuedImage(requeued.get(0)).status().state());
      assertTrue(service.onLayerResult(results.get(0)).isEmpty(), "a published image waits on nothing");
    }
  }

  /** A clock the test moves. */
  private static final class MovableClock extends Clock {
    private Instant now = Instant.parse("2026-11-27T08:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  /**
   * Found by the load test (scripts/load-test.sh): with a backlog of minutes on erofs.images, the
   * timer requeued an image again after the requeue hold, and that second record, consumed longer
   * than the hold after the first was published, published the image again.
   */
  @Test
  void aRequeueThatWaitedBehindABacklogIsDroppedWhenTheImageWasPublished() throws Exception {
    String prefix = "svc-backlog-" + System.nanoTime();
    ImageRecord image = SUPPORT.seed(REGISTRY, "svc/backlog");
    MovableClock clock = new MovableClock();
    try (Publisher p = bundlePublisher()) {
      PublishService service = PublishService.create(p, S3.client(), S3.bucket(), prefix, V, clock);
      assertEquals(ImageStatus.State.CONVERTING, service.onImage(image).status().state());
      ImageRecord first = service.onLayerResult(stageResults(prefix).get(0)).get(0).requeue();
      assertEquals(image, first);
      clock.advance(Duration.ofMinutes(2)); // the requeued record still waits behind the backlog
      List<PublishService.Outcome> timer = service.retryPending();
      assertEquals(1, timer.size());
      assertEquals(image, timer.get(0).requeue(), "the timer requeues it again: the first requeue may have been lost");
      assertEquals(ImageStatus.State.PUBLISHED, service.onRequeuedImage(first).status().state());
      clock.advance(Duration.ofMinutes(2));
      PublishService.Outcome again = service.onRequeuedImage(timer.get(0).requeue());
      assertNull(again.status(), "published once: " + again);
      assertNull(again.requeue());
      assertTrue(service.rescanPending().isEmpty(), "nothing left pending");
    }
  }

  /**
   * An image a rescan found here is its owner's to requeue when its last result arrives: this process
   * requeues it only if it still waits after the requeue hold (its owner stopped, or a backlog).
   */
  @Test
  void anImageOfAnotherProcessIsRequeuedHereOnlyIfItStillWaitsAfterTheHold() throws Exception {
    String prefix = "svc-adopted-" + System.nanoTime();
    ImageRecord image = SUPPORT.seed(REGISTRY, "svc/adopted");
    MovableClock clock = new MovableClock();
    try (Publisher p = bundlePublisher()) {
      PublishService owner = PublishService.create(p, S3.client(), S3.bucket(), prefix, V, clock);
      PublishService other = PublishService.create(p, S3.client(), S3.bucket(), prefix, V, clock);
      assertEquals(ImageStatus.State.CONVERTING, owner.onImage(image).status().state());
      other.rescanPending();
      assertEquals(1, other.waitingImages());
      List<LayerResult> results = stageResults(prefix);
      List<ImageRecord> byOther = new ArrayList<>();
      List<ImageRecord> byOwner = new ArrayList<>();
      for (LayerResult r : results) {
        byOther.addAll(requeues(other.onLayerResult(r)));
        byOwner.addAll(requeues(owner.onLayerResult(r)));
      }
      assertEquals(List.of(), byOther, "the owner requeues it");
      assertEquals(List.of(image), byOwner);
      clock.advance(Duration.ofMinutes(2)); // the owner's requeue waits behind a backlog
      List<PublishService.Outcome> timer = other.retryPending();
      assertEquals(List.of(image), requeues(timer));
      assertEquals(ImageStatus.State.PUBLISHED, owner.onRequeuedImage(byOwner.get(0)).status().state());
      clock.advance(Duration.ofMinutes(2));
      assertTrue(other.retryPending().isEmpty(), "published by its owner meanwhile");
      assertEquals(0, other.waitingImages());
    }
  }

  /** The same manifest in two repositories is two publications; the first one done does not end the other. */
  @Test
  void theSameManifestWaitingInTwoRepositoriesIsPublishedInEach() throws Exception {
    String prefix = "svc-twins-" + System.nanoTime();
    ImageRecord a = SUPPORT.seed(REGISTRY, "svc/twin-a");
    ImageRecord b = SUPPORT.seed(REGISTRY, "svc/twin-b");
    assertEquals(a.subject(), b.subject());
    try (Publisher p = bundlePublisher()) {
      PublishService service = PublishService.create(p, S3.client(), S3.bucket(), prefix, V, Clock.systemUTC());
      for (ImageRecord r : List.of(a, b)) {
        assertEquals(ImageStatus.State.CONVERTING, service.onImage(r).status().state());
      }
      List<ImageRecord> requeued = requeues(service.onLayerResult(stageResults(prefix).get(0)));
      assertEquals(Set.of(a, b), Set.copyOf(requeued));
      for (ImageRecord r : requeued) {
        PublishService.Outcome o = service.onRequeuedImage(r);
        assertEquals(ImageStatus.State.PUBLISHED, o.status().state(), r.repository() + ": " + o);
        assertEquals(r.repository(), o.status().repository());
      }
      assertTrue(service.rescanPending().isEmpty(), "nothing left pending");
    }
  }

  /** A pending record under the name an earlier version gave it (no repository) is still published, once. */
  @Test
  void aPendingRecordWrittenByAnEarlierVersionIsPublished() throws Exception {
    String prefix = "svc-legacy-" + System.nanoTime();
    ImageRecord image = SUPPORT.seed(REGISTRY, "svc/legacy");
    String legacyKey = prefix + "/pending/" + image.subject().digest().substring(7) + "-" + image.profile().fingerprint()
        + ".json";
    S3.start().client().putObject(b -> b.bucket(S3.bucket()).key(legacyKey), RequestBody.fromBytes(V.write(image)));
    stageResults(prefix);
    try (Publisher p = bundlePublisher()) {
      PublishService service = PublishService.create(p, S3.client(), S3.bucket(), prefix, V, Clock.systemUTC());
      List<PublishService.Outcome> timer = service.rescanPending();
      assertEquals(1, timer.size());
      assertEquals(image, timer.get(0).requeue());
      assertEquals(ImageStatus.State.PUBLISHED, service.onRequeuedImage(timer.get(0).requeue()).status().state());
      assertTrue(service.rescanPending().isEmpty(), "nothing left pending, under either name");
    }
  }

  /**
   * A process that follows erofs.layer-results reads nothing in S3 for an image waiting on layers
   * until their results arrive: its timer reads nothing, its rescan lists (one request), and the
   * results complete the image from the records themselves.
   */
  @Test
  void aFollowingProcessReadsNothingForAWaitingImageUntilItsResultsArrive() throws Exception {
    String prefix = "svc-follow-" + System.nanoTime();
    ImageRecord image = SUPPORT.seed(REGISTRY, "svc/follow");
    S3RequestCounter counter = new S3RequestCounter();
    try (Publisher p = bundlePublisher(); var counted = counter.client(S3.start())) {
      PublishService service = PublishService.create(p, counted, S3.bucket(), prefix, V, Clock.systemUTC());
      service.followingLayerResults();
      assertEquals(ImageStatus.State.CONVERTING, service.onImage(image).status().state());
      assertEquals(java.util.Map.of("GetObject", 3L, "PutObject", 1L), counter.take(), "the record written, each layer read once");
      for (int pass = 0; pass < 3; pass++) {
        assertTrue(service.retryPending().isEmpty());
        assertTrue(service.rescanPending().isEmpty(), "unchanged: nothing to say");
      }
      assertEquals(java.util.Map.of("ListObjectsV2", 3L), counter.take(), "three rescans: one listing each, no reads");
      List<LayerResult> results = stageResults(prefix);
      List<ImageRecord> requeued = new ArrayList<>();
      for (LayerResult r : results) {
        requeued.addAll(requeues(service.onLayerResult(r)));
      }
      assertEquals(List.of(image), requeued, "complete after its last result");
      assertEquals(java.util.Map.of(), counter.take(), "the results came with their records");
      assertEquals(ImageStatus.State.PUBLISHED, service.onRequeuedImage(requeued.get(0)).status().state());
      assertEquals(0, service.waitingImages());
    }
  }

  /** Beyond publish.maxWaitingImages an image is not indexed: its last result does not requeue it, the rescan does. */
  @Test
  void anImageBeyondTheIndexLimitIsFoundByTheRescan() throws Exception {
    String prefix = "svc-limit-" + System.nanoTime();
    ImageRecord a = SUPPORT.seed(REGISTRY, "svc/limit-a");
    ImageRecord b = SUPPORT.seed(REGISTRY, "svc/limit-b");
    try (Publisher p = bundlePublisher()) {
      PublishService service = PublishService.create(p, S3.client(), S3.bucket(), prefix, V, Clock.systemUTC())
          .withMaxWaitingImages(1);
      for (ImageRecord r : List.of(a, b)) {
        assertEquals(ImageStatus.State.CONVERTING, service.onImage(r).status().state());
      }
      assertEquals(1, service.waitingImages());
      List<ImageRecord> byResults = new ArrayList<>();
      for (LayerResult r : stageResults(prefix)) {
        byResults.addAll(requeues(service.onLayerResult(r)));
      }
      assertEquals(List.of(a), byResults, "only the indexed image reacts to its results");
      List<PublishService.Outcome> rescan = service.rescanPending();
      assertEquals(List.of(b), requeues(rescan),
          "the rescan finds the other one (a is held: its requeue is on its way)");
      for (ImageRecord r : List.of(a, b)) {
        assertEquals(ImageStatus.State.PUBLISHED, service.onRequeuedImage(r).status().state());
      }
      assertTrue(service.rescanPending().isEmpty(), "nothing left pending");
    }
  }

  /** Beyond the index limit, a following process's rescan reads the image's record again, not its layers. */
  @Test
  void aRescanReadsOnlyTheRecordOfAnImageBeyondTheIndexLimit() throws Exception {
    String prefix = "svc-limit-follow-" + System.nanoTime();
    ImageRecord a = SUPPORT.seed(REGISTRY, "svc/limit-follow-a");
    ImageRecord b = SUPPORT.seed(REGISTRY, "svc/limit-follow-b");
    S3RequestCounter counter = new S3RequestCounter();
    try (Publisher p = bundlePublisher(); var counted = counter.client(S3.start())) {
      PublishService service = PublishService.create(p, counted, S3.bucket(), prefix, V, Clock.systemUTC())
          .withMaxWaitingImages(1);
      service.followingLayerResults();
      for (ImageRecord r : List.of(a, b)) {
        assertEquals(ImageStatus.State.CONVERTING, service.onImage(r).status().state());
      }
      service.rescanPending();
      counter.take();
      service.rescanPending();
      assertEquals(java.util.Map.of("GetObject", 1L, "ListObjectsV2", 1L), counter.take(),
          "the listing and the record not indexed; its layers are known missing");
    }
  }

  @Test
  void transientFailuresAreRetriedThenFailedWithADeadLetter() throws Exception {
    S3Fixture s3 = S3Fixture.shared().start();
    RecordValidator v = RecordValidator.defaults();
    RouteTestSupport support = new RouteTestSupport();
    String prefix = "svc-down-" + System.nanoTime();
    writeResults(s3, support.stage(s3, prefix, ConversionProfile.TAR_INDEX), v);
    // nothing listens on this port: every attempt is a connection failure
    String down = "127.0.0.1:9";
    ImageRecord image = support.record(down, "svc/down");
    try (Publisher p = support.publisher(s3, down, EnumSet.of(PublishProfile.IMAGE_BUNDLE), true)) {
      PublishService service = PublishService.create(p, s3.client(), s3.bucket(), prefix, v, Clock.systemUTC())
          .withMaxTransientFailures(2);
      PublishService.Outcome first = service.onImage(image);
      assertEquals(ImageStatus.State.PUBLISHING, first.status().state(), first.status().toString());
      assertEquals("registry-unavailable", first.status().reasonCode());
      assertNull(first.deadLetter());
      List<PublishService.Outcome> requeued = service.retryPending();
      assertEquals(1, requeued.size());
      assertEquals(image, requeued.get(0).requeue());
      List<PublishService.Outcome> second = List.of(service.onRequeuedImage(requeued.get(0).requeue()));
      assertEquals(ImageStatus.State.FAILED, second.get(0).status().state());
      assertNotNull(second.get(0).deadLetter());
      assertEquals("registry-unavailable", second.get(0).deadLetter().reasonCode());
      assertEquals(2, second.get(0).deadLetter().attempts());
      second.get(0).status().layers().forEach(l -> assertEquals(ImageStatus.LayerState.FAILED, l.state()));
      assertTrue(service.rescanPending().isEmpty(), "a failed image is no longer pending");
    }
  }
}

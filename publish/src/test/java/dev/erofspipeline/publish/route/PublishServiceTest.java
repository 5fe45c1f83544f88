package dev.erofspipeline.publish.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.publish.PublishProfile;
import dev.erofspipeline.publish.Publisher;
import dev.erofspipeline.publish.RouteTestSupport;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.time.Clock;
import java.util.EnumSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;

/** {@link PublishService} without Kafka: the join through S3, pending images, bounded transient failures. */
class PublishServiceTest {

  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.shared();

  private static void writeResults(S3Fixture s3, List<LayerResult> results, RecordValidator v) {
    for (LayerResult r : results) {
      s3.client().putObject(b -> b.bucket(s3.bucket()).key(r.staging().resultKey()), RequestBody.fromBytes(v.write(r.result())));
    }
  }

  @Test
  void aResultSeenByAnotherProcessIsFoundByTheTimerAfterARestart() throws Exception {
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
      List<PublishService.Outcome> out = restarted.retryPending();
      assertEquals(1, out.size());
      // complete: requeued to erofs.images (keyed by subject), where it is published
      assertEquals(image, out.get(0).requeue());
      assertNull(out.get(0).status());
      PublishService.Outcome published = restarted.onImage(out.get(0).requeue());
      assertEquals(ImageStatus.State.PUBLISHED, published.status().state());
      assertEquals(3, published.status().layersDone());
      assertTrue(restarted.retryPending().isEmpty(), "nothing left pending");
    }
  }

  /** Found by MultiProcessTest: two results of one image arriving together published it twice. */
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
        service.onLayerResult(r).stream().map(PublishService.Outcome::requeue).filter(Objects::nonNull).forEach(requeued::add);
      }
      assertEquals(List.of(image), requeued, "one requeue for the image, not one per result");
      assertEquals(ImageStatus.State.PUBLISHED, service.onImage(requeued.get(0)).status().state());
      assertTrue(service.onLayerResult(results.get(0)).isEmpty(), "a published image waits on nothing");
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
      List<PublishService.Outcome> second = List.of(service.onImage(requeued.get(0).requeue()));
      assertEquals(ImageStatus.State.FAILED, second.get(0).status().state());
      assertNotNull(second.get(0).deadLetter());
      assertEquals("registry-unavailable", second.get(0).deadLetter().reasonCode());
      assertEquals(2, second.get(0).deadLetter().attempts());
      second.get(0).status().layers().forEach(l -> assertEquals(ImageStatus.LayerState.FAILED, l.state()));
      assertTrue(service.retryPending().isEmpty(), "a failed image is no longer pending");
    }
  }
}

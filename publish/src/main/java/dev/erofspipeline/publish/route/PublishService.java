package dev.erofspipeline.publish.route;

import dev.erofspipeline.publish.NativeManifests;
import dev.erofspipeline.publish.PublishException;
import dev.erofspipeline.publish.PublishReport;
import dev.erofspipeline.publish.Publisher;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.RootHashSignature;
import dev.erofspipeline.schemas.SigningRequest;
import dev.erofspipeline.publish.signing.SignatureRejectedException;
import dev.erofspipeline.publish.signing.SignatureStore;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.io.ByteArrayInputStream;
import dev.erofspipeline.schemas.ResultDocument;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The publish stage without Kafka: joins image records with layer results and publishes an image
 * once every layer has a result. S3 is the source of truth for results ({@code result.json} at the
 * staging keys), so a result that arrived before its image, or during a restart, is still found;
 * waiting images are kept in S3 too ({@link PendingImages}).
 *
 * <p>Each process indexes the waiting images it knows (its own image records, and every pending
 * record its full rescans read: {@link #rescanPending()}, at start and every {@code
 * publish.rescanSeconds}) by the layers they wait on, up to {@link #withMaxWaitingImages} images,
 * and is told of every layer result ({@link #onLayerResult}, every process reads all of {@code
 * erofs.layer-results}): a result completes the images waiting on it without reading S3 again for
 * the other layers ({@link StagedResults} caches). The timer ({@link #retryPending()}) looks only
 * at what this process knows needs another look: transient failures, requeued images, images
 * waiting for external signatures. Each call returns what to emit: status records and dead letters.
 */
public final class PublishService {
  private static final Logger LOG = LoggerFactory.getLogger(PublishService.class);
  /** How the status messages about an image's EROFS twin and index begin. */
  public static final String NATIVE_MESSAGE = "EROFS image ";

  /** What to emit: a status record, and a dead letter when the image failed for good. */
  /**
   * What to emit. {@code requeue}: an image that is ready to publish, to be sent back to {@code
   * erofs.images} (keyed by its subject digest) so that the one consumer owning that subject's
   * partition publishes it; only {@link #onImage} publishes, which keeps the writers of one subject
   * in one process even with several publish instances.
   */
  public record Outcome(ImageStatus status, DeadLetter deadLetter, List<SigningRequest> signingRequests, ImageRecord requeue) {
    Outcome(ImageStatus status, DeadLetter deadLetter) {
      this(status, deadLetter, List.of(), null);
    }

    Outcome(ImageStatus status, DeadLetter deadLetter, List<SigningRequest> signingRequests) {
      this(status, deadLetter, signingRequests, null);
    }
  }

  private final Publisher publisher;
  private final StagedResults staging;
  private final PendingImages pending;
  private final NativeTwins twins;
  private final Clock clock;
  private final RecordValidator validator;
  /** External signing (null: the publisher's signer signs). */
  private SignatureStore signatures;
  private SignatureVerifier signatureVerifier;
  /** (layer, root hash) whose signing request this process already emitted. */
  private final Set<String> requested = ConcurrentHashMap.newKeySet();
  /** image -> state summary last emitted by {@link #retryPending()}. */
  private final Map<String, String> lastReported = new ConcurrentHashMap<>();
  /** image -> transient publish failures so far (bounded by {@link #maxTransientFailures}). */
  private final Map<String, Integer> transientFailures = new ConcurrentHashMap<>();
  private volatile int maxTransientFailures = 20;
  /**
   * image -> when it was last sent back to erofs.images. Several layer results of one image can
   * arrive before that record is consumed; one requeue is enough, and a second one would publish
   * the image twice. Held for {@link #REQUEUE_HOLD} in case the requeued record was lost.
   */
  private final Map<String, java.time.Instant> requeuedAt = new ConcurrentHashMap<>();
  private static final java.time.Duration REQUEUE_HOLD = java.time.Duration.ofSeconds(60);
  /**
   * image -> its last publication or failure here, for {@link #SETTLED_HOLD}. Two uses: a requeued
   * record of a request published less than {@link #REQUEUE_HOLD} ago (raced out by a result or the
   * timer while the publication ran) is dropped without a second publication or status, while a new
   * request for the same image still gets its own; and each route decides on its own thread, so a
   * "converting" status the timer or a layer result computed just before another route failed or
   * published the image can reach the status topic after the final one, and in a compacted topic
   * the last record is the only one left (see {@link #isStale}).
   */
  private final Map<String, Settled> settled = new ConcurrentHashMap<>();
  private static final java.time.Duration SETTLED_HOLD = java.time.Duration.ofMinutes(10);

  private record Settled(java.time.Instant at, String correlationId, boolean published) {}
  /** layer digest -> pending image records waiting on it (the images {@link #tracked} here). */
  private final Map<String, Set<ImageRecord>> waiting = new ConcurrentHashMap<>();

  /**
   * A pending image this process indexes in {@link #waiting}, with the ETag of its pending record;
   * {@code adopted}: found by a rescan rather than consumed here, so probably owned by another process.
   */
  private static final class Tracked {
    final ImageRecord image;
    final String etag;
    final boolean adopted;
    /** The last full rescan that listed it (or the one running when it was tracked). */
    volatile long seenInRescan;

    Tracked(ImageRecord image, String etag, boolean adopted, long seenInRescan) {
      this.image = image;
      this.etag = etag;
      this.adopted = adopted;
      this.seenInRescan = seenInRescan;
    }
  }

  /** pending key -> the image indexed here; at most {@link #maxWaitingImages} (the rest waits for a rescan). */
  private final Map<String, Tracked> tracked = new ConcurrentHashMap<>();
  private volatile int maxWaitingImages = 20_000;
  /** When {@link #rescanPendingIfDue} runs the next rescan (null: at once). */
  private java.time.Instant nextRescan;
  /** Full rescans started so far. */
  private final java.util.concurrent.atomic.AtomicLong rescans = new java.util.concurrent.atomic.AtomicLong();
  /**
   * pending key -> an image the timer looks at again: requeued (until its record is consumed or its
   * hold expires), failed transiently, or waiting for external signatures.
   */
  private final Map<String, ImageRecord> retry = new ConcurrentHashMap<>();

  /** Layers the worker gave up on (the most recent 10,000), until a result for one arrives after all. */
  private final Map<String, DeadLetter> failedLayers = java.util.Collections.synchronizedMap(
      new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, DeadLetter> eldest) {
          return size() > 10_000;
        }
      });

  PublishService(Publisher publisher, StagedResults staging, PendingImages pending, NativeTwins twins, Clock clock,
      RecordValidator validator) {
    this.validator = Objects.requireNonNull(validator);
    this.publisher = Objects.requireNonNull(publisher);
    this.staging = Objects.requireNonNull(staging);
    this.pending = Objects.requireNonNull(pending);
    this.twins = Objects.requireNonNull(twins);
    this.clock = clock;
  }

  /**
   * A service staging results at {@code s3://bucket/prefix/layers/...} (the worker's layout) and
   * keeping pending images under {@code prefix/pending/} and published EROFS twins under {@code
   * prefix/native/}.
   */
  public static PublishService create(Publisher publisher, software.amazon.awssdk.services.s3.S3Client s3, String bucket,
      String prefix, RecordValidator validator, Clock clock) {
    return new PublishService(publisher, new StagedResults(s3, bucket, prefix, validator),
        new PendingImages(s3, bucket, prefix, validator), new NativeTwins(s3, bucket, prefix), clock, validator);
  }

  /**
   * How many transient failures (registry unavailable, staging unreadable, signer down) an image
   * may have before it is failed and dead-lettered (default 20; each retry waits for the route's
   * timer).
   */
  public PublishService withMaxTransientFailures(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("maxTransientFailures < 1");
    }
    this.maxTransientFailures = n;
    return this;
  }

  /**
   * How many waiting images this process indexes (default 20,000, a few KB each): beyond that an
   * image is not reacted to when its last layer result arrives but found by the next full rescan.
   */
  public PublishService withMaxWaitingImages(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("maxWaitingImages < 1");
    }
    this.maxWaitingImages = n;
    return this;
  }

  /**
   * From now on every layer result reaches {@link #onLayerResult} (the caller reads all of {@code
   * erofs.layer-results} from a position taken before this call): a layer found missing need not be
   * read again until its result arrives.
   */
  public void followingLayerResults() {
    staging.followAnnouncements();
  }

  /** Waiting images indexed here (a gauge). */
  public int waitingImages() {
    return tracked.size();
  }

  /**
   * Switches to external signing (HSM, KMS; issue 6): the publisher's signer must be {@link
   * SignatureStore#asSigner()} of {@code store}; images wait until every layer's signature has
   * arrived on {@code erofs.signatures} ({@link #onSignature}), and a signing request is emitted for
   * each missing one.
   */
  public PublishService withExternalSigning(SignatureStore store, SignatureVerifier verifier) {
    this.signatures = Objects.requireNonNull(store);
    this.signatureVerifier = Objects.requireNonNull(verifier);
    return this;
  }

  /**
   * An external signature arrived: refused (exception) unless it verifies against the trust anchors
   * (with the certificates it carries as intermediates); then stored, and the images waiting on its
   * layer are tried.
   */
  public List<Outcome> onSignature(RootHashSignature signature) throws IOException, SignatureRejectedException {
    if (signatures == null) {
      throw new IllegalStateException("external signing is off");
    }
    List<X509Certificate> chain = new ArrayList<>();
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      for (byte[] der : signature.certificateChainDer()) {
        chain.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
      }
    } catch (java.security.cert.CertificateException | IllegalArgumentException e) {
      throw new SignatureRejectedException(SignatureRejectedException.Reason.MALFORMED, "certificate chain: " + e.getMessage(), e);
    }
    signatureVerifier.verify(signature.rootHash(), signature.signatureDer(), chain);
    signatures.put(signature);
    List<Outcome> out = new ArrayList<>();
    Set<ImageRecord> images = waiting.get(signature.layerDigest());
    if (images != null) {
      for (ImageRecord image : List.copyOf(images)) {
        out.add(attempt(image, false));
      }
    }
    return out;
  }

  /**
   * A record this service sent back to {@code erofs.images} ({@link Outcome#requeue()}) arrived. It
   * may have waited behind a long backlog, longer than any hold here, while another requeue of the
   * same image was published: if the image no longer waits in the pending store, its publication
   * (or failure) is done and the record is dropped; otherwise as {@link #onImage}.
   */
  public Outcome onRequeuedImage(ImageRecord image) throws IOException {
    if (!pending.contains(image)) {
      return new Outcome(null, null, List.of(), null);
    }
    return onImage(image);
  }

  /** An image record arrived (from ingest, or requeued): publish it if all results exist, else remember it. */
  public Outcome onImage(ImageRecord image) throws IOException {
    String key = imageKey(image);
    java.time.Instant now = clock.instant();
    Settled last = settled.get(key);
    if (last != null && last.published() && last.at().plus(REQUEUE_HOLD).isAfter(now)
        && Objects.equals(last.correlationId(), image.correlationId())) {
      return new Outcome(null, null, List.of(), null);
    }
    requeuedAt.put(key, now); // no requeue of this image while it is being published
    try {
      track(image, pending.put(image), false, rescans.get());
      Outcome o = attempt(image, true);
      if (o.status() != null && o.status().state() != ImageStatus.State.PUBLISHED && tracked.containsKey(pending.key(image))) {
        lastReported.put(key, summary(o.status())); // the next rescan need not say it again
      }
      return o;
    } finally {
      requeuedAt.remove(key);
    }
  }

  /**
   * A layer result arrived: the images waiting on that layer that are now complete are requeued, the
   * ones this process consumed at once; an image a rescan found here is probably another process's,
   * which requeues it on the same result: here it is requeued only if it still waits once the requeue
   * hold has passed ({@link #retryPending()}), as when its owner stopped.
   */
  public List<Outcome> onLayerResult(LayerResult result) throws IOException {
    staging.announced(result);
    failedLayers.remove(result.key());
    List<Outcome> out = new ArrayList<>();
    Set<ImageRecord> images = waiting.get(result.key());
    if (images == null) {
      return out;
    }
    for (ImageRecord image : List.copyOf(images)) {
      Outcome o = attempt(image, false);
      Tracked t = tracked.get(pending.key(image));
      if (o.requeue() != null && t != null && t.adopted && t.image.equals(image)) {
        continue; // held as if requeued: the timer looks again after the hold
      }
      out.add(o);
    }
    return out;
  }

  /**
   * The worker gave up on a layer (a dead letter of stage convert): no result for it will come, so
   * every pending image with that layer fails with the layer's reason and is no longer waited for;
   * so does an image record of that layer arriving later, until a result for it arrives.
   */
  public List<Outcome> onLayerFailed(DeadLetter letter) throws IOException {
    List<Outcome> out = new ArrayList<>();
    String failed = letter.layerDigest();
    if (letter.stage() != DeadLetter.Stage.CONVERT || failed == null) {
      return out;
    }
    failedLayers.put(failed, letter);
    Set<ImageRecord> images = waiting.get(failed);
    if (images == null) {
      return out;
    }
    for (ImageRecord image : List.copyOf(images)) {
      ConversionProfile profile = image.profile() != null ? image.profile() : ConversionProfile.TAR_INDEX;
      if (staging.completedResult(failed, profile).isPresent()) {
        continue; // converted after all (every start reads the dead letters again, old ones too)
      }
      if (pending.contains(image)) {
        out.add(fail(image, letter));
      } else {
        forget(image); // published or failed by another process
      }
    }
    return out;
  }

  /** The image fails because its layer {@code letter} names was dead-lettered. */
  private Outcome fail(ImageRecord image, DeadLetter letter) throws IOException {
    ConversionProfile profile = image.profile() != null ? image.profile() : ConversionProfile.TAR_INDEX;
    List<ImageStatus.Layer> layers = new ArrayList<>();
    int done = 0;
    for (ImageRecord.Layer l : image.layers()) {
      if (l.digest().equals(letter.layerDigest())) {
        layers.add(new ImageStatus.Layer(l.digest(), l.size(), ImageStatus.LayerState.FAILED, letter.reasonCode()));
      } else if (staging.completedResult(l.digest(), profile).isPresent()) {
        layers.add(new ImageStatus.Layer(l.digest(), l.size(), ImageStatus.LayerState.CONVERTED, null));
        done++;
      } else {
        layers.add(new ImageStatus.Layer(l.digest(), l.size(), ImageStatus.LayerState.CONVERTING, null));
      }
    }
    pending.remove(image);
    forget(image);
    settle(image, false);
    LOG.warn("image {} failed: layer {} was dead-lettered ({})", image.subject().digest(), letter.layerDigest(),
        letter.reasonCode());
    return new Outcome(status(image, ImageStatus.State.FAILED, done, "layer " + letter.layerDigest() + ": "
        + letter.message(), letter.reasonCode(), layers, List.of()), null);
  }

  /**
   * The timer: looks again at the images this process knows need it (a transient failure, waiting
   * for external signatures, a requeue whose hold expired: requeued again unless its owner published
   * or failed it meanwhile). Reads nothing for images that wait for layer results.
   */
  public List<Outcome> retryPending() throws IOException {
    expireHolds();
    java.time.Instant now = clock.instant();
    List<Outcome> out = new ArrayList<>();
    for (ImageRecord image : List.copyOf(retry.values())) {
      java.time.Instant requeued = requeuedAt.get(imageKey(image));
      if (requeued != null) {
        if (requeued.plus(REQUEUE_HOLD).isAfter(now)) {
          continue; // its requeued record is on its way
        }
        if (!pending.contains(image)) {
          forget(image); // its owner published or failed it
          continue;
        }
      }
      report(out, image, attempt(image, false));
    }
    return out;
  }

  /**
   * Lists every pending image (at start and every {@code publish.rescanSeconds}), reading only the
   * records not already indexed here under the same ETag: new ones are indexed, complete ones
   * requeued, and indexed images no longer listed are forgotten (published or failed elsewhere).
   * This finds what this process did not see: images of a process that stopped, results and records
   * of a time it was down, images beyond {@link #withMaxWaitingImages}.
   */
  public synchronized List<Outcome> rescanPending() throws IOException {
    expireHolds();
    long pass = rescans.incrementAndGet();
    List<Outcome> out = new ArrayList<>();
    pending.scan((key, etag) -> {
      Tracked t = tracked.get(key);
      return t != null && etag != null && etag.equals(t.etag);
    }, entry -> {
      ImageRecord image;
      if (entry.record() == null) {
        Tracked t = tracked.get(entry.key());
        if (t == null) {
          return; // settled meanwhile
        }
        t.seenInRescan = pass;
        if (staging.followsAnnouncements()) {
          return; // indexed and unchanged: its layer results will tell
        }
        image = t.image;
      } else {
        image = entry.record();
        track(image, entry.etag(), true, pass);
        if (!tracked.containsKey(entry.key()) && waitsOnAKnownMissingLayer(image)) {
          return; // beyond the index limit and not complete: its status was told when it arrived
        }
      }
      report(out, image, attempt(image, false));
    });
    for (Tracked t : List.copyOf(tracked.values())) {
      if (t.seenInRescan < pass) {
        forget(t.image);
      }
    }
    return out;
  }

  /**
   * {@link #rescanPending()} once this process follows the layer results ({@link
   * #followingLayerResults}) and then every {@code period}; {@code afterFailure} after one that failed
   * (S3 unavailable). Empty when none is due. Called by a frequent timer so that the start rescan runs
   * as soon as the results reader has its position, on a thread of its own.
   */
  public synchronized List<Outcome> rescanPendingIfDue(java.time.Duration period, java.time.Duration afterFailure)
      throws IOException {
    java.time.Instant now = clock.instant();
    if (!staging.followsAnnouncements() || (nextRescan != null && now.isBefore(nextRescan))) {
      return List.of();
    }
    nextRescan = now.plus(afterFailure);
    List<Outcome> out = rescanPending();
    nextRescan = now.plus(period);
    return out;
  }

  private boolean waitsOnAKnownMissingLayer(ImageRecord image) {
    ConversionProfile profile = image.profile() != null ? image.profile() : ConversionProfile.TAR_INDEX;
    return image.layers().stream().anyMatch(l -> staging.knownMissing(l.digest(), profile));
  }

  private void expireHolds() {
    java.time.Instant forgotten = clock.instant().minus(SETTLED_HOLD);
    settled.values().removeIf(p -> p.at().isBefore(forgotten));
  }

  /** Adds a timer or rescan outcome to {@code out}: requeues always, statuses only when they changed. */
  private void report(List<Outcome> out, ImageRecord image, Outcome o) {
    if (o.requeue() != null) {
      out.add(o);
      return;
    }
    if (o.status() == null) {
      return; // already requeued, waiting for that record
    }
    // a timer pass reports changes only, not the same "converting" line again and again
    String summary = summary(o.status());
    // only for indexed images: forget() drops it when they settle, and a rescan skips the others once told
    boolean changed = !tracked.containsKey(pending.key(image)) || !summary.equals(lastReported.put(imageKey(image), summary));
    if (o.deadLetter() != null || !o.signingRequests().isEmpty() || changed) {
      out.add(o);
    }
  }

  private static String summary(ImageStatus status) {
    return status.state() + " " + status.layersDone() + " " + status.reasonCode();
  }

  /** Indexes {@code image} (replacing an earlier request for it) unless the index is full. */
  private void track(ImageRecord image, String etag, boolean adopted, long pass) {
    String key = pending.key(image);
    Tracked before = tracked.get(key);
    if (before == null && tracked.size() >= maxWaitingImages) {
      return;
    }
    tracked.put(key, new Tracked(image, etag, adopted, pass));
    if (before != null && !before.image.equals(image)) {
      unwaitAll(before.image);
    }
  }

  private Outcome attempt(ImageRecord image, boolean publishNow) throws IOException {
    ConversionProfile profile = image.profile() != null ? image.profile() : ConversionProfile.TAR_INDEX;
    ConversionProfile nativeProfile = image.nativeImage() == null ? null : image.nativeImage().profile();
    List<LayerResult> results = new ArrayList<>();
    List<LayerResult> nativeResults = new ArrayList<>();
    List<ImageStatus.Layer> layers = new ArrayList<>();
    String pendingKey = pending.key(image);
    Tracked t = tracked.get(pendingKey);
    boolean indexed = t != null && t.image.equals(image);
    for (ImageRecord.Layer l : image.layers()) {
      if (indexed) {
        // before the read: a result arriving after the read finds the image waiting
        waitOn(l.digest(), image);
      }
      Optional<ResultDocument> doc = staging.completedResult(l.digest(), profile);
      Optional<ResultDocument> nat = nativeProfile == null ? Optional.empty() : staging.completedResult(l.digest(), nativeProfile);
      if (doc.isPresent() && (nativeProfile == null || nat.isPresent())) {
        results.add(new LayerResult(doc.get(), staging.location(l.digest(), profile), image.registry(), image.repository(), true,
            image.correlationId()));
        nat.ifPresent(n -> nativeResults.add(new LayerResult(n, staging.location(l.digest(), nativeProfile), image.registry(),
            image.repository(), true, image.correlationId())));
        layers.add(new ImageStatus.Layer(l.digest(), l.size(), ImageStatus.LayerState.CONVERTED, null));
        if (indexed) {
          unwait(l.digest(), image);
        }
      } else {
        DeadLetter failed = failedLayers.get(l.digest());
        if (failed != null) {
          return fail(image, failed);
        }
        layers.add(new ImageStatus.Layer(l.digest(), l.size(), ImageStatus.LayerState.CONVERTING, null));
      }
    }
    int total = image.layers().size();
    if (results.size() < total) {
      if (indexed) {
        retry.remove(pendingKey); // its layer results will tell
      }
      return new Outcome(status(image, ImageStatus.State.CONVERTING, results.size(), null, null, layers, List.of()), null);
    }
    if (signatures != null) {
      List<SigningRequest> requests = new ArrayList<>();
      int missing = 0;
      List<LayerResult> toSign = new ArrayList<>(results);
      toSign.addAll(nativeResults);
      for (LayerResult r : toSign) {
        String layer = r.result().layerDigest();
        if (signatures.find(layer, r.result().rootHash()).isEmpty()) {
          missing++;
          waitOn(layer, image);
          if (requested.add(layer + " " + r.result().rootHash())) {
            requests.add(new SigningRequest(layer, r.result().rootHash(), r.result().profile(), image.correlationId()));
          }
        }
      }
      if (missing > 0) {
        retry.put(pendingKey, image);
        return new Outcome(status(image, ImageStatus.State.PUBLISHING, total, null, null, layers,
            List.of("waiting for " + missing + " external signatures")), null, requests);
      }
    }
    if (!publishNow) {
      retry.put(pendingKey, image); // looked at again if the requeued record does not arrive
      java.time.Instant now = clock.instant();
      java.time.Instant last = requeuedAt.get(imageKey(image));
      if (last != null && last.plus(REQUEUE_HOLD).isAfter(now)) {
        return new Outcome(null, null, List.of(), null);
      }
      requeuedAt.put(imageKey(image), now);
      return new Outcome(null, null, List.of(), image);
    }
    try {
      PublishReport report = publisher.publish(image, results);
      List<String> nativeMessages = nativeProfile == null ? List.of() : publishNative(image, nativeResults);
      transientFailures.remove(imageKey(image));
      forget(image);
      pending.remove(image);
      settle(image, true);
      List<ImageStatus.Layer> done = image.layers().stream()
          .map(l -> new ImageStatus.Layer(l.digest(), l.size(), ImageStatus.LayerState.PUBLISHED, null)).toList();
      List<String> messages = new ArrayList<>(nativeMessages);
      for (String r : report.replaced()) {
        if (messages.size() == 31) {
          messages.add("and " + (report.replaced().size() - 31) + " more replaced referrers");
          break;
        }
        messages.add(DeadLetter.truncate("replaced referrer " + r, 1024));
      }
      return new Outcome(status(image, ImageStatus.State.PUBLISHED, total, null, null, done, messages), null);
    } catch (PublishException e) {
      List<ImageStatus.Layer> marked = new ArrayList<>();
      for (ImageRecord.Layer l : image.layers()) {
        boolean missing = e.missingLayers().contains(l.digest());
        marked.add(new ImageStatus.Layer(l.digest(), l.size(), missing ? ImageStatus.LayerState.FAILED : ImageStatus.LayerState.PUBLISHED,
            missing ? "not published: " + e.reasonCode() : null));
      }
      String imageKey = imageKey(image);
      int failures = e.isTransient() ? transientFailures.merge(imageKey, 1, Integer::sum) : 0;
      if (e.isTransient() && failures < maxTransientFailures) {
        retry.put(pendingKey, image);
        LOG.warn("publishing {} failed ({} of {}), will retry: {}", image.subject().digest(), failures, maxTransientFailures,
            e.getMessage());
        return new Outcome(status(image, ImageStatus.State.PUBLISHING, total, e.getMessage(), e.reasonCode(), marked,
            List.of("will retry")), null);
      }
      LOG.warn("publishing {} failed: {}", image.subject().digest(), e.getMessage());
      transientFailures.remove(imageKey);
      forget(image);
      pending.remove(image);
      settle(image, false);
      DeadLetter letter = DeadLetter.of(DeadLetter.Stage.PUBLISH, DeadLetter.Input.of(validator.write(image)), e, e.reasonCode(),
          Math.max(1, failures),
          image.correlationId());
      return new Outcome(status(image, ImageStatus.State.FAILED, total, e.getMessage(), e.reasonCode(), marked, List.of()), letter);
    }
  }

  /**
   * Publishes the image's EROFS twin, then the EROFS index once every manifest of the request has its
   * twin (this one may be the last); returns what to tell people.
   */
  private List<String> publishNative(ImageRecord image, List<LayerResult> nativeResults) throws PublishException, IOException {
    Publisher.NativeTwin twin = publisher.publishNative(image, nativeResults);
    ConversionProfile profile = image.nativeImage().profile();
    twins.put(image.subject().digest(), profile, twin.manifest());
    List<NativeManifests.Twin> all = new ArrayList<>();
    for (String m : image.nativeImage().manifests()) {
      Optional<Manifest> t = m.equals(image.subject().digest()) ? Optional.of(twin.manifest()) : twins.get(m, profile);
      if (t.isEmpty()) {
        return List.of(NATIVE_MESSAGE + twin.manifest().digest() + " published; the EROFS index waits for the twin of " + m);
      }
      all.add(new NativeManifests.Twin(m, t.get()));
    }
    String tag = publisher.publishNativeIndex(image, all, image.indexDigest() == null ? twin.legacyPlatform() : null);
    return List.of(NATIVE_MESSAGE + twin.manifest().digest() + " published; EROFS index at tag " + tag);
  }

  /**
   * Whether {@code status} was overtaken: it is not final, and this request's image was published or
   * failed here since. The route sends statuses one at a time and drops stale ones (checking and
   * sending under one lock), so an image's final status is the last one on the topic.
   */
  public boolean isStale(ImageStatus status) {
    if (status.state() == ImageStatus.State.PUBLISHED || status.state() == ImageStatus.State.FAILED) {
      return false;
    }
    Settled s = settled.get(imageKey(status.registry(), status.repository(), status.subjectDigest()));
    return s != null && Objects.equals(s.correlationId(), status.correlationId());
  }

  private void settle(ImageRecord image, boolean published) {
    settled.put(imageKey(image), new Settled(clock.instant(), image.correlationId(), published));
  }

  private static String imageKey(ImageRecord image) {
    return imageKey(image.registry(), image.repository(), image.subject().digest());
  }

  private static String imageKey(String registry, String repository, String subjectDigest) {
    return registry + "/" + repository + "@" + subjectDigest;
  }

  /** This process no longer waits for {@code image}: published, failed, or settled elsewhere. */
  private void forget(ImageRecord image) {
    unwaitAll(image);
    String key = pending.key(image);
    tracked.computeIfPresent(key, (k, t) -> t.image.equals(image) ? null : t);
    retry.remove(key, image);
    lastReported.remove(imageKey(image));
    requeuedAt.remove(imageKey(image));
  }

  private void unwaitAll(ImageRecord image) {
    for (ImageRecord.Layer l : image.layers()) {
      unwait(l.digest(), image);
    }
  }

  private void waitOn(String layer, ImageRecord image) {
    waiting.compute(layer, (k, s) -> {
      Set<ImageRecord> images = s == null ? ConcurrentHashMap.newKeySet() : s;
      images.add(image);
      return images;
    });
  }

  private void unwait(String layer, ImageRecord image) {
    waiting.computeIfPresent(layer, (k, s) -> {
      s.remove(image);
      return s.isEmpty() ? null : s;
    });
  }

  private ImageStatus status(ImageRecord image, ImageStatus.State state, int done, String reason, String reasonCode,
      List<ImageStatus.Layer> layers, List<String> messages) {
    return new ImageStatus(image.subject().digest(), image.registry(), image.repository(), image.reference(), image.platform(),
        state, image.layers().size(), done, reason == null ? null : DeadLetter.truncate(reason, 4000), reasonCode, layers, messages,
        image.profile(), image.correlationId(), clock.instant());
  }
}

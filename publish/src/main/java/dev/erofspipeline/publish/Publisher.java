package dev.erofspipeline.publish;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.erofspipeline.publish.signing.RootHashSigner;
import dev.erofspipeline.publish.signing.SignatureRejectedException;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.Registries;
import dev.erofspipeline.registry.RegistryException;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.ResultDocument;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Publishes the artifacts of one image manifest (ARCHITECTURE.md "Attachment"): signs every root
 * hash, checks each signature with the {@link SignatureVerifier} before anything is written, moves
 * the staged index and tree from the {@link ArtifactSource} to the registry (HEAD first, mounted from
 * another repository of the same registry when this publisher put it there, else uploaded; large
 * blobs in chunks by the registry client), then writes the referrers of the enabled profiles.
 *
 * <p>Deterministic and idempotent: the manifests are a function of the image record, the results and
 * the signatures (see {@link ReferrerManifests}), present blobs and manifests are not written again,
 * and the referrers index de-duplicates, so publishing twice changes nothing. Writes for one subject
 * are serialized within the process. An existing referrer of the same artifact type on the same
 * subject but with other bytes (another profile fingerprint, another key) is replaced: ours is written
 * first, then the old one is deleted and dropped from the referrers index, so a consumer never sees
 * zero or (after we finish) two. Retries are the registry client's; what is left fails with a {@link
 * PublishException} that names the layers that are not published. Thread-safe.
 */
public final class Publisher implements AutoCloseable {

  private static final Pattern ROOT_HASH = Pattern.compile("[0-9a-f]{64}");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ConcurrentHashMap<String, ReentrantLock> SUBJECT_LOCKS = new ConcurrentHashMap<>();

  private final Function<String, RegistryTarget> opener;
  private final ConcurrentHashMap<String, RegistryTarget> targets = new ConcurrentHashMap<>();
  private final ArtifactSource artifacts;
  private final RootHashSigner signer;
  private final SignatureVerifier verifier;
  private final Set<PublishProfile> profiles;
  private final boolean nativeTagInPlace;
  /** registry + " " + blob digest -> a repository of that registry where this publisher put it. */
  private final ConcurrentHashMap<String, String> blobHomes = new ConcurrentHashMap<>();
  /** Layer-profile publications done by this publisher (registry, repository, wrapper, referrers). */
  private final Set<String> layersDone = ConcurrentHashMap.newKeySet();

  private Publisher(Builder b) {
    this.opener = b.opener != null ? b.opener : r -> Registries.open(r, b.options);
    this.artifacts = Objects.requireNonNull(b.artifacts, "artifacts");
    this.signer = Objects.requireNonNull(b.signer, "signer");
    this.verifier = Objects.requireNonNull(b.verifier, "verifier");
    this.profiles = EnumSet.copyOf(b.profiles);
    this.nativeTagInPlace = b.nativeTagInPlace;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Configuration of a {@link Publisher}. */
  public static final class Builder {
    private Function<String, RegistryTarget> opener;
    private RegistryOptions options = RegistryOptions.defaults();
    private ArtifactSource artifacts;
    private RootHashSigner signer;
    private SignatureVerifier verifier;
    private Set<PublishProfile> profiles = EnumSet.allOf(PublishProfile.class);
    private boolean nativeTagInPlace;

    /** Options for the registries opened from an image record's {@code registry} field. */
    public Builder registryOptions(RegistryOptions o) {
      this.options = Objects.requireNonNull(o);
      return this;
    }

    /** How to open the target an image record's {@code registry} names (default: {@link Registries#open}). */
    public Builder targets(Function<String, RegistryTarget> opener) {
      this.opener = opener;
      return this;
    }

    public Builder artifacts(ArtifactSource a) {
      this.artifacts = a;
      return this;
    }

    public Builder signer(RootHashSigner s) {
      this.signer = s;
      return this;
    }

    /** Every signature must pass it before it is published. */
    public Builder verifier(SignatureVerifier v) {
      this.verifier = v;
      return this;
    }

    public Builder profiles(Set<PublishProfile> p) {
      if (p.isEmpty()) {
        throw new IllegalArgumentException("no profile");
      }
      this.profiles = EnumSet.copyOf(p);
      return this;
    }

    /**
     * Whether the EROFS image index replaces the requested tag itself instead of going under the
     * derived tag ({@link NativeManifests#tag}); off by default.
     */
    public Builder nativeTagInPlace(boolean inPlace) {
      this.nativeTagInPlace = inPlace;
      return this;
    }

    public Publisher build() {
      return new Publisher(this);
    }
  }

  private record Prepared(ImageRecord.Layer layer, ResultDocument result, LayerResult staged, byte[] signature,
      Descriptor index, Descriptor tree, Descriptor sig) {}

  /**
   * Publishes the image's artifacts.
   *
   * @param image the image record (subject, repository, layers in manifest order)
   * @param results a result for every layer of the image (extra results are ignored)
   */
  public PublishReport publish(ImageRecord image, List<LayerResult> results) throws PublishException {
    List<String> allLayers = image.layers().stream().map(ImageRecord.Layer::digest).distinct().toList();
    if (allLayers.isEmpty()) {
      throw new PublishException(PublishException.Reason.RESULTS_INCOMPLETE, "image " + image.subject().digest() + " has no layers",
          List.of(), null);
    }
    Map<String, LayerResult> byDigest = new LinkedHashMap<>();
    for (LayerResult r : results) {
      if (r != null && r.result() != null) {
        byDigest.putIfAbsent(r.result().layerDigest(), r);
      }
    }
    String fingerprint = image.profile() == null ? null : image.profile().fingerprint();
    List<String> missing = new ArrayList<>();
    for (String d : allLayers) {
      LayerResult r = byDigest.get(d);
      if (r == null || r.staging() == null
          || (fingerprint != null && r.result().profile() != null && !fingerprint.equals(r.result().profile().fingerprint()))
          || r.result().rootHash() == null || !ROOT_HASH.matcher(r.result().rootHash()).matches()) {
        missing.add(d);
      }
    }
    if (!missing.isEmpty()) {
      throw new PublishException(PublishException.Reason.RESULTS_INCOMPLETE, "image " + image.subject().digest()
          + ": no usable result (profile " + fingerprint + ") for " + missing.size() + " of " + allLayers.size() + " layers",
          allLayers, null);
    }

    // sign and check every signature before anything is written
    Map<String, Prepared> prepared = new LinkedHashMap<>();
    for (ImageRecord.Layer l : image.layers()) {
      if (prepared.containsKey(l.digest())) {
        continue;
      }
      LayerResult r = byDigest.get(l.digest());
      byte[] sig = signChecked(l.digest(), r.result().rootHash(), allLayers);
      ResultDocument doc = r.result();
      prepared.put(l.digest(), new Prepared(l, doc, r, sig,
          new Descriptor(MediaTypes.EROFS_METADATA, "sha256:" + doc.indexSha256(), doc.indexSize()),
          new Descriptor(MediaTypes.EROFS_MERKLE_TREE, "sha256:" + doc.treeSha256(), doc.treeSize()),
          BlobSource.of(sig).descriptor(MediaTypes.EROFS_LAYER_SIGNATURE)));
    }

    String registry = image.registry();
    String repo = image.repository();
    RegistryTarget target = targets.computeIfAbsent(registry, opener);
    Counts counts = new Counts();

    // blobs
    try {
      putBlob(target, registry, repo, BlobSource.of(ReferrerManifests.emptyConfigBytes()), counts);
    } catch (IOException e) {
      throw registryFailure("empty config blob", e, allLayers);
    }
    List<String> failed = new ArrayList<>();
    PublishException firstFailure = null;
    for (Prepared p : prepared.values()) {
      try {
        putBlob(target, registry, repo, artifacts.index(p.staged()), counts);
        putBlob(target, registry, repo, artifacts.tree(p.staged()), counts);
        putBlob(target, registry, repo, BlobSource.of(p.signature()), counts);
      } catch (IOException | RuntimeException e) {
        failed.add(p.layer().digest());
        if (firstFailure == null) {
          firstFailure = registryFailure("layer " + p.layer().digest() + " artifacts", e, List.of());
        }
      }
    }
    if (firstFailure != null) {
      throw new PublishException(firstFailure.reason(), "image " + image.subject().digest() + ": " + firstFailure.getMessage()
          + "; nothing was attached", allLayers, firstFailure.getCause());
    }

    Map<String, String> annotations = ReferrerManifests.manifestAnnotations(
        image.profile() == null ? null : image.profile().name(), fingerprint,
        prepared.values().iterator().next().result().erofsUtilsVersion());
    List<String> replaced = new ArrayList<>();
    String bundleDigest = null;
    if (profiles.contains(PublishProfile.IMAGE_BUNDLE)) {
      List<ReferrerManifests.LayerPayloads> payloads = new ArrayList<>();
      for (ImageRecord.Layer l : image.layers()) {
        Prepared p = prepared.get(l.digest());
        payloads.add(new ReferrerManifests.LayerPayloads(l.digest(), p.result().rootHash(), p.index(), p.tree(), p.sig()));
      }
      Descriptor subject = new Descriptor(image.subject().mediaType(), image.subject().digest(), image.subject().size());
      Manifest bundle = ReferrerManifests.bundle(subject, payloads, annotations);
      try {
        attach(target, registry, repo, subject.digest(), bundle, MediaTypes.EROFS_DMVERITY_BUNDLE, annotations, replaced);
      } catch (IOException | RuntimeException e) {
        throw registryFailure("image " + image.subject().digest() + ": image bundle not attached", e, allLayers);
      }
      bundleDigest = bundle.digest();
    }

    List<PublishReport.Layer> layerReports = new ArrayList<>();
    for (Prepared p : prepared.values()) {
      String wrapperDigest = null;
      List<String> refs = List.of();
      if (profiles.contains(PublishProfile.LAYER)) {
        try {
          Manifest wrapper = ReferrerManifests.wrapper(p.layer().mediaType(), p.layer().digest(), p.layer().size());
          wrapperDigest = wrapper.digest();
          refs = publishLayer(target, registry, repo, p, wrapper, annotations, replaced);
        } catch (IOException | RuntimeException e) {
          failed.add(p.layer().digest());
          if (firstFailure == null) {
            firstFailure = registryFailure("layer " + p.layer().digest() + " (layer profile)", e, List.of());
          }
        }
      }
      layerReports.add(new PublishReport.Layer(p.layer().digest(), p.result().rootHash(), wrapperDigest, refs));
    }
    if (firstFailure != null) {
      throw new PublishException(firstFailure.reason(), "image " + image.subject().digest() + ": " + firstFailure.getMessage()
          + (bundleDigest != null ? "; the image bundle " + bundleDigest + " is attached" : ""), failed, firstFailure.getCause());
    }
    return new PublishReport(image.subject().digest(), bundleDigest, layerReports, List.copyOf(replaced),
        counts.uploaded.get(), counts.mounted.get(), counts.present.get());
  }

  /** Signs a root hash and checks the signature before anything is written. */
  private byte[] signChecked(String layerDigest, String rootHash, List<String> allLayers) throws PublishException {
    byte[] sig;
    try {
      sig = signer.sign(layerDigest, rootHash);
    } catch (RuntimeException e) {
      throw new PublishException(PublishException.Reason.SIGNING_FAILED, "layer " + layerDigest + ": " + e.getMessage(),
          allLayers, e);
    }
    try {
      verifier.verify(rootHash, sig);
    } catch (SignatureRejectedException e) {
      throw new PublishException(PublishException.Reason.SIGNATURE_REJECTED,
          "layer " + layerDigest + ": signature refused before publishing: " + e.getMessage(), allLayers, e);
    }
    return sig;
  }

  /**
   * What {@link #publishNative} wrote.
   *
   * @param manifest the EROFS twin of the image manifest
   * @param legacyPlatform the platform of the image manifest, from its config (for an index entry
   *     when the request named the manifest itself)
   * @param signaturesDigest the referrer holding the root-hash signatures of the twin's layers
   */
  public record NativeTwin(Manifest manifest, ObjectNode legacyPlatform, String signaturesDigest) {}

  /**
   * Publishes the EROFS twin of the image manifest (native profile, {@code docs/native-layers.md}):
   * signs every root hash and checks each signature first, streams the EROFS blobs from the {@link
   * ArtifactSource}, writes the twin's config (the legacy config with the EROFS blob digests as
   * diffIDs and the {@code erofs} OS feature) and manifest (by digest, untagged), and attaches the
   * signatures as one referrer of the twin. Idempotent like {@link #publish}.
   *
   * @param results a native-profile result for every layer of the image
   */
  public NativeTwin publishNative(ImageRecord image, List<LayerResult> results) throws PublishException {
    List<String> allLayers = image.layers().stream().map(ImageRecord.Layer::digest).distinct().toList();
    String fingerprint = image.nativeImage() == null ? null : image.nativeImage().profile().fingerprint();
    Map<String, LayerResult> byDigest = new LinkedHashMap<>();
    for (LayerResult r : results) {
      if (r != null && r.result() != null && r.result().isNative() && r.staging() != null && r.staging().blobKey() != null
          && r.result().profile() != null && r.result().profile().fingerprint().equals(fingerprint)
          && r.result().rootHash() != null && ROOT_HASH.matcher(r.result().rootHash()).matches()) {
        byDigest.putIfAbsent(r.result().layerDigest(), r);
      }
    }
    List<String> missing = allLayers.stream().filter(d -> !byDigest.containsKey(d)).toList();
    if (allLayers.isEmpty() || !missing.isEmpty()) {
      throw new PublishException(PublishException.Reason.RESULTS_INCOMPLETE, "image " + image.subject().digest()
          + ": no native result (profile " + fingerprint + ") for " + missing.size() + " of " + allLayers.size() + " layers",
          allLayers, null);
    }
    Map<String, byte[]> signatures = new LinkedHashMap<>();
    for (String d : allLayers) {
      signatures.put(d, signChecked(d, byDigest.get(d).result().rootHash(), allLayers));
    }
    List<NativeManifests.Layer> layers = new ArrayList<>();
    for (ImageRecord.Layer l : image.layers()) {
      ResultDocument doc = byDigest.get(l.digest()).result();
      layers.add(new NativeManifests.Layer(doc.blob().digest(), doc.blob().size(), doc.blob().hashOffset(), doc.rootHash(),
          doc.dataBlockSize(), l.digest()));
    }

    String registry = image.registry();
    String repo = image.repository();
    RegistryTarget target = targets.computeIfAbsent(registry, opener);
    byte[] legacyConfig;
    try {
      JsonNode legacy = JSON.readTree(target.getManifest(repo, image.subject().digest()).bytes());
      legacyConfig = target.getBlob(repo, legacy.path("config").path("digest").asText());
    } catch (IOException | RuntimeException e) {
      throw registryFailure("image " + image.subject().digest() + ": reading its config", e, allLayers);
    }
    byte[] config;
    ObjectNode legacyPlatform;
    try {
      config = NativeManifests.config(legacyConfig, layers);
      legacyPlatform = NativeManifests.platform(legacyConfig);
    } catch (IOException e) {
      throw new PublishException(PublishException.Reason.SOURCE_IMAGE_INVALID, "image " + image.subject().digest() + ": "
          + e.getMessage(), allLayers, e);
    }
    Map<String, String> annotations = ReferrerManifests.manifestAnnotations(image.nativeImage().profile().name(),
        fingerprint, null);
    Map<String, String> twinAnnotations = new java.util.TreeMap<>(annotations);
    twinAnnotations.put(Annotations.SOURCE_MANIFEST, image.subject().digest());
    BlobSource configBlob = BlobSource.of(config);
    Manifest twin = NativeManifests.manifest(configBlob.descriptor(MediaTypes.OCI_CONFIG), layers, twinAnnotations);

    Counts counts = new Counts();
    List<ReferrerManifests.LayerSignature> sigs = new ArrayList<>();
    try {
      putBlob(target, registry, repo, BlobSource.of(ReferrerManifests.emptyConfigBytes()), counts);
      Set<String> pushed = new java.util.HashSet<>();
      for (ImageRecord.Layer l : image.layers()) {
        LayerResult r = byDigest.get(l.digest());
        BlobSource sig = BlobSource.of(signatures.get(l.digest()));
        if (pushed.add(l.digest())) {
          putBlob(target, registry, repo, artifacts.blob(r), counts);
          putBlob(target, registry, repo, sig, counts);
        }
        sigs.add(new ReferrerManifests.LayerSignature(r.result().blob().digest(), r.result().rootHash(),
            sig.descriptor(MediaTypes.EROFS_LAYER_SIGNATURE)));
      }
      putBlob(target, registry, repo, configBlob, counts);
      if (target.headManifest(repo, twin.digest()).isEmpty()) {
        target.putManifest(repo, twin.digest(), twin);
      }
    } catch (IOException | RuntimeException e) {
      throw registryFailure("image " + image.subject().digest() + ": EROFS twin not written", e, allLayers);
    }
    Manifest signed = ReferrerManifests.nativeSignatures(twin.descriptor(), sigs, annotations);
    try {
      attach(target, registry, repo, twin.digest(), signed, MediaTypes.EROFS_LAYER_SIGNATURE, annotations, new ArrayList<>());
    } catch (IOException | RuntimeException e) {
      throw registryFailure("image " + image.subject().digest() + ": signatures of the EROFS twin " + twin.digest()
          + " not attached", e, allLayers);
    }
    return new NativeTwin(twin, legacyPlatform, signed.digest());
  }

  /**
   * Writes the EROFS image index under its tag ({@link NativeManifests#tag}: {@code <tag>-erofs} by
   * default, the requested tag itself with {@link Builder#nativeTagInPlace} or when the request
   * named an index that already lists twins): the legacy manifests of the request, then the twins,
   * in order. Written only when the tag does not already name it.
   *
   * @param twins the twin of every manifest of {@code image.nativeImage().manifests()}, in that order
   * @param legacyPlatform the image manifest's platform when the request named it without an index
   * @return the tag
   */
  public String publishNativeIndex(ImageRecord image, List<NativeManifests.Twin> twins, JsonNode legacyPlatform)
      throws PublishException {
    List<String> allLayers = image.layers().stream().map(ImageRecord.Layer::digest).distinct().toList();
    String registry = image.registry();
    String repo = image.repository();
    RegistryTarget target = targets.computeIfAbsent(registry, opener);
    String top = image.indexDigest() != null ? image.indexDigest() : image.subject().digest();
    String tag;
    Manifest index;
    try {
      byte[] legacyIndex = image.indexDigest() == null ? null : target.getManifest(repo, image.indexDigest()).bytes();
      // a request for an EROFS index (its derived tag, met again by a backfill crawl) keeps that tag
      tag = NativeManifests.tag(image.reference(), top,
          nativeTagInPlace || (legacyIndex != null && NativeManifests.listsTwins(legacyIndex)));
      index = NativeManifests.index(legacyIndex,
          new Descriptor(image.subject().mediaType(), image.subject().digest(), image.subject().size()), legacyPlatform,
          twins);
    } catch (IOException | RuntimeException e) {
      throw registryFailure("image " + top + ": EROFS index not written", e, allLayers);
    }
    ReentrantLock lock = lockFor(registry, repo, "tag:" + tag);
    lock.lock();
    try {
      Optional<Descriptor> tagged = target.headManifest(repo, tag);
      if (tagged.isEmpty() || !tagged.get().digest().equals(index.digest())) {
        target.putManifest(repo, tag, index);
      }
    } catch (IOException | RuntimeException e) {
      throw registryFailure("image " + top + ": EROFS index not tagged " + tag, e, allLayers);
    } finally {
      lock.unlock();
    }
    return tag;
  }

  private List<String> publishLayer(RegistryTarget target, String registry, String repo, Prepared p, Manifest wrapper,
      Map<String, String> annotations, List<String> replaced) throws IOException {
    Descriptor w = wrapper.descriptor();
    List<Manifest> referrers = List.of(
        ReferrerManifests.layerReferrer(w, p.tree(), p.layer().digest(), p.result().rootHash(), annotations),
        ReferrerManifests.layerReferrer(w, p.index(), p.layer().digest(), p.result().rootHash(), annotations),
        ReferrerManifests.layerReferrer(w, p.sig(), p.layer().digest(), p.result().rootHash(), annotations));
    List<String> digests = referrers.stream().map(Manifest::digest).toList();
    String key = registry + "/" + repo + "@" + wrapper.digest() + " " + String.join(",", digests);
    if (layersDone.contains(key)) {
      return digests; // a layer shared by several images: once per publisher
    }
    ReentrantLock lock = lockFor(registry, repo, wrapper.digest());
    lock.lock();
    try {
      String tag = ReferrerManifests.wrapperTag(p.layer().digest());
      Optional<Descriptor> tagged = target.headManifest(repo, tag);
      if (tagged.isEmpty() || !tagged.get().digest().equals(wrapper.digest())) {
        target.putManifest(repo, tag, wrapper);
      }
      String[] types = {MediaTypes.EROFS_MERKLE_TREE, MediaTypes.EROFS_METADATA, MediaTypes.EROFS_LAYER_SIGNATURE};
      for (int i = 0; i < referrers.size(); i++) {
        attachLocked(target, repo, wrapper.digest(), referrers.get(i), types[i], annotations, replaced);
      }
    } finally {
      lock.unlock();
    }
    layersDone.add(key);
    return digests;
  }

  private void attach(RegistryTarget target, String registry, String repo, String subject, Manifest m, String artifactType,
      Map<String, String> annotations, List<String> replaced) throws IOException {
    ReentrantLock lock = lockFor(registry, repo, subject);
    lock.lock();
    try {
      attachLocked(target, repo, subject, m, artifactType, annotations, replaced);
    } finally {
      lock.unlock();
    }
  }

  /** Writes {@code m} as a referrer of {@code subject}, then removes other referrers of the same artifact type. */
  private void attachLocked(RegistryTarget target, String repo, String subject, Manifest m, String artifactType,
      Map<String, String> annotations, List<String> replaced) throws IOException {
    if (target.headManifest(repo, m.digest()).isEmpty()) {
      target.putManifest(repo, m.digest(), m);
    }
    target.addReferrer(repo, subject, Descriptor.of(m, artifactType, annotations));
    for (Descriptor old : target.referrers(repo, subject, artifactType)) {
      if (old.digest().equals(m.digest())) {
        continue;
      }
      try {
        target.deleteManifest(repo, old.digest());
      } catch (RegistryException e) {
        if (!e.isNotFound()) {
          throw e;
        }
      }
      target.removeReferrer(repo, subject, old.digest());
      String fp = old.annotations().get(Annotations.PROFILE_FINGERPRINT);
      replaced.add(subject + " -> " + old.digest() + " (" + artifactType + ", profile fingerprint "
          + (fp == null ? "none" : fp) + ")");
    }
  }

  private static ReentrantLock lockFor(String registry, String repo, String subject) {
    return SUBJECT_LOCKS.computeIfAbsent(registry + "/" + repo + "@" + subject, k -> new ReentrantLock());
  }

  private static final class Counts {
    final AtomicInteger uploaded = new AtomicInteger();
    final AtomicInteger mounted = new AtomicInteger();
    final AtomicInteger present = new AtomicInteger();
  }

  private void putBlob(RegistryTarget target, String registry, String repo, BlobSource blob, Counts counts) throws IOException {
    String key = registry + " " + blob.digest();
    if (target.blobExists(repo, blob.digest())) {
      counts.present.incrementAndGet();
      blobHomes.putIfAbsent(key, repo);
      return;
    }
    String home = blobHomes.get(key);
    if (home != null && !home.equals(repo) && target.mountBlob(repo, blob.digest(), home)) {
      counts.mounted.incrementAndGet();
      return;
    }
    target.pushBlob(repo, blob);
    counts.uploaded.incrementAndGet();
    blobHomes.putIfAbsent(key, repo);
  }

  private static PublishException registryFailure(String what, Throwable e, List<String> missing) {
    PublishException.Reason reason;
    if (e instanceof RegistryException re) {
      reason = re.isTransient() ? PublishException.Reason.REGISTRY_UNAVAILABLE : PublishException.Reason.REGISTRY_REJECTED;
    } else if (e instanceof IOException) {
      reason = PublishException.Reason.ARTIFACT_UNAVAILABLE;
    } else {
      reason = PublishException.Reason.REGISTRY_REJECTED;
    }
    return new PublishException(reason, what + ": " + e.getMessage(), missing, e);
  }

  @Override
  public void close() {
    targets.values().forEach(RegistryTarget::close);
    targets.clear();
  }
}

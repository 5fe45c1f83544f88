package dev.erofspipeline.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.ingest.Resolution.ImageFailure;
import dev.erofspipeline.ingest.Resolution.Layer;
import dev.erofspipeline.ingest.Resolution.ResolvedImage;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.ImageReference;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryException;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.MediaTypes;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The resolution core (no Kafka, no Camel): an image request's reference to the platform image manifests it stands
 * for, each with its layers paired with the diffIDs of its config.
 *
 * <ol>
 *   <li>HEAD the reference (OCI and Docker media types in {@code Accept}, sent by the registry client) to get its
 *       digest, then GET it by digest (so what is read is what the digest says).</li>
 *   <li>An index (OCI or Docker manifest list) is expanded to its image manifests: all of them, or those matching the
 *       request's platforms. Attestation manifests ({@code unknown/unknown}, {@code vnd.docker.reference.type=
 *       attestation-manifest}), artifacts ({@code artifactType}) and entries of other media types are skipped and
 *       listed in {@link Resolution#skipped()}. A nested index is followed (one level).</li>
 *   <li>Each image manifest's config is read for its {@code rootfs.diff_ids}; the layers are paired with them in order.
 *       A count mismatch, a missing config, a layer media type the converter cannot read or a non-sha256 digest makes
 *       that image an {@link ImageFailure} (reported, never silently dropped); the other platforms go on.</li>
 * </ol>
 * Failures of the request as a whole (reference, host, missing tag, not a manifest, nothing for the platforms) throw
 * {@link IngestException} with a reason code.
 */
public final class ImageResolver {
    /** Annotation BuildKit puts on the index entry of an attestation manifest. */
    static final String REFERENCE_TYPE = "vnd.docker.reference.type";
    static final String ATTESTATION_MANIFEST = "attestation-manifest";
    /** Most layers a record may list (the schemas' bound). */
    static final int MAX_LAYERS = 1024;
    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final Pattern REPOSITORY = Pattern.compile("[a-z0-9]([a-z0-9._/-]{0,253}[a-z0-9])?");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RegistryTargets targets;

    /** Waits for a registry request permit. */
    private interface Permit {
        void take() throws InterruptedException;
    }

    /** The permit source of the request this thread resolves (the per-host rate limit). */
    private static final ThreadLocal<Permit> PERMITS = new ThreadLocal<>();

    /** Takes a permit before a registry request; interruption (shutdown) is not the request's fault: it is retried. */
    private static void permit(RegistryTarget target) {
        Permit p = PERMITS.get();
        if (p == null) {
            return;
        }
        try {
            p.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the registry rate limit", e);
        }
    }

    public ImageResolver(RegistryTargets targets) {
        this.targets = targets;
    }

    /** Resolves a request's reference (and platform filters). */
    public Resolution resolve(ImageRequest request) throws IngestException {
        ImageReference ref = parse(request.reference());
        // before anything is looked up: a request must not make the service contact (or resolve) any other host
        if (!targets.options().isAllowedRegistry(ref.isLayout() ? RegistryOptions.LAYOUTS : ref.registry())) {
            throw new IngestException(IngestException.REGISTRY_NOT_ALLOWED, "registry "
                    + (ref.isLayout() ? "oci: (a local OCI layout)" : ref.registry()) + " of " + request.reference()
                    + " is not in the registry allowlist");
        }
        if (!ref.isLayout()) {
            checkHostResolves(ref.registry());
        }
        RegistryTarget target = targets.open(ref);
        PERMITS.set(() -> targets.permit(ref));
        String registry = ref.isLayout() ? "oci:" + ref.layoutDir().toAbsolutePath().normalize() : ref.registry();
        String repository = ref.isLayout() ? layoutName(ref) : ref.repository();
        String repoArg = ref.isLayout() ? null : ref.repository();
        try {
            String reference = ref.reference();
            if (reference == null) {
                throw new IngestException(IngestException.INVALID_REFERENCE,
                        "reference '" + request.reference() + "' names no tag: use oci:DIR:tag");
            }
            Descriptor top = head(target, repoArg, reference, request.reference());
            Manifest m = get(target, repoArg, top.digest(), request.reference());
            String type = m.mediaType();
            Walk walk = new Walk(target, repoArg, request.platforms(), targets.options().maxDocumentBytes());
            if (MediaTypes.isImageIndex(type)) {
                walk.index(m, 0);
                if (walk.images.isEmpty() && walk.failures.isEmpty()) {
                    String what = request.platforms().isEmpty() ? "no image manifest"
                            : "no image manifest for " + String.join(", ", request.platforms());
                    throw new IngestException(IngestException.NO_MATCHING_PLATFORM, "index " + m.digest() + " of "
                            + request.reference() + " has " + what + " (available: " + walk.available() + ")");
                }
            } else if (MediaTypes.isImageManifest(type)) {
                walk.single(m);
            } else {
                throw new IngestException(IngestException.NOT_A_MANIFEST, request.reference() + " is a "
                        + type + ", not an image manifest or index");
            }
            return new Resolution(registry, repository, request.reference(), m.digest(), type, walk.images,
                    walk.failures, walk.skipped);
        } finally {
            PERMITS.remove();
            if (ref.isLayout()) {
                target.close();
            }
        }
    }

    private static ImageReference parse(String text) throws IngestException {
        try {
            return ImageReference.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IngestException(IngestException.INVALID_REFERENCE, e.getMessage(), e);
        }
    }

    /** A name that does not resolve fails at once, not after the client's connection retries. */
    private static void checkHostResolves(String registry) throws IngestException {
        String host = registry;
        if (host.startsWith("[")) {
            return; // IPv6 literal
        }
        int colon = host.lastIndexOf(':');
        if (colon > 0) {
            host = host.substring(0, colon);
        }
        try {
            InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw new IngestException(IngestException.UNKNOWN_HOST, "registry host '" + host + "' does not resolve", e);
        }
    }

    private static String layoutName(ImageReference ref) {
        java.nio.file.Path name = ref.layoutDir().toAbsolutePath().normalize().getFileName();
        String s = name == null ? "" : name.toString().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]+", "-");
        s = s.replaceAll("^[^a-z0-9]+", "").replaceAll("[^a-z0-9]+$", "");
        if (s.length() > 255) {
            s = s.substring(0, 255).replaceAll("[^a-z0-9]+$", "");
        }
        return REPOSITORY.matcher(s).matches() ? s : "image";
    }

    private static Descriptor head(RegistryTarget target, String repo, String reference, String requested)
            throws IngestException {
        Optional<Descriptor> d;
        try {
            permit(target);
            d = target.headManifest(repo, reference);
        } catch (IOException e) {
            // docker-registry answers 500 when the digest names a blob that is not a manifest
            if (SHA256.matcher(reference).matches() && blobExists(target, repo, reference)) {
                throw new IngestException(IngestException.NOT_A_MANIFEST,
                        requested + ": " + reference + " is a blob in the repository, not a manifest", e);
            }
            throw translate(e, requested, "manifest");
        }
        if (d.isEmpty()) {
            if (SHA256.matcher(reference).matches() && blobExists(target, repo, reference)) {
                throw new IngestException(IngestException.NOT_A_MANIFEST,
                        requested + ": " + reference + " is a blob in the repository, not a manifest");
            }
            throw new IngestException(IngestException.MANIFEST_UNKNOWN, requested + ": no such "
                    + (SHA256.matcher(reference).matches() ? "manifest" : "tag") + " in the repository");
        }
        return d.get();
    }

    private static boolean blobExists(RegistryTarget target, String repo, String digest) {
        try {
            permit(target);
            return target.blobExists(repo, digest);
        } catch (IOException e) {
            return false;
        }
    }

    private static Manifest get(RegistryTarget target, String repo, String digest, String requested)
            throws IngestException {
        try {
            permit(target);
            return target.getManifest(repo, digest);
        } catch (IOException e) {
            throw translate(e, requested, "manifest " + digest);
        }
    }

    /** A registry failure as a reason code and a readable message. */
    static IngestException translate(IOException e, String requested, String what) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof RegistryException re) {
            if (re.status() == 0 && hasCause(re, UnknownHostException.class, UnresolvedAddressException.class)) {
                return new IngestException(IngestException.UNKNOWN_HOST, requested + ": registry host does not resolve ("
                        + msg + ")", e);
            }
            if (re.status() == 0 && "CONNECTION".equals(re.errorCode())) {
                return new IngestException(IngestException.REGISTRY_UNREACHABLE, requested + ": " + msg, e);
            }
            if (re.status() == 401 || re.status() == 403) {
                return new IngestException(IngestException.ACCESS_DENIED, requested + ": access to the " + what
                        + " denied (" + msg + ")", e);
            }
            if (re.status() == 404) {
                return new IngestException(IngestException.MANIFEST_UNKNOWN, requested + ": " + what + " not found ("
                        + msg + ")", e);
            }
            if ("TOO_LARGE".equals(re.errorCode())) {
                return new IngestException(IngestException.TOO_LARGE, requested + ": " + msg, e);
            }
            if ("MANIFEST_INVALID".equals(re.errorCode()) || "UNSUPPORTED".equals(re.errorCode())) {
                return new IngestException(IngestException.NOT_A_MANIFEST, requested + ": " + msg, e);
            }
        }
        return new IngestException(IngestException.REGISTRY_ERROR, requested + ": reading the " + what + " failed: "
                + msg, e);
    }

    @SafeVarargs
    private static boolean hasCause(Throwable t, Class<? extends Throwable>... types) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            for (Class<? extends Throwable> type : types) {
                if (type.isInstance(c)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The walk over one request's manifests. */
    private static final class Walk {
        private final RegistryTarget target;
        private final String repo;
        private final List<String> filters;
        private final int maxConfigBytes;
        final List<ResolvedImage> images = new ArrayList<>();
        final List<ImageFailure> failures = new ArrayList<>();
        final List<String> skipped = new ArrayList<>();
        private final Set<String> seen = new LinkedHashSet<>();
        private final Set<String> platformsSeen = new LinkedHashSet<>();

        Walk(RegistryTarget target, String repo, List<String> filters, int maxConfigBytes) {
            this.target = target;
            this.repo = repo;
            this.filters = filters;
            this.maxConfigBytes = maxConfigBytes;
        }

        String available() {
            return platformsSeen.isEmpty() ? "none" : String.join(", ", platformsSeen);
        }

        void index(Manifest index, int depth) throws IngestException {
            JsonNode root = parseJson(index.bytes(), "index " + index.digest());
            JsonNode entries = root.path("manifests");
            if (!entries.isArray()) {
                throw new IngestException(IngestException.INVALID_MANIFEST, "index " + index.digest()
                        + " has no manifests array");
            }
            for (JsonNode e : entries) {
                String type = e.path("mediaType").asText(null);
                String digest = e.path("digest").asText(null);
                long size = e.path("size").asLong(-1);
                JsonNode p = e.path("platform");
                String platform = Platforms.format(p.path("os").asText(null), p.path("architecture").asText(null),
                        p.path("variant").asText(null));
                String label = digest + (platform == null ? "" : " (" + platform + ")");
                if (digest == null || !SHA256.matcher(digest).matches()) {
                    skipped.add("entry with digest " + digest + ": not a sha256 digest");
                    continue;
                }
                if (ATTESTATION_MANIFEST.equals(e.path("annotations").path(REFERENCE_TYPE).asText(null))
                        || "unknown/unknown".equals(platform)) {
                    skipped.add(label + ": attestation manifest");
                    continue;
                }
                if (MediaTypes.isErofsPlatform(p)) {
                    skipped.add(label + ": EROFS image (os.features erofs), not a source of conversions");
                    continue;
                }
                if (e.hasNonNull("artifactType")) {
                    skipped.add(label + ": artifact " + e.get("artifactType").asText());
                    continue;
                }
                if (MediaTypes.isImageIndex(type)) {
                    if (depth > 0) {
                        skipped.add(label + ": index nested more than one level");
                        continue;
                    }
                    index(fetch(digest), depth + 1);
                    continue;
                }
                if (!MediaTypes.isImageManifest(type)) {
                    skipped.add(label + ": not an image manifest (" + type + ")");
                    continue;
                }
                if (platform != null) {
                    platformsSeen.add(platform);
                }
                if (!Platforms.matches(filters, platform)) {
                    skipped.add(label + ": platform not requested");
                    continue;
                }
                if (!seen.add(digest)) {
                    continue;
                }
                try {
                    images.add(image(fetch(digest), platform, index.digest()));
                } catch (IngestException ex) {
                    failures.add(new ImageFailure(digest, type, size, Platforms.forRecord(platform), ex.reasonCode(),
                            ex.getMessage()));
                }
            }
        }

        void single(Manifest m) throws IngestException {
            try {
                ResolvedImage img = image(m, null, null);
                if (img.platform() != null) {
                    platformsSeen.add(img.platform());
                }
                if (!Platforms.matches(filters, img.platform())) {
                    throw new IngestException(IngestException.NO_MATCHING_PLATFORM, "image " + m.digest() + " is "
                            + img.platform() + ", not " + String.join(", ", filters));
                }
                images.add(img);
            } catch (IngestException ex) {
                if (ex.reasonCode().equals(IngestException.NOT_AN_IMAGE)
                        || ex.reasonCode().equals(IngestException.NO_MATCHING_PLATFORM)) {
                    throw ex;
                }
                failures.add(new ImageFailure(m.digest(), m.mediaType(), m.bytes().length, null, ex.reasonCode(),
                        ex.getMessage()));
            }
        }

        private Manifest fetch(String digest) throws IngestException {
            try {
                permit(target);
                return target.getManifest(repo, digest);
            } catch (IOException e) {
                throw translate(e, "manifest " + digest, "manifest");
            }
        }

        private ResolvedImage image(Manifest m, String indexPlatform, String indexDigest) throws IngestException {
            if (!MediaTypes.isImageManifest(m.mediaType())) {
                throw new IngestException(IngestException.NOT_A_MANIFEST, "manifest " + m.digest() + " is a "
                        + m.mediaType() + ", not an image manifest");
            }
            JsonNode root = parseJson(m.bytes(), "manifest " + m.digest());
            JsonNode config = root.path("config");
            String configType = config.path("mediaType").asText(null);
            String configDigest = config.path("digest").asText(null);
            if (!MediaTypes.OCI_CONFIG.equals(configType) && !MediaTypes.DOCKER_CONFIG.equals(configType)) {
                throw new IngestException(IngestException.NOT_AN_IMAGE, "manifest " + m.digest()
                        + " is not a container image (config media type " + configType
                        + (root.hasNonNull("artifactType") ? ", artifactType " + root.get("artifactType").asText() : "")
                        + ")");
            }
            JsonNode layersNode = root.path("layers");
            if (!layersNode.isArray()) {
                throw new IngestException(IngestException.INVALID_MANIFEST, "manifest " + m.digest() + " has no layers array");
            }
            if (layersNode.size() > MAX_LAYERS) {
                throw new IngestException(IngestException.INVALID_MANIFEST, "manifest " + m.digest() + " has "
                        + layersNode.size() + " layers, more than " + MAX_LAYERS);
            }
            if (configDigest == null || !SHA256.matcher(configDigest).matches()) {
                throw new IngestException(IngestException.INVALID_CONFIG, "manifest " + m.digest()
                        + " has config digest " + configDigest + " (only sha256 is supported)");
            }
            byte[] configBytes;
            try {
                permit(target);
                configBytes = target.getBlob(repo, configDigest, maxConfigBytes);
            } catch (IOException e) {
                throw new IngestException(IngestException.INVALID_CONFIG, "image config " + configDigest + " of "
                        + m.digest() + " cannot be read: " + e.getMessage(), e);
            }
            JsonNode cfg;
            try {
                cfg = JSON.readTree(configBytes);
            } catch (IOException e) {
                cfg = null;
            }
            JsonNode diffIds = cfg == null ? null : cfg.path("rootfs").path("diff_ids");
            if (cfg == null || !cfg.isObject() || diffIds == null || !diffIds.isArray()) {
                throw new IngestException(IngestException.INVALID_CONFIG, "image config " + configDigest + " of "
                        + m.digest() + " is not JSON with rootfs.diff_ids");
            }
            if (diffIds.size() != layersNode.size()) {
                throw new IngestException(IngestException.DIFFID_COUNT_MISMATCH, "manifest " + m.digest() + " has "
                        + layersNode.size() + " layers but its config " + configDigest + " lists " + diffIds.size()
                        + " diffIDs");
            }
            String platform = indexPlatform != null ? indexPlatform
                    : Platforms.format(cfg.path("os").asText(null), cfg.path("architecture").asText(null),
                            cfg.path("variant").asText(null));
            List<Layer> layers = new ArrayList<>();
            List<String> notes = new ArrayList<>();
            List<String> unsupported = new ArrayList<>();
            for (int i = 0; i < layersNode.size(); i++) {
                JsonNode l = layersNode.get(i);
                String digest = l.path("digest").asText(null);
                String type = l.path("mediaType").asText(null);
                String diffId = diffIds.get(i).asText(null);
                long size = l.path("size").asLong(-1);
                if (digest == null || !SHA256.matcher(digest).matches() || diffId == null
                        || !SHA256.matcher(diffId).matches() || size < 0) {
                    unsupported.add("layer " + i + " (" + digest + "): digest, diffID " + diffId + " or size " + size
                            + " is not usable (only sha256 is supported)");
                    continue;
                }
                if (!MediaTypes.isConvertibleLayer(type)) {
                    unsupported.add("layer " + i + " (" + digest + "): media type " + type
                            + " is not a tar layer the converter reads");
                    continue;
                }
                List<String> urls = new ArrayList<>();
                l.path("urls").forEach(u -> urls.add(u.asText()));
                if (MediaTypes.isNonDistributableLayer(type)) {
                    notes.add("layer " + digest + " is non-distributable (" + type + ")"
                            + (urls.isEmpty() ? "" : ", urls " + String.join(" ", urls)));
                }
                layers.add(new Layer(digest, size, type, diffId, urls));
            }
            if (!unsupported.isEmpty()) {
                throw new IngestException(IngestException.UNSUPPORTED_LAYER, "image " + m.digest() + ": "
                        + String.join("; ", unsupported));
            }
            return new ResolvedImage(m.digest(), m.mediaType(), m.bytes().length, Platforms.forRecord(platform),
                    indexDigest, layers, notes);
        }

        private static JsonNode parseJson(byte[] bytes, String what) throws IngestException {
            try {
                JsonNode n = JSON.readTree(bytes);
                if (n == null || !n.isObject()) {
                    throw new IngestException(IngestException.NOT_A_MANIFEST, what + " is not a JSON object");
                }
                return n;
            } catch (IOException e) {
                throw new IngestException(IngestException.NOT_A_MANIFEST, what + " is not JSON", e);
            }
        }
    }
}

package dev.erofspipeline.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OCI distribution client for one registry host ({@code host[:port]}), built on {@link HttpClient}; blob downloads go
 * over {@link BlobTransport} (HttpURLConnection), which costs a fraction of the CPU for large bodies.
 *
 * <p>Auth: anonymous, Basic, or Bearer tokens fetched from the realm of a {@code WWW-Authenticate} challenge (with the
 * host's {@code config.json} credentials, if any, sent to the realm only) and cached per scope until they expire.
 * TLS unless the host is in {@link RegistryOptions#insecureHosts()}. Transient failures (connection errors, 5xx, 429)
 * are retried with exponential backoff and jitter, honouring {@code Retry-After}. Redirects are followed for reads;
 * the {@code Authorization} header is never sent to another host. Thread-safe.
 */
public final class RegistryClient implements RegistryTarget {
    private static final System.Logger LOG = System.getLogger(RegistryClient.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NEXT_LINK = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");
    private static final int MAX_REDIRECTS = 5;
    private static final String HTTP_BUFFER_SIZE_PROPERTY = "jdk.httpclient.bufsize";

    static {
        // The JDK HttpClient reads uploaded streams (pushBlobMonolithic) and answers in buffers of this size: a 64 MiB
        // push to docker-registry cost 93-98 ms of CPU with its default 16 KiB, 67-76 ms with 256 KiB. The JDK reads the
        // property once, when its HTTP client loads, so it is set before this class builds one; an explicit -D setting
        // wins. (Blob downloads do not go through HttpClient: BlobTransport.)
        if (System.getProperty(HTTP_BUFFER_SIZE_PROPERTY) == null) {
            System.setProperty(HTTP_BUFFER_SIZE_PROPERTY, Integer.toString(256 << 10));
        }
    }

    private final String host;
    private final RegistryOptions options;
    private final URI base;
    private final HttpClient http;
    private final RegistryCounters counters = new RegistryCounters();
    private final SubjectLocks subjectLocks;
    private final ConcurrentHashMap<String, Token> tokens = new ConcurrentHashMap<>();
    private volatile AuthChallenge challenge;
    private volatile Boolean referrersApi;
    private volatile Runnable afterReferrerWrite = () -> { };

    private record Token(String value, Instant expires) {
        @Override
        public String toString() {
            return "Token[redacted, expires=" + expires + "]";
        }
    }

    /** A client for {@code host[:port]} (e.g. {@code registry-1.docker.io}, {@code 127.0.0.1:5000}). */
    public RegistryClient(String host, RegistryOptions options) {
        this(host, options, SubjectLocks.PROCESS);
    }

    RegistryClient(String host, RegistryOptions options, SubjectLocks subjectLocks) {
        this.host = host.toLowerCase(Locale.ROOT);
        this.options = options;
        this.subjectLocks = subjectLocks;
        this.base = URI.create((options.isInsecure(this.host) ? "http" : "https") + "://" + this.host + "/v2/");
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(options.connectTimeout())
                .build();
    }

    public String host() {
        return host;
    }

    /** {@code https://host/v2/} (or http for an insecure host). */
    public URI baseUri() {
        return base;
    }

    @Override
    public RegistryCounters counters() {
        return counters;
    }

    /** Test hook: runs right after each write of a referrers tag index, before it is re-read. */
    void afterReferrerWrite(Runnable hook) {
        this.afterReferrerWrite = hook;
    }

    // ------------------------------------------------------------------------------------------------ manifests

    /** Digest, media type and size of what {@code ref} points to now (HEAD, falling back to GET). */
    public Descriptor resolve(ImageReference ref) throws IOException {
        requireThisRegistry(ref);
        Optional<Descriptor> d = headManifest(ref.repository(), ref.reference());
        if (d.isEmpty()) {
            throw new RegistryException("manifest " + ref + " not found", 404, "MANIFEST_UNKNOWN");
        }
        return d.get();
    }

    @Override
    public Optional<Descriptor> headManifest(String repository, String reference) throws IOException {
        try (Resp r = send(new Call("HEAD", manifestUri(repository, reference), pull(repository))
                .header("Accept", MediaTypeNames.MANIFEST_ACCEPT).follow())) {
            if (r.status == 404) {
                return Optional.empty();
            }
            expect(r, 200);
            String digest = r.headers.firstValue("Docker-Content-Digest").orElse(null);
            String type = contentType(r.headers);
            long size = r.headers.firstValueAsLong("Content-Length").orElse(-1);
            if (digest == null || type == null || size < 0 || !Digests.isValid(digest)) {
                Manifest m = getManifest(repository, reference);
                return Optional.of(m.descriptor());
            }
            if (Digests.isValid(reference) && !reference.equals(digest)) {
                throw new RegistryException("HEAD manifest " + reference + " answered digest " + digest, 200, "DIGEST_INVALID",
                        false, null);
            }
            return Optional.of(new Descriptor(type, digest, size));
        }
    }

    @Override
    public Manifest getManifest(String repository, String reference) throws IOException {
        try (Resp r = send(new Call("GET", manifestUri(repository, reference), pull(repository))
                .header("Accept", MediaTypeNames.MANIFEST_ACCEPT).follow())) {
            expect(r, 200);
            byte[] bytes = document(r, "manifest " + repository + ":" + reference);
            String type = contentType(r.headers);
            if (type == null || !MediaTypeNames.MANIFEST_TYPES.contains(type)) {
                type = mediaTypeOf(bytes, type);
            }
            String headerDigest = r.headers.firstValue("Docker-Content-Digest").filter(Digests::isValid).orElse(null);
            String digest;
            if (Digests.isValid(reference)) {
                digest = Digests.digestLike(reference, bytes);
                if (!digest.equals(reference)) {
                    throw new RegistryException("manifest fetched by digest " + reference + " has digest " + digest, 200,
                            "DIGEST_INVALID", false, null);
                }
            } else {
                digest = Digests.sha256(bytes);
                if (headerDigest != null && !Digests.digestLike(headerDigest, bytes).equals(headerDigest)) {
                    throw new RegistryException("manifest " + repository + ":" + reference + " does not match its Docker-Content-Digest "
                            + headerDigest, 200, "DIGEST_INVALID", true, null);
                }
            }
            return new Manifest(bytes, type, digest);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static String mediaTypeOf(byte[] bytes, String fallback) throws RegistryException {
        try {
            JsonNode n = JSON.readTree(bytes);
            if (n != null && n.hasNonNull("mediaType")) {
                return n.get("mediaType").asText();
            }
            if (n != null && n.has("manifests")) {
                return MediaTypeNames.OCI_INDEX;
            }
            if (n != null && n.has("config")) {
                return MediaTypeNames.OCI_MANIFEST;
            }
        } catch (IOException e) {
            throw new RegistryException("manifest is not JSON", 200, "MANIFEST_INVALID", false, null);
        }
        if (fallback != null) {
            return fallback;
        }
        throw new RegistryException("manifest without a media type", 200, "MANIFEST_INVALID", false, null);
    }

    @Override
    public String putManifest(String repository, String reference, Manifest manifest) throws IOException {
        if (Digests.isValid(reference) && !Digests.digestLike(reference, manifest.bytes()).equals(reference)) {
            throw new IllegalArgumentException("manifest bytes do not match the digest " + reference);
        }
        byte[] bytes = manifest.bytes();
        try (Resp r = send(new Call("PUT", manifestUri(repository, reference), push(repository))
                .header("Content-Type", manifest.mediaType())
                .body(() -> HttpRequest.BodyPublishers.ofByteArray(bytes)))) {
            expect(r, 201, 200);
            String digest = r.headers.firstValue("Docker-Content-Digest").orElse(manifest.digest());
            if (!digest.equals(manifest.digest()) && digest.startsWith("sha256:")) {
                throw new RegistryException("registry stored manifest as " + digest + ", expected " + manifest.digest(), r.status,
                        "DIGEST_INVALID", false, null);
            }
            return manifest.digest();
        }
    }

    @Override
    public void deleteManifest(String repository, String digest) throws IOException {
        Digests.requireValid(digest);
        try (Resp r = send(new Call("DELETE", manifestUri(repository, digest), delete(repository)))) {
            expect(r, 202, 200, 204);
        }
    }

    // ------------------------------------------------------------------------------------------------ blobs

    @Override
    public Optional<Long> blobSize(String repository, String digest) throws IOException {
        Digests.requireValid(digest);
        try (Resp r = send(new Call("HEAD", blobUri(repository, digest), pull(repository)).follow())) {
            if (r.status == 404) {
                return Optional.empty();
            }
            expect(r, 200);
            return Optional.of(r.headers.firstValueAsLong("Content-Length").orElse(-1));
        }
    }

    @Override
    public InputStream openBlob(String repository, String digest) throws IOException {
        return openBlob(repository, digest, -1);
    }

    /**
     * A stream over a blob whose size is known ({@code expectedSize}, -1 for unknown): follows redirects, resumes a
     * broken download with {@code Range} requests (at most {@link RegistryOptions#maxResumeAttempts()} times) and
     * verifies the digest and size at the end.
     */
    public InputStream openBlob(String repository, String digest, long expectedSize) throws IOException {
        return openBlob(repository, digest, expectedSize, true);
    }

    @Override
    public InputStream openBlobUnverified(String repository, String digest, long expectedSize) throws IOException {
        return openBlob(repository, digest, expectedSize, false);
    }

    private InputStream openBlob(String repository, String digest, long expectedSize, boolean checkDigest) throws IOException {
        Digests.requireValid(digest);
        Resp r = send(new Call("GET", blobUri(repository, digest), pull(repository)).follow().blob());
        try {
            expect(r, 200);
        } catch (IOException e) {
            r.close();
            throw e;
        }
        long length = r.headers.firstValueAsLong("Content-Length").orElse(-1);
        long size = expectedSize >= 0 ? expectedSize : length;
        if (expectedSize >= 0 && length >= 0 && length != expectedSize) {
            r.close();
            throw new RegistryException("blob " + digest + " has " + length + " bytes, expected " + expectedSize, 200,
                    "SIZE_INVALID", false, null);
        }
        return new BlobInputStream(r.body, digest, checkDigest, size, options.maxResumeAttempts(),
                offset -> openBlobAt(repository, digest, offset), counters);
    }

    /** GET with {@code Range: bytes=offset-}; a 200 (range ignored) is skipped forward to {@code offset}. */
    private InputStream openBlobAt(String repository, String digest, long offset) throws IOException {
        Resp r = send(new Call("GET", blobUri(repository, digest), pull(repository))
                .header("Range", "bytes=" + offset + "-").follow().blob());
        try {
            if (r.status == 206) {
                String cr = r.headers.firstValue("Content-Range").orElse("");
                if (!cr.matches("bytes " + offset + "-\\d+/(\\d+|\\*)")) {
                    throw new RegistryException("blob " + digest + ": unexpected Content-Range '" + cr + "' for offset " + offset, 206,
                            "RANGE_INVALID", false, null);
                }
                return r.body;
            }
            expect(r, 200);
            r.body.skipNBytes(offset);
            return r.body;
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
    }

    @Override
    public String pushBlob(String repository, BlobSource blob) throws IOException {
        if (blobExists(repository, blob.digest())) {
            return blob.digest();
        }
        // An upload session does not survive every failure (docker-registry cancels a session whose PATCH broke half-way),
        // so a failed upload starts over with a new session, re-reading the source (bounded).
        for (int attempt = 0; ; attempt++) {
            try {
                if (blob.size() <= options.monolithicLimit()) {
                    return pushBlobMonolithic(repository, blob);
                }
                try (InputStream in = blob.open()) {
                    return pushBlobChunked(repository, in, blob.digest()).digest();
                }
            } catch (RegistryException e) {
                boolean sessionLost = "BLOB_UPLOAD_INVALID".equals(e.errorCode()) || "BLOB_UPLOAD_UNKNOWN".equals(e.errorCode());
                if (!(e.isTransient() || sessionLost) || "DIGEST_INVALID".equals(e.errorCode())
                        || attempt >= options.maxResumeAttempts()) {
                    throw e;
                }
                counters.retry();
                LOG.log(Level.INFO, "upload of {0} to {1} failed ({2}); starting over", blob.digest(), repository, e.getMessage());
                sleep(Backoff.delay(options, attempt));
            }
        }
    }

    /** POST to open an upload session, then one PUT {@code ?digest=} with the whole content. */
    public String pushBlobMonolithic(String repository, BlobSource blob) throws IOException {
        URI location = startUpload(repository);
        URI put = withQuery(location, "digest", blob.digest());
        try (Resp r = send(new Call("PUT", put, push(repository))
                .header("Content-Type", MediaTypeNames.OCTET_STREAM)
                // an empty blob has no body (fromPublisher refuses a length of 0)
                .body(() -> blob.size() == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> {
                            try {
                                return blob.open();
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        }), blob.size())))) {
            expect(r, 201);
        }
        return blob.digest();
    }

    /**
     * Chunked upload of a stream of unknown size: PATCH chunks of {@link RegistryOptions#chunkSize()} bytes with
     * {@code Content-Range}, then PUT {@code ?digest=}. One chunk is held in memory (so it can be retried). When
     * {@code expectedDigest} is given and the content does not match, the session is cancelled and an error thrown.
     *
     * @return the descriptor (octet-stream media type) of what was uploaded
     */
    public Descriptor pushBlobChunked(String repository, InputStream in, String expectedDigest) throws IOException {
        String algorithm = expectedDigest == null ? "sha256" : Digests.algorithm(expectedDigest);
        MessageDigest md = Digests.messageDigest(algorithm);
        UploadState state = new UploadState(startUpload(repository));
        try {
            patchChunks(repository, in, md, state);
        } catch (IOException | RuntimeException e) {
            cancelUpload(repository, state.location); // best effort: the registry would purge it later anyway
            throw e;
        }
        String digest = Digests.format(algorithm, md);
        if (expectedDigest != null && !expectedDigest.equals(digest)) {
            cancelUpload(repository, state.location);
            throw new RegistryException("content to upload has digest " + digest + ", expected " + expectedDigest, 0,
                    "DIGEST_INVALID", false, null);
        }
        try (Resp r = send(new Call("PUT", withQuery(state.location, "digest", digest), push(repository))
                .header("Content-Type", MediaTypeNames.OCTET_STREAM)
                .body(HttpRequest.BodyPublishers::noBody))) {
            expect(r, 201);
        }
        return new Descriptor(MediaTypeNames.OCTET_STREAM, digest, state.offset);
    }

    /** Where an upload session stands: its current Location and how many bytes it holds. */
    private static final class UploadState {
        URI location;
        long offset;

        UploadState(URI location) {
            this.location = location;
        }
    }

    private void patchChunks(String repository, InputStream in, MessageDigest md, UploadState state) throws IOException {
        int chunk = options.chunkSize();
        while (true) {
            byte[] buf = in.readNBytes(chunk);
            if (buf.length == 0) {
                return;
            }
            md.update(buf);
            long start = state.offset;
            long end = start + buf.length - 1;
            try (Resp r = send(new Call("PATCH", state.location, push(repository))
                    .header("Content-Type", MediaTypeNames.OCTET_STREAM)
                    .header("Content-Range", start + "-" + end)
                    .body(() -> HttpRequest.BodyPublishers.ofByteArray(buf)))) {
                expect(r, 202);
                String range = r.headers.firstValue("Range").orElse(null);
                if (range != null && !range.equals("0-" + end) && !range.equals("bytes=0-" + end)) {
                    throw new RegistryException("upload to " + repository + ": registry has range " + range + " after chunk "
                            + start + "-" + end, 202, "BLOB_UPLOAD_INVALID", false, null);
                }
                state.location = location(r);
            }
            state.offset += buf.length;
            if (buf.length < chunk) {
                return;
            }
        }
    }

    private URI startUpload(String repository) throws IOException {
        try (Resp r = send(new Call("POST", base.resolve(path(repository) + "/blobs/uploads/"), push(repository))
                .body(HttpRequest.BodyPublishers::noBody))) {
            expect(r, 202);
            return location(r);
        }
    }

    private void cancelUpload(String repository, URI location) {
        try (Resp r = send(new Call("DELETE", location, push(repository)).noRetry())) {
            LOG.log(Level.DEBUG, "cancelled upload session in {0}: {1}", repository, r.status);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "could not cancel upload session in {0}: {1}", repository, e.getMessage());
        }
    }

    @Override
    public boolean mountBlob(String repository, String digest, String fromRepository) throws IOException {
        Digests.requireValid(digest);
        URI uri = base.resolve(path(repository) + "/blobs/uploads/?mount=" + enc(digest) + "&from=" + enc(fromRepository));
        String scope = "repository:" + repository + ":pull,push repository:" + fromRepository + ":pull";
        try (Resp r = send(new Call("POST", uri, scope).body(HttpRequest.BodyPublishers::noBody))) {
            if (r.status == 201) {
                return true;
            }
            expect(r, 202);
            cancelUpload(repository, location(r));
            return false;
        }
    }

    /** Mounts the blob from {@code fromRepository}, or uploads it when the registry declines the mount. */
    public void mountOrPushBlob(String repository, BlobSource blob, String fromRepository) throws IOException {
        if (!mountBlob(repository, blob.digest(), fromRepository)) {
            pushBlob(repository, blob);
        }
    }

    @Override
    public void deleteBlob(String repository, String digest) throws IOException {
        Digests.requireValid(digest);
        try (Resp r = send(new Call("DELETE", blobUri(repository, digest), delete(repository)))) {
            expect(r, 202, 200, 204);
        }
    }

    // ------------------------------------------------------------------------------------------------ listings

    @Override
    public List<String> listTags(String repository) throws IOException {
        return listTags(repository, 0);
    }

    /** All tags, requested {@code pageSize} at a time ({@code ?n=}; 0: the registry's default) following {@code Link}. */
    public List<String> listTags(String repository, int pageSize) throws IOException {
        URI first = base.resolve(path(repository) + "/tags/list" + (pageSize > 0 ? "?n=" + pageSize : ""));
        return paginate(first, pull(repository), "tags");
    }

    /** All repositories ({@code /v2/_catalog}), {@code pageSize} at a time following {@code Link}. */
    public List<String> catalog(int pageSize) throws IOException {
        URI first = base.resolve("_catalog" + (pageSize > 0 ? "?n=" + pageSize : ""));
        return paginate(first, "registry:catalog:*", "repositories");
    }

    private List<String> paginate(URI first, String scope, String field) throws IOException {
        List<String> out = new ArrayList<>();
        URI next = first;
        int pages = 0;
        while (next != null) {
            if (++pages > 100_000) {
                throw new RegistryException("pagination does not end at " + first.getPath(), 200, null, false, null);
            }
            try (Resp r = send(new Call("GET", next, scope).header("Accept", "application/json"))) {
                expect(r, 200);
                JsonNode n = JSON.readTree(document(r, "page of " + field));
                for (JsonNode t : n.path(field)) {
                    out.add(t.asText());
                }
                next = nextLink(r.headers, next);
            }
        }
        return out;
    }

    private URI nextLink(HttpHeaders headers, URI current) {
        for (String link : headers.allValues("Link")) {
            Matcher m = NEXT_LINK.matcher(link);
            if (m.find()) {
                return current.resolve(m.group(1));
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------------ referrers

    /** Whether the registry answers the referrers API (probed once with {@code GET /v2/<name>/referrers/<digest>}). */
    public boolean hasReferrersApi(String repository, String anyDigest) throws IOException {
        Boolean known = referrersApi;
        if (known == null) {
            fetchReferrersApi(repository, anyDigest, null, false);
            known = referrersApi;
        }
        return known;
    }

    /**
     * The referrers API answer (all pages, or only the first for a probe), or null when the registry has no such API
     * (which is remembered).
     */
    private List<Descriptor> fetchReferrersApi(String repository, String subject, String artifactType, boolean allPages)
            throws IOException {
        URI next = base.resolve(path(repository) + "/referrers/" + subject
                + (artifactType != null ? "?artifactType=" + enc(artifactType) : ""));
        List<Descriptor> out = new ArrayList<>();
        while (next != null) {
            try (Resp r = send(new Call("GET", next, pull(repository)).header("Accept", MediaTypeNames.OCI_INDEX).follow())) {
                String type = contentType(r.headers);
                if (r.status == 200 && MediaTypeNames.OCI_INDEX.equals(type)) {
                    referrersApi = true;
                    out.addAll(ReferrersIndex.descriptors(document(r, "referrers of " + subject), artifactType));
                    next = allPages ? nextLink(r.headers, next) : null;
                } else if (r.status == 404 || r.status == 200 || r.status == 405) {
                    // docker-registry: 404 text/plain "404 page not found"; no API
                    if (!out.isEmpty()) {
                        throw new RegistryException("referrers API page " + next.getPath() + " vanished", r.status, null, true, null);
                    }
                    referrersApi = false;
                    return null;
                } else {
                    expect(r, 200);
                }
            }
        }
        return out;
    }

    @Override
    public List<Descriptor> referrers(String repository, String subjectDigest, String artifactType) throws IOException {
        Digests.requireValid(subjectDigest);
        if (!Boolean.FALSE.equals(referrersApi)) {
            List<Descriptor> fromApi = fetchReferrersApi(repository, subjectDigest, artifactType, true);
            if (fromApi != null) {
                return fromApi;
            }
        }
        return ReferrersIndex.descriptors(fallbackIndex(repository, subjectDigest).map(Manifest::bytes).orElse(null), artifactType);
    }

    private Optional<Manifest> fallbackIndex(String repository, String subjectDigest) throws IOException {
        try {
            return Optional.of(getManifest(repository, ReferrersIndex.fallbackTag(subjectDigest)));
        } catch (RegistryException e) {
            if (e.isNotFound()) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /**
     * With the referrers API: nothing (the registry indexes the referrer's {@code subject}). Without: read-modify-write
     * of the index at tag {@code <alg>-<hex>}, de-duplicated by digest, deterministic, re-read after writing and repeated
     * when a concurrent writer dropped the entry (at most {@link RegistryOptions#maxReferrerAttempts()} rounds). Writers
     * of one subject in this process are serialized.
     */
    @Override
    public void addReferrer(String repository, String subjectDigest, Descriptor referrer) throws IOException {
        Digests.requireValid(subjectDigest);
        if (hasReferrersApi(repository, subjectDigest)) {
            return;
        }
        String tag = ReferrersIndex.fallbackTag(subjectDigest);
        ObjectNode entry = ReferrersIndex.toNode(referrer);
        ReentrantLock lock = subjectLocks.lockFor(host + "/" + repository + "@" + subjectDigest);
        lock.lock();
        try {
            for (int round = 1; round <= options.maxReferrerAttempts(); round++) {
                Optional<Manifest> current = fallbackIndex(repository, subjectDigest);
                List<ObjectNode> entries = ReferrersIndex.entries(current.map(Manifest::bytes).orElse(null));
                if (ReferrersIndex.contains(entries, referrer.digest())) {
                    return;
                }
                if (round > 1) {
                    counters.referrerConflict();
                    LOG.log(Level.INFO, "referrer {0} of {1} in {2} was lost to a concurrent writer; writing again (round {3})",
                            referrer.digest(), subjectDigest, repository, round);
                }
                byte[] index = ReferrersIndex.write(entries, entry);
                putManifest(repository, tag, Manifest.of(index, MediaTypeNames.OCI_INDEX));
                afterReferrerWrite.run();
            }
            // last check after the last write
            if (ReferrersIndex.contains(ReferrersIndex.entries(fallbackIndex(repository, subjectDigest).map(Manifest::bytes)
                    .orElse(null)), referrer.digest())) {
                return;
            }
            throw new RegistryException("referrer " + referrer.digest() + " of " + subjectDigest + " in " + repository
                    + " kept being overwritten by concurrent writers (" + options.maxReferrerAttempts() + " attempts)", 0,
                    "REFERRERS_CONFLICT", true, null);
        } finally {
            lock.unlock();
        }
    }

    /** With the referrers API: nothing. Without: the entry is dropped from the tag-schema index, under the subject's lock. */
    @Override
    public void removeReferrer(String repository, String subjectDigest, String referrerDigest) throws IOException {
        Digests.requireValid(subjectDigest);
        if (hasReferrersApi(repository, subjectDigest)) {
            return;
        }
        ReentrantLock lock = subjectLocks.lockFor(host + "/" + repository + "@" + subjectDigest);
        lock.lock();
        try {
            List<ObjectNode> entries = ReferrersIndex.entries(fallbackIndex(repository, subjectDigest).map(Manifest::bytes)
                    .orElse(null));
            List<ObjectNode> kept = entries.stream().filter(e -> !referrerDigest.equals(e.path("digest").asText())).toList();
            if (kept.size() != entries.size()) {
                putManifest(repository, ReferrersIndex.fallbackTag(subjectDigest),
                        Manifest.of(ReferrersIndex.write(kept, null), MediaTypeNames.OCI_INDEX));
            }
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------------------------------------ HTTP core

    private static final class Call {
        final String method;
        final URI uri;
        final String scope;
        final Map<String, String> headers = new LinkedHashMap<>();
        BodySupplier body;
        boolean follow;
        boolean blob;
        boolean retry = true;
        boolean registryAuth = true;

        Call(String method, URI uri, String scope) {
            this.method = method;
            this.uri = uri;
            this.scope = scope;
        }

        Call header(String k, String v) {
            headers.put(k, v);
            return this;
        }

        Call body(BodySupplier b) {
            this.body = b;
            return this;
        }

        Call follow() {
            this.follow = true;
            return this;
        }

        /** A GET whose body is a blob, streamed to the caller: sent over {@link BlobTransport}. */
        Call blob() {
            this.blob = true;
            return this;
        }

        Call noRetry() {
            this.retry = false;
            return this;
        }
    }

    @FunctionalInterface
    private interface BodySupplier {
        HttpRequest.BodyPublisher get() throws IOException;
    }

    /** A response whose body must be closed. */
    private static final class Resp implements Closeable {
        final int status;
        final HttpHeaders headers;
        final InputStream body;
        final URI uri;
        final String method;

        Resp(String method, URI uri, int status, HttpHeaders headers, InputStream body) {
            this.method = method;
            this.status = status;
            this.headers = headers;
            this.body = body;
            this.uri = uri;
        }

        @Override
        public void close() {
            try {
                body.close();
            } catch (IOException ignored) {
                // the connection is discarded
            }
        }
    }

    private Resp send(Call call) throws RegistryException {
        URI uri = call.uri;
        int attempt = 0;
        int redirects = 0;
        boolean authenticated = false;
        while (true) {
            checkAllowed(uri);
            Map<String, String> headers = headers(call, uri);
            Resp r;
            try {
                if (call.blob) {
                    counters.request();
                    BlobTransport.Answer a = BlobTransport.get(uri, headers, options.connectTimeout(), options.requestTimeout());
                    r = new Resp(call.method, uri, a.status(), a.headers(), a.body());
                } else {
                    HttpRequest request = build(call, uri, headers);
                    counters.request();
                    HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                    r = new Resp(call.method, uri, response.statusCode(), response.headers(), response.body());
                }
            } catch (javax.net.ssl.SSLException e) {
                // certificate or protocol mismatch (e.g. TLS to a plain-HTTP registry): retrying does not help
                throw new RegistryException(call.method + " " + safe(uri) + ": TLS failure (" + e.getMessage() + ")"
                        + ("https".equals(uri.getScheme()) ? "; a plain-HTTP registry must be listed as insecure" : ""), 0, "TLS", false, e);
            } catch (IOException e) {
                if (call.retry && attempt < options.maxRetries()) {
                    Duration d = Backoff.delay(options, attempt);
                    LOG.log(Level.INFO, "{0} {1}: {2}; retry {3}/{4} in {5} ms", call.method, safe(uri), describe(e),
                            attempt + 1, options.maxRetries(), d.toMillis());
                    sleep(d);
                    attempt++;
                    counters.retry();
                    continue;
                }
                throw new RegistryException(call.method + " " + safe(uri) + ": " + describe(e), 0, "CONNECTION", true, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException(call.method + " " + safe(uri) + ": interrupted", 0, null, false, e);
            } catch (IllegalArgumentException e) {
                throw new RegistryException(call.method + " " + safe(uri) + ": bad request: " + e.getMessage(), 0, null, false, e);
            }
            int s = r.status;
            LOG.log(Level.DEBUG, "{0} {1} -> {2}", call.method, safe(uri), s);
            if (s == 401 && call.registryAuth && sameAuthority(uri) && !authenticated) {
                String header = r.headers.firstValue("WWW-Authenticate").orElse(null);
                r.close();
                authenticated = true;
                if (authenticate(AuthChallenge.parse(header), call.scope)) {
                    continue;
                }
                throw new RegistryException(call.method + " " + safe(uri) + ": HTTP 401 and no usable credentials or challenge", 401,
                        "UNAUTHORIZED", false, null);
            }
            if (call.follow && (s == 301 || s == 302 || s == 303 || s == 307 || s == 308)
                    && r.headers.firstValue("Location").isPresent()) {
                URI next = uri.resolve(r.headers.firstValue("Location").get());
                r.close();
                if (++redirects > MAX_REDIRECTS) {
                    throw new RegistryException(call.method + " " + safe(call.uri) + ": too many redirects", s, null, false, null);
                }
                if (!"https".equals(next.getScheme()) && !(("http".equals(next.getScheme())) && options.isInsecure(authority(next)))) {
                    throw new RegistryException(call.method + " " + safe(call.uri) + ": redirect to a non-TLS location " + safe(next)
                            + " refused", s, "INSECURE_REDIRECT", false, null);
                }
                uri = next;
                continue;
            }
            if (call.retry && RegistryException.isTransientStatus(s) && attempt < options.maxRetries()) {
                final int n = attempt;
                Duration d = (s == 429 || s == 503
                        ? Backoff.retryAfter(r.headers.firstValue("Retry-After").orElse(null), options.maxRetryAfter(), Instant.now())
                        : Optional.<Duration>empty()).orElseGet(() -> Backoff.delay(options, n));
                r.close();
                LOG.log(Level.INFO, "{0} {1}: HTTP {2}; retry {3}/{4} in {5} ms", call.method, safe(uri), s, attempt + 1,
                        options.maxRetries(), d.toMillis());
                sleep(d);
                attempt++;
                counters.retry();
                continue;
            }
            return r;
        }
    }

    /** The request's headers: User-Agent, the call's own and, to this registry only, its Authorization. */
    private Map<String, String> headers(Call call, URI uri) throws RegistryException {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("User-Agent", options.userAgent());
        h.putAll(call.headers);
        if (call.registryAuth && sameAuthority(uri)) {
            String auth = authorizationFor(call.scope);
            if (auth != null) {
                h.put("Authorization", auth);
            }
        }
        return h;
    }

    private HttpRequest build(Call call, URI uri, Map<String, String> headers) throws RegistryException {
        HttpRequest.BodyPublisher body;
        try {
            body = call.body == null ? HttpRequest.BodyPublishers.noBody() : call.body.get();
        } catch (IOException e) {
            throw new RegistryException("cannot read the content to send: " + e.getMessage(), 0, null, false, e);
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .method(call.method, body)
                .timeout(options.requestTimeout());
        if ("http".equals(uri.getScheme())) {
            b.version(HttpClient.Version.HTTP_1_1);
        }
        headers.forEach(b::header);
        return b.build();
    }

    private void checkAllowed(URI uri) throws RegistryException {
        String h = uri.getHost();
        if (h == null) {
            throw new RegistryException("no host in " + safe(uri), 0, null, false, null);
        }
        int port = uri.getPort() >= 0 ? uri.getPort() : ("https".equals(uri.getScheme()) ? 443 : 80);
        if (!options.isAllowed(h, port)) {
            throw new RegistryException("host " + h + ":" + port + " is not in the registry allowlist (registry.allowlist; "
                    + "a token realm or a redirect target must be listed too)", 0, "HOST_NOT_ALLOWED", false,
                    null);
        }
    }

    private boolean sameAuthority(URI uri) {
        return authority(uri).equals(host) && uri.getScheme().equals(base.getScheme());
    }

    private static String authority(URI uri) {
        String a = uri.getRawAuthority();
        return a == null ? "" : a.toLowerCase(Locale.ROOT);
    }

    // ------------------------------------------------------------------------------------------------ auth

    private String authorizationFor(String scope) throws RegistryException {
        AuthChallenge c = challenge;
        if (c == null) {
            return null;
        }
        if (c.isBasic()) {
            return credentials().filter(cr -> !cr.isIdentityToken()).map(Credentials::basicHeader).orElse(null);
        }
        Token t = tokens.get(tokenKey(c, scope));
        if (t != null && t.expires.isAfter(Instant.now())) {
            return "Bearer " + t.value;
        }
        return null;
    }

    private static String tokenKey(AuthChallenge c, String scope) {
        return c.realm() + " " + c.service() + " " + scope;
    }

    private Optional<Credentials> credentials() throws RegistryException {
        try {
            return options.dockerConfig().credentialsFor(host);
        } catch (RegistryException e) {
            throw e;
        } catch (IOException e) {
            throw new RegistryException(e.getMessage(), 0, "UNSUPPORTED", false, null);
        }
    }

    /** Handles a challenge; true when the request should be sent again with new credentials. */
    private boolean authenticate(AuthChallenge c, String scope) throws RegistryException {
        if (c == null) {
            return false;
        }
        if (c.isBasic()) {
            challenge = c;
            return credentials().filter(cr -> !cr.isIdentityToken()).isPresent();
        }
        if (!c.isBearer() || c.realm() == null) {
            return false;
        }
        challenge = c;
        String tokenScope = c.scope() != null && !c.scope().isBlank() ? c.scope() : scope;
        Token t = fetchToken(c, tokenScope);
        tokens.put(tokenKey(c, scope), t);
        return true;
    }

    private Token fetchToken(AuthChallenge c, String scope) throws RegistryException {
        URI realm;
        try {
            realm = URI.create(c.realm());
        } catch (IllegalArgumentException e) {
            throw new RegistryException("token realm is not a URL", 401, "UNAUTHORIZED", false, null);
        }
        if (!"https".equals(realm.getScheme()) && !("http".equals(realm.getScheme()) && options.isInsecure(authority(realm)))) {
            throw new RegistryException("token realm " + safe(realm) + " is not https (add it to the insecure hosts to allow)", 401,
                    "UNAUTHORIZED", false, null);
        }
        StringBuilder q = new StringBuilder();
        if (c.service() != null) {
            q.append("service=").append(enc(c.service()));
        }
        if (scope != null) {
            for (String s : scope.split(" ")) {
                if (!s.isBlank()) {
                    q.append(q.length() > 0 ? "&" : "").append("scope=").append(enc(s));
                }
            }
        }
        String raw = realm.toString();
        Optional<Credentials> creds = credentials();
        Call call;
        if (creds.isPresent() && creds.get().isIdentityToken()) {
            // OAuth2 refresh-token grant (what docker does with an identitytoken)
            String form = q + (q.length() > 0 ? "&" : "") + "grant_type=refresh_token&client_id=" + enc(options.userAgent())
                    + "&refresh_token=" + enc(creds.get().password());
            call = new Call("POST", realm, scope).header("Accept", "application/json")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(() -> HttpRequest.BodyPublishers.ofString(form));
        } else {
            URI uri = URI.create(raw + (q.length() == 0 ? "" : (raw.contains("?") ? "&" : "?") + q));
            call = new Call("GET", uri, scope).header("Accept", "application/json");
            if (creds.isPresent()) {
                call.header("Authorization", creds.get().basicHeader());
            }
        }
        call.registryAuth = false;
        counters.tokenFetch();
        Instant now = Instant.now();
        try (Resp r = send(call)) {
            if (r.status == 401 || r.status == 403) {
                throw new RegistryException("token request to " + safe(realm) + " refused (HTTP " + r.status + ")"
                        + (creds.isPresent() ? ": check the credentials for " + host : ": credentials needed for " + host),
                        r.status, "UNAUTHORIZED", false, null);
            }
            expect(r, 200);
            JsonNode n = JSON.readTree(document(r, "token response from " + safe(realm)));
            String token = n.hasNonNull("token") ? n.get("token").asText() : n.path("access_token").asText(null);
            if (token == null || token.isEmpty()) {
                throw new RegistryException("token response from " + safe(realm) + " has no token", 200, "UNAUTHORIZED", false, null);
            }
            long expiresIn = n.path("expires_in").asLong(60);
            if (expiresIn <= 0) {
                expiresIn = 60;
            }
            return new Token(token, now.plusMillis(expiresIn * 900)); // refresh at 90 % of the lifetime
        } catch (RegistryException e) {
            throw e;
        } catch (IOException e) {
            throw new RegistryException("token response from " + safe(realm) + " is not JSON", 200, "UNAUTHORIZED", false, null);
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static String pull(String repository) {
        return "repository:" + repository + ":pull";
    }

    private static String push(String repository) {
        return "repository:" + repository + ":pull,push";
    }

    private static String delete(String repository) {
        return "repository:" + repository + ":delete";
    }

    private URI manifestUri(String repository, String reference) {
        if (!Digests.isValid(reference) && !reference.matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")) {
            throw new IllegalArgumentException("not a tag or digest: " + reference);
        }
        return base.resolve(path(repository) + "/manifests/" + reference);
    }

    private URI blobUri(String repository, String digest) {
        return base.resolve(path(repository) + "/blobs/" + digest);
    }

    private static String path(String repository) {
        if (repository == null || !repository.matches("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")) {
            throw new IllegalArgumentException("invalid repository name: " + repository);
        }
        return repository;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static URI withQuery(URI uri, String key, String value) {
        String s = uri.toString();
        return URI.create(s + (uri.getRawQuery() == null ? "?" : "&") + key + "=" + enc(value));
    }

    private static URI location(Resp r) throws RegistryException {
        String loc = r.headers.firstValue("Location").orElseThrow(() ->
                new RegistryException(r.method + " " + safe(r.uri) + ": no Location in the answer", r.status, "BLOB_UPLOAD_INVALID",
                        false, null));
        return r.uri.resolve(loc);
    }

    private static String contentType(HttpHeaders h) {
        return h.firstValue("Content-Type").map(v -> {
            int semi = v.indexOf(';');
            return (semi < 0 ? v : v.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
        }).filter(v -> !v.isEmpty()).orElse(null);
    }

    /** Scheme, host and path only: a query may hold upload state or a pre-signed URL's signature. */
    static String safe(URI uri) {
        return uri.getScheme() + "://" + uri.getRawAuthority() + uri.getRawPath();
    }

    private static String describe(IOException e) {
        String kind = e instanceof HttpTimeoutException || e instanceof SocketTimeoutException ? "timeout"
                : e instanceof ConnectException ? "connection refused" : "connection error";
        return kind + " (" + e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "") + ")";
    }

    private static void sleep(Duration d) throws RegistryException {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("interrupted while waiting to retry", 0, null, false, e);
        }
    }

    /** The body of a JSON answer, at most {@link RegistryOptions#maxDocumentBytes()} of it. */
    private byte[] document(Resp r, String what) throws IOException {
        int max = options.maxDocumentBytes();
        long declared = r.headers.firstValueAsLong("Content-Length").orElse(-1);
        byte[] bytes = declared > max ? null : r.body.readNBytes(max + 1);
        if (bytes == null || bytes.length > max) {
            throw new RegistryException(what + " is larger than " + max + " bytes", r.status, "TOO_LARGE", false, null);
        }
        return bytes;
    }

    @Override
    public byte[] getBlob(String repository, String digest, long maxBytes) throws IOException {
        Optional<Long> size = blobSize(repository, digest);
        if (size.isPresent() && size.get() > maxBytes) {
            throw new RegistryException("blob " + digest + " is larger than " + maxBytes + " bytes", 200, "TOO_LARGE", false, null);
        }
        return RegistryTarget.super.getBlob(repository, digest, maxBytes);
    }

    private void expect(Resp r, int... ok) throws RegistryException {
        for (int s : ok) {
            if (r.status == s) {
                return;
            }
        }
        throw error(r);
    }

    private static RegistryException error(Resp r) {
        String code = null;
        String message = null;
        try {
            byte[] body = r.body.readNBytes(64 * 1024);
            if (body.length > 0 && body[0] == '{') {
                JsonNode n = JSON.readTree(body);
                JsonNode first = n.path("errors").path(0);
                if (!first.isMissingNode()) {
                    code = first.path("code").asText(null);
                    message = first.path("message").asText(null);
                }
            } else if (body.length > 0) {
                message = new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8).strip();
            }
        } catch (IOException | RuntimeException ignored) {
            // no readable error body
        } finally {
            r.close();
        }
        String text = r.method + " " + safe(r.uri) + ": HTTP " + r.status + (code != null ? " " + code : "")
                + (message != null && !message.isEmpty() ? ": " + message : "");
        return new RegistryException(text, r.status, code);
    }

    private void requireThisRegistry(ImageReference ref) {
        if (ref.isLayout() || !ref.registry().equalsIgnoreCase(host)) {
            throw new IllegalArgumentException(ref + " is not on registry " + host);
        }
    }

    @Override
    public String toString() {
        return "RegistryClient[" + base + "]";
    }
}

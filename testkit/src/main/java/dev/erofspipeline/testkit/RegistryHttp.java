package dev.erofspipeline.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * A deliberately small plain-HTTP OCI distribution client built on the JDK's {@link HttpClient}, for
 * tests only (no auth, no retries): it lets a test push and pull blobs and manifests independently of the
 * product's registry client.
 */
public final class RegistryHttp {

    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    /** Accept header covering every manifest type; docker-registry 2.8 answers 404 for OCI types without it. */
    public static final String ACCEPT_ALL_MANIFESTS = String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST,
            DOCKER_MANIFEST_LIST);

    /** A fetched manifest: raw bytes, the Content-Type and the Docker-Content-Digest header. */
    public record Manifest(byte[] bytes, String mediaType, String digest) {
    }

    /** Status and body of a request that did not go as expected. */
    public static final class HttpStatusException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int status;

        HttpStatusException(String what, int status, String body) {
            super(what + " -> HTTP " + status + (body.isEmpty() ? "" : ": " + body));
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    private final URI base;
    private final HttpClient client;

    /** {@code base} is {@code http://host:port}. */
    public RegistryHttp(URI base) {
        this.base = base;
        this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                .version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** Uploads a blob monolithically (POST, then PUT {@code ?digest=}) and returns its digest. */
    public String pushBlob(String repo, byte[] content) {
        String digest = Digests.sha256(content);
        HttpResponse<String> post = send(HttpRequest.newBuilder(url("/v2/" + repo + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()), "start upload in " + repo);
        expect(post, 202, "POST upload " + repo);
        String location = post.headers().firstValue("Location")
                .orElseThrow(() -> new IllegalStateException("upload POST without Location"));
        URI put = base.resolve(location);
        String sep = put.getRawQuery() == null ? "?" : "&";
        URI target = URI.create(put + sep + "digest=" + digest);
        HttpResponse<String> r = send(HttpRequest.newBuilder(target)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(content)), "PUT blob");
        expect(r, 201, "PUT blob " + digest);
        return digest;
    }

    public boolean blobExists(String repo, String digest) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(url("/v2/" + repo + "/blobs/" + digest))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()), "HEAD blob");
        return r.statusCode() == 200;
    }

    public byte[] getBlob(String repo, String digest) {
        HttpResponse<byte[]> r = sendBytes(HttpRequest.newBuilder(url("/v2/" + repo + "/blobs/" + digest)).GET());
        if (r.statusCode() != 200) {
            throw new HttpStatusException("GET blob " + digest, r.statusCode(), "");
        }
        return r.body();
    }

    /** PUTs a manifest under a tag or digest with the given media type; returns Docker-Content-Digest. */
    public String putManifest(String repo, String reference, String mediaType, byte[] manifest) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(url("/v2/" + repo + "/manifests/" + reference))
                .header("Content-Type", mediaType)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)), "PUT manifest");
        expect(r, 201, "PUT manifest " + repo + ":" + reference);
        return r.headers().firstValue("Docker-Content-Digest").orElse(Digests.sha256(manifest));
    }

    /** GETs a manifest by tag or digest, accepting every manifest type. */
    public Manifest getManifest(String repo, String reference) {
        return findManifest(repo, reference)
                .orElseThrow(() -> new HttpStatusException("GET manifest " + repo + ":" + reference, 404, ""));
    }

    public Optional<Manifest> findManifest(String repo, String reference) {
        HttpResponse<byte[]> r = sendBytes(HttpRequest.newBuilder(url("/v2/" + repo + "/manifests/" + reference))
                .header("Accept", ACCEPT_ALL_MANIFESTS).GET());
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        if (r.statusCode() != 200) {
            throw new HttpStatusException("GET manifest " + repo + ":" + reference, r.statusCode(), "");
        }
        return Optional.of(new Manifest(r.body(), r.headers().firstValue("Content-Type").orElse(null),
                r.headers().firstValue("Docker-Content-Digest").orElse(null)));
    }

    /** DELETE a manifest by digest (202 expected). */
    public void deleteManifest(String repo, String digest) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(url("/v2/" + repo + "/manifests/" + digest)).DELETE(),
                "DELETE manifest");
        expect(r, 202, "DELETE manifest " + digest);
    }

    /** The raw JSON of {@code /v2/<repo>/tags/list}. */
    public String tagsJson(String repo) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(url("/v2/" + repo + "/tags/list")).GET(), "tags");
        expect(r, 200, "GET tags " + repo);
        return r.body();
    }

    /** The raw JSON of {@code /v2/_catalog}. */
    public String catalogJson() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(url("/v2/_catalog")).GET(), "catalog");
        expect(r, 200, "GET catalog");
        return r.body();
    }

    private URI url(String path) {
        return base.resolve(path);
    }

    private HttpResponse<String> send(HttpRequest.Builder b, String what) {
        try {
            return client.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(what + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + what, e);
        }
    }

    private HttpResponse<byte[]> sendBytes(HttpRequest.Builder b) {
        try {
            return client.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void expect(HttpResponse<String> r, int status, String what) {
        if (r.statusCode() != status) {
            throw new HttpStatusException(what, r.statusCode(), r.body());
        }
    }
}

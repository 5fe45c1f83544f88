package dev.erofspipeline.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The referrers API path against a TEST DOUBLE (a JDK HttpServer implementing {@code GET /v2/<name>/referrers/<digest>}
 * with Link pagination, and a paginated {@code tags/list}): no registry available on this machine implements the
 * referrers API (INFRA.md section 3b), and docker-registry 2.8.2 ignores {@code ?n=} on tags.
 */
class ReferrersApiTestDoubleTest {
    private static final String SUBJECT = "sha256:" + "11".repeat(32);
    private static final String R1 = "sha256:" + "22".repeat(32);
    private static final String R2 = "sha256:" + "33".repeat(32);
    private static final String ART_A = "application/vnd.example.a.v1";
    private static final String ART_B = "application/vnd.example.b.v1";

    private HttpServer testDouble;
    private String host;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void start() throws IOException {
        testDouble = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        host = "127.0.0.1:" + testDouble.getAddress().getPort();
        testDouble.createContext("/v2/", this::handle);
        testDouble.start();
    }

    @AfterEach
    void stop() {
        testDouble.stop(0);
    }

    private static String entry(String digest, String artifactType) {
        return "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + digest + "\",\"size\":321,"
                + "\"artifactType\":\"" + artifactType + "\",\"annotations\":{\"k\":\"" + digest.substring(7, 9) + "\"}}";
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String query = ex.getRequestURI().getRawQuery();
        requests.add(ex.getRequestMethod() + " " + path + (query != null ? "?" + query : ""));
        try (ex) {
            byte[] body;
            String type = "application/json";
            int status = 200;
            if (path.equals("/v2/app/referrers/" + SUBJECT)) {
                type = MediaTypeNames.OCI_INDEX;
                String filter = query != null && query.startsWith("artifactType=")
                        ? java.net.URLDecoder.decode(query.substring(13), StandardCharsets.UTF_8) : null;
                if (filter != null) {
                    ex.getResponseHeaders().add("OCI-Filters-Applied", "artifactType");
                    String d = filter.equals(ART_A) ? R1 : R2;
                    body = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypeNames.OCI_INDEX + "\",\"manifests\":[" + entry(d, filter) + "]}")
                            .getBytes(StandardCharsets.UTF_8);
                } else if (query == null) {
                    // first page, with a Link to the second
                    ex.getResponseHeaders().add("Link", "</v2/app/referrers/" + SUBJECT + "?page=2>; rel=\"next\"");
                    body = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypeNames.OCI_INDEX + "\",\"manifests\":[" + entry(R1, ART_A) + "]}")
                            .getBytes(StandardCharsets.UTF_8);
                } else {
                    body = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypeNames.OCI_INDEX + "\",\"manifests\":[" + entry(R2, ART_B) + "]}")
                            .getBytes(StandardCharsets.UTF_8);
                }
            } else if (path.equals("/v2/app/tags/list")) {
                List<String> all = List.of("a", "b", "c", "d", "e");
                String last = query != null && query.contains("last=") ? query.replaceAll(".*last=([^&]*).*", "$1") : null;
                int from = last == null ? 0 : all.indexOf(last) + 1;
                int to = Math.min(all.size(), from + 2);
                if (to < all.size()) {
                    ex.getResponseHeaders().add("Link", "</v2/app/tags/list?n=2&last=" + all.get(to - 1) + ">; rel=\"next\"");
                }
                body = ("{\"name\":\"app\",\"tags\":[\"" + String.join("\",\"", all.subList(from, to)) + "\"]}").getBytes(StandardCharsets.UTF_8);
            } else {
                status = 404;
                body = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"unknown\"}]}".getBytes(StandardCharsets.UTF_8);
            }
            ex.getResponseHeaders().add("Content-Type", type);
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
        }
    }

    @Test
    void referrersComeFromTheApiWithPaginationAndFilter() throws Exception {
        RegistryClient c = new RegistryClient(host, TestSupport.options(host).build());
        List<Descriptor> all = c.referrers("app", SUBJECT, null);
        assertEquals(List.of(new Descriptor(MediaTypeNames.OCI_MANIFEST, R1, 321, ART_A, Map.of("k", "22")),
                new Descriptor(MediaTypeNames.OCI_MANIFEST, R2, 321, ART_B, Map.of("k", "33"))), all);
        assertTrue(c.hasReferrersApi("app", SUBJECT));
        List<Descriptor> onlyB = c.referrers("app", SUBJECT, ART_B);
        assertEquals(List.of(R2), onlyB.stream().map(Descriptor::digest).toList());
        assertTrue(requests.stream().noneMatch(r -> r.contains("/manifests/sha256-")), "no fallback tag read: " + requests);
    }

    @Test
    void addReferrerIsANoOpWhenTheRegistryIndexesSubjects() throws Exception {
        RegistryClient c = new RegistryClient(host, TestSupport.options(host).build());
        c.addReferrer("app", SUBJECT, new Descriptor(MediaTypeNames.OCI_MANIFEST, R1, 321, ART_A, Map.of()));
        assertEquals(List.of("GET /v2/app/referrers/" + SUBJECT), requests, "only the probe, no tag index written");
    }

    @Test
    void tagsFollowLinkPagination() throws Exception {
        RegistryClient c = new RegistryClient(host, TestSupport.options(host).build());
        assertEquals(List.of("a", "b", "c", "d", "e"), c.listTags("app", 2));
        assertEquals(List.of("GET /v2/app/tags/list?n=2", "GET /v2/app/tags/list?n=2&last=b", "GET /v2/app/tags/list?n=2&last=d"),
                requests);
    }
}

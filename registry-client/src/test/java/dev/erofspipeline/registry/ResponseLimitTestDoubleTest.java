package dev.erofspipeline.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every JSON document read from a registry is bounded (manifests, tag pages, referrers indexes,
 * token responses, image configs), against a TEST DOUBLE (JDK HttpServer) that answers with
 * oversized bodies, some without a Content-Length: docker-registry cannot be made to do that.
 */
class ResponseLimitTestDoubleTest {
    private static final int LIMIT = 4096;
    private HttpServer registryDouble;
    private RegistryClient client;
    private byte[] config;

    @BeforeEach
    void start() throws IOException {
        registryDouble = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        byte[] huge = ("{\"tags\":[\"" + "t".repeat(LIMIT) + "\"]}").getBytes(StandardCharsets.UTF_8);
        config = ("{\"rootfs\":{\"diff_ids\":[]},\"pad\":\"" + "p".repeat(100) + "\"}").getBytes(StandardCharsets.UTF_8);
        registryDouble.createContext("/v2/", ex -> {
            String path = ex.getRequestURI().getPath();
            byte[] body;
            boolean chunked = false;
            if (path.endsWith("/manifests/big")) {
                ex.getResponseHeaders().add("Content-Type", "application/vnd.oci.image.manifest.v1+json");
                body = huge;
            } else if (path.endsWith("/tags/list")) {
                ex.getResponseHeaders().add("Content-Type", "application/json");
                body = huge;
                chunked = true; // no Content-Length: the limit must hold while reading
            } else if (path.endsWith("/blobs/" + Digests.sha256(config))) {
                body = config;
            } else {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
                ex.sendResponseHeaders(200, -1);
                ex.close();
                return;
            }
            ex.sendResponseHeaders(200, chunked ? 0 : body.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(body);
            }
        });
        registryDouble.start();
        String host = "127.0.0.1:" + registryDouble.getAddress().getPort();
        client = new RegistryClient(host, TestSupport.options(host).maxDocumentBytes(LIMIT).build());
    }

    @AfterEach
    void stop() {
        client.close();
        registryDouble.stop(0);
    }

    private static void tooLarge(Executable call) {
        RegistryException e = assertThrows(RegistryException.class, call);
        assertEquals("TOO_LARGE", e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().contains("larger than " + LIMIT + " bytes"), e.getMessage());
    }

    @Test
    void anOversizedManifestIsRefusedFromItsContentLength() {
        tooLarge(() -> client.getManifest("r", "big"));
    }

    @Test
    void anOversizedTagPageWithoutContentLengthIsRefusedWhileReading() {
        tooLarge(() -> client.listTags("r"));
    }

    @Test
    void aBlobReadWithABoundIsRefusedAboveItAndReadBelowIt() throws Exception {
        String digest = Digests.sha256(config);
        RegistryException e = assertThrows(RegistryException.class, () -> client.getBlob("r", digest, 100));
        assertEquals("TOO_LARGE", e.errorCode(), e.getMessage());
        assertArrayEquals(config, client.getBlob("r", digest, config.length));
    }
}

package dev.erofspipeline.registry;

import dev.erofspipeline.testkit.FaultInjectingProxy;
import dev.erofspipeline.testkit.RegistryFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Transient failures injected by a loopback proxy in front of a real docker-registry. */
class RetryTest {
    @RegisterExtension
    static final RegistryFixture REGISTRY = RegistryFixture.create();

    private static FaultInjectingProxy proxy;
    private static Manifest manifest;

    @BeforeAll
    static void start() throws Exception {
        proxy = new FaultInjectingProxy(REGISTRY.host());
        RegistryClient direct = TestSupport.client(REGISTRY);
        byte[] layer = TestImages.random(5000, 11);
        byte[] config = TestImages.config(Digests.sha256(layer));
        direct.pushBlob("retry/img", BlobSource.of(layer));
        direct.pushBlob("retry/img", BlobSource.of(config));
        manifest = TestImages.imageManifest(config, layer);
        direct.putManifest("retry/img", "v1", manifest);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private static RegistryClient viaProxy(int maxRetries) {
        return new RegistryClient(proxy.host(), TestSupport.options(proxy.host()).maxRetries(maxRetries).build());
    }

    @Test
    void transientStatusesAreRetriedHonouringRetryAfter() throws Exception {
        RegistryClient c = viaProxy(5);
        String httpDate = DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().plusSeconds(1).atOffset(ZoneOffset.UTC));
        proxy.inject(new FaultInjectingProxy.Fault(503, null), new FaultInjectingProxy.Fault(429, "1"),
                new FaultInjectingProxy.Fault(429, null), new FaultInjectingProxy.Fault(503, httpDate));
        long t0 = System.nanoTime();
        Manifest got = c.getManifest("retry/img", "v1");
        long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        assertArrayEquals(manifest.bytes(), got.bytes());
        assertEquals(4, c.counters().retries());
        assertEquals(5, c.counters().requests());
        assertTrue(ms >= 900, "Retry-After: 1 was honoured, took " + ms + " ms");
    }

    @Test
    void writesThroughTheProxyAreRetriedToo() throws Exception {
        RegistryClient c = viaProxy(3);
        byte[] blob = TestImages.random(20_000, 12);
        // HEAD (exists?) 503, then POST 503, then the upload goes through
        proxy.inject(new FaultInjectingProxy.Fault(503, null), new FaultInjectingProxy.Fault(503, "0"));
        c.pushBlob("retry/img", BlobSource.of(blob));
        assertEquals(2, c.counters().retries());
        assertEquals(Optional.of(20_000L), TestSupport.client(REGISTRY).blobSize("retry/img", Digests.sha256(blob)));
    }

    @Test
    void aChunkedUploadWhoseSessionFailsStartsOver() throws Exception {
        // no request-level retries: the PATCH failure reaches pushBlob, which starts a new session
        RegistryClient c = new RegistryClient(proxy.host(), TestSupport.options(proxy.host()).maxRetries(0)
                .chunkSize(64 * 1024).monolithicLimit(1000).build());
        byte[] blob = TestImages.random(200_000, 13);
        proxy.inject(new FaultInjectingProxy.Fault(502, null, "PATCH"));
        c.pushBlob("retry/chunked", BlobSource.of(blob));
        assertEquals(1, c.counters().retries());
        assertEquals(Optional.of(200_000L), TestSupport.client(REGISTRY).blobSize("retry/chunked", Digests.sha256(blob)));
        assertArrayEquals(blob, TestSupport.client(REGISTRY).getBlob("retry/chunked", Digests.sha256(blob)));
    }

    @Test
    void aPermanent404IsNotRetried() throws Exception {
        RegistryClient c = viaProxy(5);
        RegistryException e = assertThrows(RegistryException.class, () -> c.getManifest("retry/img", "missing"));
        assertEquals(404, e.status());
        assertFalse(e.isTransient());
        assertEquals(0, c.counters().retries());
        assertEquals(1, c.counters().requests());
    }

    @Test
    void retriesAreBounded() {
        RegistryClient c = viaProxy(2);
        proxy.inject(new FaultInjectingProxy.Fault(503, null), new FaultInjectingProxy.Fault(503, null),
                new FaultInjectingProxy.Fault(503, null));
        RegistryException e = assertThrows(RegistryException.class, () -> c.getManifest("retry/img", "v1"));
        assertEquals(503, e.status());
        assertTrue(e.isTransient());
        assertEquals("TOOMANYREQUESTS", e.errorCode());
        assertEquals(2, c.counters().retries());
        assertEquals(3, c.counters().requests());
    }

    @Test
    void tlsIsTheDefaultAndATlsFailureIsPermanent() {
        RegistryOptions defaults = RegistryOptions.defaults();
        assertEquals("https", new RegistryClient("registry.example:5000", defaults).baseUri().getScheme());
        // the real registry speaks plain HTTP: without the insecure entry the client insists on TLS and fails at once
        RegistryClient c = new RegistryClient(REGISTRY.host(), TestSupport.options().maxRetries(3).build());
        RegistryException e = assertThrows(RegistryException.class, () -> c.getManifest("retry/img", "v1"));
        assertEquals("TLS", e.errorCode());
        assertFalse(e.isTransient());
        assertEquals(0, c.counters().retries());
        assertTrue(e.getMessage().contains("insecure"), e.getMessage());
    }

    @Test
    void connectionRefusedIsTransient() throws Exception {
        int closedPort = TestSupport.freePort();
        RegistryClient c = new RegistryClient("127.0.0.1:" + closedPort,
                TestSupport.options("127.0.0.1:" + closedPort).maxRetries(2).build());
        RegistryException e = assertThrows(RegistryException.class, () -> c.headManifest("x/y", "latest"));
        assertEquals(0, e.status());
        assertTrue(e.isTransient());
        assertEquals(2, c.counters().retries());
    }
}

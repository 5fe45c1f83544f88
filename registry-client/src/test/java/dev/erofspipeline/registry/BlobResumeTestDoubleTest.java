package dev.erofspipeline.registry;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Blob resume corner cases against a TEST DOUBLE (JDK HttpServer) that breaks its answers on purpose and ignores
 * {@code Range} (answers 200 with the whole blob), which docker-registry never does.
 */
class BlobResumeTestDoubleTest {
    private static final byte[] BLOB = TestImages.random(300_000, 61);
    private static final String DIGEST = Digests.sha256(BLOB);

    private HttpServer testDouble;
    private String host;
    private final AtomicInteger breaksLeft = new AtomicInteger();
    private volatile boolean corrupt;
    private volatile CountDownLatch stall = new CountDownLatch(0);
    private final List<String> ranges = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void start() throws IOException {
        testDouble = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        host = "127.0.0.1:" + testDouble.getAddress().getPort();
        testDouble.createContext("/v2/app/blobs/" + DIGEST, ex -> {
            ranges.add(String.valueOf(ex.getRequestHeaders().getFirst("Range")));
            byte[] body = BLOB.clone();
            if (corrupt) {
                body[1234] ^= 1;
            }
            ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
            ex.sendResponseHeaders(200, body.length); // Range ignored
            OutputStream out = ex.getResponseBody();
            if (stall.getCount() > 0) {
                out.write(body, 0, 100_000);
                out.flush();
                try {
                    stall.await(); // the reader waits for the socket meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                out.write(body, 100_000, body.length - 100_000);
                ex.close();
                return;
            }
            if (breaksLeft.getAndDecrement() > 0) {
                out.write(body, 0, 100_000);
                out.flush();
                // fewer bytes than announced: the server closes the connection
                try {
                    ex.close();
                } catch (RuntimeException ignored) {
                    // "insufficient bytes written"
                }
                return;
            }
            out.write(body);
            ex.close();
        });
        testDouble.start();
    }

    @AfterEach
    void stop() {
        testDouble.stop(0);
    }

    private RegistryClient client(int maxResumes) {
        return new RegistryClient(host, TestSupport.options(host).maxResumeAttempts(maxResumes).build());
    }

    @Test
    void aServerIgnoringRangeIsSkippedForward() throws Exception {
        breaksLeft.set(1);
        RegistryClient c = client(3);
        byte[] got;
        try (InputStream in = c.openBlob("app", DIGEST)) {
            got = in.readAllBytes();
        }
        assertArrayEquals(BLOB, got);
        assertEquals(1, c.counters().resumes());
        assertEquals("null", ranges.get(0));
        assertTrue(ranges.get(1).matches("bytes=\\d+-"), ranges.toString());
    }

    @Test
    void aCloseFromAnotherThreadReturnsAtOnceAndEndsTheDownloadWithoutResuming() throws Exception {
        stall = new CountDownLatch(1);
        RegistryClient c = client(3);
        InputStream in = c.openBlob("app", DIGEST);
        AtomicReference<Throwable> readerGot = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                in.readAllBytes();
            } catch (Throwable t) {
                readerGot.set(t);
            }
        });
        reader.start();
        while (reader.getState() != Thread.State.RUNNABLE || c.counters().requests() < 1) {
            Thread.sleep(10);
        }
        Thread.sleep(200); // the reader has read what was sent and waits for more
        Thread closer = new Thread(() -> {
            try {
                in.close(); // what a worker abandoning its jobs at shutdown does
            } catch (IOException ignored) {
                // not expected; the assertion below catches a close that hangs
            }
        });
        closer.start();
        closer.join(5_000);
        assertFalse(closer.isAlive(), "close waited for the reader");
        stall.countDown(); // the next bytes arrive: the reader sees the close
        reader.join(10_000);
        assertFalse(reader.isAlive());
        assertTrue(readerGot.get() instanceof IOException, String.valueOf(readerGot.get()));
        assertEquals(0, c.counters().resumes(), "a closed download is not resumed");
        assertEquals(1, ranges.size(), ranges.toString());
    }

    @Test
    void resumesAreBounded() {
        breaksLeft.set(10);
        RegistryClient c = client(2);
        RegistryException e = assertThrows(RegistryException.class, () -> {
            try (InputStream in = c.openBlob("app", DIGEST)) {
                in.readAllBytes();
            }
        });
        assertTrue(e.isTransient());
        assertEquals(2, c.counters().resumes());
        assertEquals(3, ranges.size());
    }

    @Test
    void corruptContentFailsAtTheEndWithDigestInvalid() {
        corrupt = true;
        RegistryClient c = client(2);
        RegistryException e = assertThrows(RegistryException.class, () -> {
            try (InputStream in = c.openBlob("app", DIGEST)) {
                in.readAllBytes();
            }
        });
        assertEquals("DIGEST_INVALID", e.errorCode());
        assertTrue(!e.isTransient());
    }
}

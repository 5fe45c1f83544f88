package dev.erofspipeline.registry;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.net.Authenticator;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One blob GET over {@link HttpURLConnection}, the transport of blob downloads only. The JDK HttpClient reads every
 * body on its selector thread into newly allocated buffers and hands each to the reader through a queue: a 100 MB
 * blob from docker-registry cost 180-320 ms of CPU that way, 20-70 ms here, where the reader's thread reads the
 * socket itself ({@code scripts/bench-download.sh}). Everything around the exchange (allowlist, auth, redirects,
 * retries, resumes, size and digest checks) stays in {@link RegistryClient}: this class neither follows redirects nor
 * answers challenges. TLS is verified with the JVM's default trust store (as the HttpClient does), HTTP/1.1 only.
 */
final class BlobTransport {
    private static final System.Logger LOG = System.getLogger(BlobTransport.class.getName());

    /** Answers no authentication request: credentials are {@link RegistryClient}'s business, never the JVM's. */
    private static final Authenticator NO_AUTHENTICATOR = new Authenticator() { };

    /** Status, headers and body (the error body for a status of 400 or more; never null). */
    record Answer(int status, HttpHeaders headers, InputStream body) {
    }

    private BlobTransport() {
    }

    /**
     * Sends a GET with these headers and waits for the status and headers.
     *
     * @param readTimeout the longest wait for the answer and then for each read of the body: a stalled download breaks
     *     (and is resumed by {@link BlobInputStream}) instead of hanging
     */
    static Answer get(URI uri, Map<String, String> headers, Duration connectTimeout, Duration readTimeout) throws IOException {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        c.setUseCaches(false);
        c.setAuthenticator(NO_AUTHENTICATOR);
        c.setConnectTimeout(Math.toIntExact(Math.min(Integer.MAX_VALUE, connectTimeout.toMillis())));
        c.setReadTimeout(Math.toIntExact(Math.min(Integer.MAX_VALUE, readTimeout.toMillis())));
        headers.forEach(c::setRequestProperty);
        try {
            int status = c.getResponseCode();
            // one entry per name whatever its case (HttpHeaders refuses two); the null key is the status line
            Map<String, List<String>> fields = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            c.getHeaderFields().forEach((name, values) -> {
                if (name != null) {
                    fields.computeIfAbsent(name, n -> new ArrayList<>()).addAll(values);
                }
            });
            InputStream body = status >= 400 ? c.getErrorStream() : c.getInputStream();
            return new Answer(status, HttpHeaders.of(fields, (k, v) -> true),
                    new Body(body == null ? InputStream.nullInputStream() : body));
        } catch (IOException | RuntimeException e) {
            c.disconnect();
            throw e;
        }
    }

    /**
     * The body. HttpURLConnection's streams hold a lock while a read waits for the socket, so a close from another
     * thread (a job abandoned at shutdown) would wait for that read: such a close returns at once and the stream is
     * closed on a thread of its own as soon as the read returns (the next bytes, or the read timeout). Reads after a
     * close fail.
     */
    private static final class Body extends FilterInputStream {
        private volatile boolean closed;
        private volatile Thread reader;

        Body(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            reading();
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            reading();
            return in.read(b, off, len);
        }

        @Override
        public long skip(long n) throws IOException {
            reading();
            return in.skip(n);
        }

        private void reading() throws IOException {
            if (closed) {
                throw new IOException("closed");
            }
            reader = Thread.currentThread();
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            Thread r = reader;
            if (r == null || r == Thread.currentThread()) {
                in.close();
                return;
            }
            Thread closer = new Thread(() -> {
                try {
                    in.close();
                } catch (IOException e) {
                    LOG.log(Level.DEBUG, "closing an abandoned blob download: {0}", e.getMessage());
                }
            }, "registry-blob-close");
            closer.setDaemon(true);
            closer.start();
        }
    }
}

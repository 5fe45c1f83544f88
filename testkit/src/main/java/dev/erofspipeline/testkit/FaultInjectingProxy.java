package dev.erofspipeline.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * A loopback HTTP proxy in front of a real registry: answers the queued faults (status, optional Retry-After, or a
 * connection dropped half-way through the real response body) to the next matching requests, then passes requests
 * through, optionally throttled. It can also hold a matching request (not forwarded) until the test releases it, to
 * kill the client at that point. Sets X-Forwarded-Host so the registry's Location headers point here.
 */
public final class FaultInjectingProxy implements AutoCloseable {
    /** Status of a {@link Fault} that forwards the request and drops the connection half-way through the response body. */
    public static final int DROP_MID_BODY = 0;

    /**
     * An answer to inject; {@code method} null matches any request, {@code path} (a regular expression the whole path
     * must match) null any path.
     */
    public record Fault(int status, String retryAfter, String method, Pattern path) {
        public Fault(int status, String retryAfter) {
            this(status, retryAfter, null, null);
        }

        public Fault(int status, String retryAfter, String method) {
            this(status, retryAfter, method, null);
        }

        /** The real answer, cut off after half of its body (the client sees the connection close). */
        public static Fault dropMidBody(String method, Pattern path) {
            return new Fault(DROP_MID_BODY, null, method, path);
        }

        boolean matches(String requestMethod, String requestPath) {
            return (method == null || method.equals(requestMethod)) && (path == null || path.matcher(requestPath).matches());
        }
    }

    /** A {@link #hold} not yet met: the method and the path pattern it waits for. */
    private record HoldRule(String method, Pattern path, HeldRequest held) {}

    private static final Set<String> HOP = Set.of("host", "connection", "content-length", "expect", "upgrade", "transfer-encoding",
            "keep-alive", "http2-settings", "te");

    private final HttpServer server;
    private final HttpClient upstream = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private final String upstreamHost;
    private final ConcurrentLinkedQueue<Fault> faults = new ConcurrentLinkedQueue<>();
    private final AtomicInteger injected = new AtomicInteger();
    private final AtomicInteger passed = new AtomicInteger();
    private final ConcurrentLinkedQueue<HoldRule> holds = new ConcurrentLinkedQueue<>();
    private volatile long bytesPerSecond;

    public FaultInjectingProxy(String upstreamHost) throws IOException {
        this.upstreamHost = upstreamHost;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.createContext("/", this::handle);
        server.start();
    }

    public String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public void inject(Fault... f) {
        faults.addAll(List.of(f));
    }

    /** Holds the next request with this method whose path matches (the whole path), until released. */
    public HeldRequest hold(String method, Pattern path) {
        HoldRule h = new HoldRule(method, path, new HeldRequest());
        holds.add(h);
        return h.held();
    }

    public int injected() {
        return injected.get();
    }

    public int passed() {
        return passed.get();
    }

    /** Slows every passed-through response body to about this rate; 0: full speed. */
    public void throttle(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] body;
            try (InputStream in = ex.getRequestBody()) {
                body = in.readAllBytes();
            }
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getPath();
            HoldRule hold = null;
            synchronized (holds) {
                for (HoldRule h : holds) {
                    if (h.method().equals(method) && h.path().matcher(path).matches()) {
                        hold = h;
                        holds.remove(h);
                        break;
                    }
                }
            }
            if (hold != null) {
                hold.held().hold(method + " " + path);
                return; // closed unanswered
            }
            Fault f = null;
            synchronized (faults) {
                Fault head = faults.peek();
                if (head != null && head.matches(method, path)) {
                    f = faults.poll();
                }
            }
            if (f != null && f.status() != DROP_MID_BODY) {
                injected.incrementAndGet();
                if (f.retryAfter() != null) {
                    ex.getResponseHeaders().add("Retry-After", f.retryAfter());
                }
                ex.getResponseHeaders().add("Content-Type", "application/json");
                byte[] err = ("{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"injected " + f.status() + "\"}]}").getBytes();
                if ("HEAD".equals(ex.getRequestMethod())) {
                    ex.sendResponseHeaders(f.status(), -1);
                } else {
                    ex.sendResponseHeaders(f.status(), err.length);
                    ex.getResponseBody().write(err);
                }
                return;
            }
            if (f != null) {
                injected.incrementAndGet();
            } else {
                passed.incrementAndGet();
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + upstreamHost + ex.getRequestURI()))
                    .method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(body));
            for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
                if (!HOP.contains(h.getKey().toLowerCase())) {
                    h.getValue().forEach(v -> b.header(h.getKey(), v));
                }
            }
            b.header("X-Forwarded-Host", host());
            b.header("X-Forwarded-Proto", "http");
            HttpResponse<byte[]> r;
            try {
                r = upstream.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            boolean head = "HEAD".equals(ex.getRequestMethod());
            r.headers().map().forEach((k, vs) -> {
                String lk = k.toLowerCase();
                if (!HOP.contains(lk) || (head && lk.equals("content-length"))) {
                    vs.forEach(v -> ex.getResponseHeaders().add(k, v));
                }
            });
            byte[] out = r.body();
            if (head || out.length == 0) {
                ex.sendResponseHeaders(r.statusCode(), -1);
            } else if (f != null) {
                // the full length is announced, half of it sent: the client reads a truncated body
                ex.sendResponseHeaders(r.statusCode(), out.length);
                OutputStream os = ex.getResponseBody();
                os.write(out, 0, out.length / 2);
                os.flush();
                throw new IOException("connection dropped mid-body (injected)");
            } else {
                ex.sendResponseHeaders(r.statusCode(), out.length);
                try (OutputStream os = ex.getResponseBody()) {
                    write(os, out);
                }
            }
        }
    }

    private void write(OutputStream os, byte[] out) throws IOException {
        long rate = bytesPerSecond;
        if (rate <= 0) {
            os.write(out);
            return;
        }
        int slice = (int) Math.max(1, Math.min(out.length, rate / 10));
        for (int off = 0; off < out.length; off += slice) {
            os.write(out, off, Math.min(slice, out.length - off));
            os.flush();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("throttled response interrupted", e);
            }
        }
    }

    @Override
    public void close() {
        holds.forEach(h -> h.held().release());
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}

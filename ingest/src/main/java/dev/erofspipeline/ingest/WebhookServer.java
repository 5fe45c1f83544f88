package dev.erofspipeline.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.SchemaViolationException;
import dev.erofspipeline.schemas.Topics;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The registry webhook endpoint (JDK {@link HttpServer}): {@code POST /webhooks/distribution} takes CNCF distribution
 * notification envelopes, {@code POST /webhooks/harbor} Harbor webhooks; {@code GET /healthz} answers 200.
 *
 * <p>Every webhook request must carry the shared secret, as {@code Authorization: Bearer <secret>} or as the password of
 * {@code Authorization: Basic} (distribution's notification endpoints send Basic when the secret is in the URL's user
 * info, {@code http://hook:<secret>@host/webhooks/distribution}, or a header configured under {@code headers:}); Harbor
 * sends its configured auth header verbatim. Answers: 401 without or with a wrong secret, 405 for another method, 413
 * over 1 MiB, 400 for what is not JSON or not an envelope of the kind (the reason in the body), 503 when the requests
 * could not be queued, and 200 with {@code {"accepted":[refs],"ignored":[reasons]}} only after every image request is
 * acknowledged by Kafka ({@code erofs.image-requests}).
 */
public final class WebhookServer implements AutoCloseable {
    public static final String DISTRIBUTION_PATH = "/webhooks/distribution";
    public static final String HARBOR_PATH = "/webhooks/harbor";
    static final int MAX_BODY = 1 << 20;
    private static final long SEND_TIMEOUT_SECONDS = 30;
    private static final Logger LOG = LoggerFactory.getLogger(WebhookServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;
    private final byte[] secret;
    private final Producer<String, byte[]> producer;
    private final String topic;
    private final RecordValidator validator;

    /**
     * @param bind     address to listen on (port 0: any free port)
     * @param secret   the shared secret (at least 16 characters)
     * @param producer where image requests go (acks=all expected); not closed by this server
     */
    public WebhookServer(InetSocketAddress bind, String secret, Producer<String, byte[]> producer, Topics topics,
                         RecordValidator validator) throws IOException {
        if (secret == null || secret.length() < 16) {
            throw new IllegalArgumentException("the webhook secret must have at least 16 characters");
        }
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
        this.producer = Objects.requireNonNull(producer, "producer");
        this.topic = topics.imageRequests();
        this.validator = validator;
        this.server = HttpServer.create(bind, 0);
        this.executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "erofs-webhook");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext(DISTRIBUTION_PATH, ex -> handle(ex, true));
        server.createContext(HARBOR_PATH, ex -> handle(ex, false));
        server.createContext("/healthz", ex -> respond(ex, 200, "{\"status\":\"ok\"}"));
    }

    public WebhookServer start() {
        server.start();
        LOG.info("webhook endpoint listening on {}", server.getAddress());
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex, boolean distribution) throws IOException {
        try (ex) {
            if (!ex.getRequestURI().getPath().equals(distribution ? DISTRIBUTION_PATH : HARBOR_PATH)) {
                respond(ex, 404, error("no such endpoint"));
                return;
            }
            if (!"POST".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "POST");
                respond(ex, 405, error("use POST"));
                return;
            }
            if (!authorized(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"erofs-webhook\"");
                respond(ex, 401, error("missing or wrong shared secret (Authorization: Bearer <secret>)"));
                return;
            }
            byte[] body;
            try (InputStream in = ex.getRequestBody()) {
                body = in.readNBytes(MAX_BODY + 1);
            }
            if (body.length > MAX_BODY) {
                respond(ex, 413, error("payload larger than " + MAX_BODY + " bytes"));
                return;
            }
            JsonNode root;
            try {
                root = JSON.readTree(body);
            } catch (IOException e) {
                respond(ex, 400, error("payload is not JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException jp ? jp.getOriginalMessage() : e.getMessage())));
                return;
            }
            WebhookEvents.Parsed parsed;
            try {
                parsed = distribution ? WebhookEvents.fromDistribution(root) : WebhookEvents.fromHarbor(root);
            } catch (WebhookEvents.BadPayload e) {
                respond(ex, 400, error(e.getMessage()));
                return;
            }
            List<String> ignored = new ArrayList<>(parsed.ignored());
            List<String> accepted = new ArrayList<>();
            List<Future<RecordMetadata>> sends = new ArrayList<>();
            for (ImageRequest r : parsed.requests()) {
                byte[] value;
                try {
                    value = validator.write(r);
                } catch (SchemaViolationException e) {
                    ignored.add(r.reference() + ": " + e.getMessage());
                    continue;
                }
                String key = r.reference().substring(r.reference().indexOf('@') + 1);
                sends.add(producer.send(new ProducerRecord<>(topic, key, value)));
                accepted.add(r.reference());
            }
            try {
                for (Future<RecordMetadata> f : sends) {
                    f.get(SEND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                LOG.warn("webhook: queueing {} image request(s) failed: {}", accepted.size(), e.toString());
                respond(ex, 503, error("could not queue the image requests: " + e));
                return;
            }
            if (!accepted.isEmpty()) {
                LOG.info("webhook: queued {}", accepted);
            }
            ObjectNode out = JSON.createObjectNode();
            accepted.forEach(out.putArray("accepted")::add);
            ignored.forEach(out.putArray("ignored")::add);
            respond(ex, 200, JSON.writeValueAsString(out));
        } catch (RuntimeException e) {
            LOG.warn("webhook request failed", e);
            try {
                respond(ex, 500, error("internal error"));
            } catch (IOException ignored) {
                // the answer may have started already
            }
        }
    }

    private boolean authorized(String header) {
        if (header == null) {
            return false;
        }
        String h = header.strip();
        byte[] given = null;
        if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            given = h.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        } else if (h.regionMatches(true, 0, "Basic ", 0, 6)) {
            try {
                String userPass = new String(Base64.getDecoder().decode(h.substring(6).strip()), StandardCharsets.UTF_8);
                int colon = userPass.indexOf(':');
                given = (colon >= 0 ? userPass.substring(colon + 1) : userPass).getBytes(StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        return given != null && MessageDigest.isEqual(given, secret);
    }

    private static String error(String reason) {
        ObjectNode n = JSON.createObjectNode();
        n.put("error", reason);
        return n.toString();
    }

    private static void respond(HttpExchange ex, int status, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}

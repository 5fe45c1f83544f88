package dev.erofspipeline.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bearer and Basic auth against TEST DOUBLES (JDK HttpServer): a registry that challenges, a token server (the realm,
 * on another port, i.e. another host:port) that also plays blob storage for a redirect. docker-registry here runs
 * without auth, so the token flow cannot be exercised against it.
 */
class TokenAuthTest {
    private static final String USER = "alice";
    private static final String SECRET = "S3cr3t-Pa55-do-not-leak";
    private static final String TOKEN = "tok-0123456789-secret-token";
    private static final String IDENTITY_TOKEN = "idtok-refresh-secret";
    private static final byte[] MANIFEST = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{},\"layers\":[]}"
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] BLOB = TestImages.random(70_000, 21);

    private HttpServer registryDouble;
    private HttpServer tokenServerDouble;
    private HttpServer basicRegistryDouble;
    private final List<String> registrySaw = Collections.synchronizedList(new ArrayList<>());
    private final List<String> tokenSaw = Collections.synchronizedList(new ArrayList<>());
    private final List<String> tokenQueries = Collections.synchronizedList(new ArrayList<>());
    private final List<String> storageSaw = Collections.synchronizedList(new ArrayList<>());
    private final List<String> basicSaw = Collections.synchronizedList(new ArrayList<>());
    private String registryHost;
    private String tokenHost;
    private String basicHost;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws IOException {
        tokenServerDouble = server();
        tokenHost = "127.0.0.1:" + tokenServerDouble.getAddress().getPort();
        tokenServerDouble.createContext("/token", ex -> {
            if ("POST".equals(ex.getRequestMethod())) {
                String form = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                tokenSaw.add("POST " + ex.getRequestHeaders().getFirst("Authorization"));
                tokenQueries.add(form);
                boolean ok = form.contains("grant_type=refresh_token") && form.contains("refresh_token=" + IDENTITY_TOKEN);
                reply(ex, ok ? 200 : 401, "application/json", ok
                        ? ("{\"access_token\":\"" + TOKEN + "\",\"expires_in\":300}").getBytes(StandardCharsets.UTF_8)
                        : "{}".getBytes(StandardCharsets.UTF_8));
                return;
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            tokenSaw.add(String.valueOf(auth));
            tokenQueries.add(ex.getRequestURI().getRawQuery());
            if (basic(USER, SECRET).equals(auth)) {
                reply(ex, 200, "application/json", ("{\"token\":\"" + TOKEN + "\",\"expires_in\":300}").getBytes(StandardCharsets.UTF_8));
            } else {
                reply(ex, 401, "application/json", "{\"details\":\"bad credentials\"}".getBytes(StandardCharsets.UTF_8));
            }
        });
        tokenServerDouble.createContext("/storage/", ex -> {
            storageSaw.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            reply(ex, 200, "application/octet-stream", BLOB);
        });
        tokenServerDouble.start();

        registryDouble = server();
        registryHost = "127.0.0.1:" + registryDouble.getAddress().getPort();
        registryDouble.createContext("/v2/", ex -> {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            registrySaw.add(String.valueOf(auth));
            String path = ex.getRequestURI().getPath();
            if (!("Bearer " + TOKEN).equals(auth)) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + tokenHost + "/token\",service=\"double\","
                        + "scope=\"repository:app:pull\"");
                reply(ex, 401, "application/json", "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}"
                        .getBytes(StandardCharsets.UTF_8));
            } else if (path.equals("/v2/app/manifests/v1")) {
                reply(ex, 200, MediaTypeNames.OCI_MANIFEST, MANIFEST);
            } else if (path.equals("/v2/app/blobs/" + Digests.sha256(BLOB))) {
                ex.getResponseHeaders().add("Location", "http://" + tokenHost + "/storage/blob?X-Signature=abc");
                reply(ex, 307, "text/plain", new byte[0]);
            } else {
                reply(ex, 404, "application/json", "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"unknown\"}]}"
                        .getBytes(StandardCharsets.UTF_8));
            }
        });
        registryDouble.start();

        basicRegistryDouble = server();
        basicHost = "127.0.0.1:" + basicRegistryDouble.getAddress().getPort();
        basicRegistryDouble.createContext("/v2/", ex -> {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            basicSaw.add(String.valueOf(auth));
            if (!basic(USER, SECRET).equals(auth)) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"double\"");
                reply(ex, 401, "text/plain", new byte[0]);
            } else {
                reply(ex, 200, MediaTypeNames.OCI_MANIFEST, MANIFEST);
            }
        });
        basicRegistryDouble.start();
    }

    @AfterEach
    void stop() {
        registryDouble.stop(0);
        tokenServerDouble.stop(0);
        basicRegistryDouble.stop(0);
    }

    private static HttpServer server() throws IOException {
        return HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
    }

    private static String basic(String u, String p) {
        return "Basic " + Base64.getEncoder().encodeToString((u + ":" + p).getBytes(StandardCharsets.UTF_8));
    }

    private static void reply(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        try (ex) {
            ex.getResponseHeaders().add("Content-Type", type);
            if (body.length == 0 || "HEAD".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(status, -1);
            } else {
                ex.sendResponseHeaders(status, body.length);
                ex.getResponseBody().write(body);
            }
        }
    }

    private DockerConfig configFile(String password) throws Exception {
        String auth = Base64.getEncoder().encodeToString((USER + ":" + password).getBytes(StandardCharsets.UTF_8));
        Path file = tmp.resolve("config.json");
        Files.writeString(file, "{\"auths\":{\"" + registryHost + "\":{\"auth\":\"" + auth + "\"},"
                + "\"http://" + basicHost + "\":{\"username\":\"" + USER + "\",\"password\":\"" + password + "\"}}}");
        return DockerConfig.load(file);
    }

    private RegistryOptions.Builder options(String password) throws Exception {
        return TestSupport.options(registryHost, tokenHost, basicHost).dockerConfig(configFile(password));
    }

    @Test
    void bearerTokenFlowSendsCredentialsOnlyToTheRealm() throws Exception {
        RegistryClient c = new RegistryClient(registryHost, options(SECRET).build());
        Manifest m = c.getManifest("app", "v1");
        assertArrayEquals(MANIFEST, m.bytes());
        assertEquals(List.of(basic(USER, SECRET)), tokenSaw, "the realm gets the config.json credentials");
        assertEquals(List.of("service=double&scope=repository%3Aapp%3Apull"), tokenQueries);
        // cached: no second token request
        c.getManifest("app", "v1");
        assertEquals(1, c.counters().tokenFetches());
        assertEquals(1, tokenSaw.size());
        // redirect to blob storage on another host: followed, without the Authorization header
        assertArrayEquals(BLOB, c.getBlob("app", Digests.sha256(BLOB)));
        assertEquals(List.of("null"), storageSaw);
        // the registry never saw the password, only the token (or nothing, before the challenge)
        assertTrue(registrySaw.stream().allMatch(a -> a.equals("null") || a.equals("Bearer " + TOKEN)), registrySaw.toString());
        assertEquals("null", registrySaw.get(0));
    }

    @Test
    void identityTokenIsExchangedWithARefreshTokenGrant() throws Exception {
        Path file = tmp.resolve("idtoken.json");
        Files.writeString(file, "{\"auths\":{\"" + registryHost + "\":{\"identitytoken\":\"" + IDENTITY_TOKEN + "\"}}}");
        RegistryClient c = new RegistryClient(registryHost, TestSupport.options(registryHost, tokenHost)
                .dockerConfig(DockerConfig.load(file)).build());
        assertArrayEquals(MANIFEST, c.getManifest("app", "v1").bytes());
        assertEquals(List.of("POST null"), tokenSaw);
        assertTrue(tokenQueries.get(0).startsWith("service=double&scope=repository%3Aapp%3Apull&grant_type=refresh_token&"),
                tokenQueries.get(0));
        assertTrue(registrySaw.stream().noneMatch(a -> a.contains(IDENTITY_TOKEN)), registrySaw.toString());
    }

    @Test
    void wrongCredentialsFailPermanentlyWithoutLeakingSecrets() throws Exception {
        String wrong = "Wr0ng-" + SECRET;
        RegistryClient c = new RegistryClient(registryHost, options(wrong).build());
        RegistryException e = assertThrows(RegistryException.class, () -> c.getManifest("app", "v1"));
        assertEquals(401, e.status());
        assertFalse(e.isTransient());
        assertNoSecrets(e, wrong);
        assertNoSecrets(e, SECRET);
        assertFalse(c.toString().contains(wrong));
    }

    @Test
    void basicAuth() throws Exception {
        RegistryClient c = new RegistryClient(basicHost, options(SECRET).build());
        assertArrayEquals(MANIFEST, c.getManifest("app", "v1").bytes());
        assertArrayEquals(MANIFEST, c.getManifest("app", "v1").bytes());
        assertEquals(List.of("null", basic(USER, SECRET), basic(USER, SECRET)), basicSaw, "basic is sent pre-emptively once known");
        String wrong = "nope-" + SECRET;
        RegistryClient bad = new RegistryClient(basicHost, options(wrong).build());
        RegistryException e = assertThrows(RegistryException.class, () -> bad.getManifest("app", "v1"));
        assertEquals(401, e.status());
        assertNoSecrets(e, wrong);
    }

    @Test
    void allowlistAndTlsRulesApplyToTheRealmToo() throws Exception {
        RegistryClient allowlisted = new RegistryClient(registryHost, options(SECRET).allowedHost(registryHost).build());
        RegistryException notAllowed = assertThrows(RegistryException.class, () -> allowlisted.getManifest("app", "v1"));
        assertEquals("HOST_NOT_ALLOWED", notAllowed.errorCode());
        assertTrue(tokenSaw.isEmpty(), "no credentials went to a host off the allowlist");

        RegistryClient elsewhere = new RegistryClient(basicHost, options(SECRET).allowedHost(registryHost).build());
        assertThrows(RegistryException.class, () -> elsewhere.getManifest("app", "v1"));
        assertEquals(0, elsewhere.counters().requests());

        // the realm is plain http but not in the insecure list: refused before sending the credentials
        RegistryOptions tlsOnlyRealm = TestSupport.options(registryHost).dockerConfig(configFile(SECRET)).build();
        RegistryException insecureRealm = assertThrows(RegistryException.class,
                () -> new RegistryClient(registryHost, tlsOnlyRealm).getManifest("app", "v1"));
        assertTrue(insecureRealm.getMessage().contains("not https"), insecureRealm.getMessage());
        assertTrue(tokenSaw.isEmpty());
    }

    private static void assertNoSecrets(Throwable e, String password) {
        String b64 = Base64.getEncoder().encodeToString((USER + ":" + password).getBytes(StandardCharsets.UTF_8));
        for (Throwable t = e; t != null; t = t.getCause()) {
            String text = t.toString();
            assertFalse(text.contains(password), text);
            assertFalse(text.contains(b64), text);
            assertFalse(text.contains(TOKEN), text);
        }
    }
}

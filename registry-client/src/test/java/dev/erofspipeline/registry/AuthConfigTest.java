package dev.erofspipeline.registry;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docker config.json parsing, WWW-Authenticate parsing, Retry-After and backoff. */
class AuthConfigTest {
    private static final String SECRET = "p4ss-Very-Secret";

    private static DockerConfig config(String json) throws Exception {
        return DockerConfig.parse(json.getBytes(StandardCharsets.UTF_8), "test-config.json");
    }

    @Test
    void authsWithBase64OrUsernamePassword() throws Exception {
        String b64 = Base64.getEncoder().encodeToString(("alice:" + SECRET).getBytes(StandardCharsets.UTF_8));
        DockerConfig c = config("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + b64 + "\"},"
                + "\"127.0.0.1:5000\":{\"username\":\"bob\",\"password\":\"" + SECRET + "\"},"
                + "\"https://ghcr.io\":{\"auth\":\"" + b64 + "\"}}}");
        assertEquals(new Credentials("alice", SECRET), c.credentialsFor("registry-1.docker.io").orElseThrow());
        assertEquals(new Credentials("bob", SECRET), c.credentialsFor("127.0.0.1:5000").orElseThrow());
        assertEquals("alice", c.credentialsFor("ghcr.io").orElseThrow().username());
        assertEquals(Optional.empty(), c.credentialsFor("quay.io"));
        assertFalse(c.toString().contains(SECRET));
        assertFalse(c.credentialsFor("ghcr.io").orElseThrow().toString().contains(SECRET));
        assertFalse(c.credentialsFor("ghcr.io").orElseThrow().toString().contains("alice"));
        assertFalse(RegistryOptions.builder().dockerConfig(c).build().toString().contains(SECRET));
    }

    @Test
    void defaultLocationLikeDocker(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path home = tmp.resolve("home");
        assertEquals(java.util.List.of(), DockerConfig.loadDefault(java.util.Map.of(), home).hosts());
        java.nio.file.Files.createDirectories(home.resolve(".docker"));
        java.nio.file.Files.writeString(home.resolve(".docker/config.json"), "{\"auths\":{\"a.io\":{\"username\":\"u\",\"password\":\"p\"}}}");
        assertEquals(java.util.List.of("a.io"), DockerConfig.loadDefault(java.util.Map.of(), home).hosts());
        java.nio.file.Files.createDirectories(tmp.resolve("dc"));
        java.nio.file.Files.writeString(tmp.resolve("dc/config.json"), "{\"auths\":{\"b.io\":{\"username\":\"u\",\"password\":\"p\"}}}");
        assertEquals(java.util.List.of("b.io"), DockerConfig.loadDefault(java.util.Map.of("DOCKER_CONFIG", tmp.resolve("dc").toString()), home)
                .hosts());
    }

    @Test
    void identityTokens() throws Exception {
        DockerConfig c = config("{\"auths\":{\"acr.example\":{\"auth\":\"\",\"identitytoken\":\"" + SECRET + "\"}}}");
        Credentials id = c.credentialsFor("acr.example").orElseThrow();
        assertTrue(id.isIdentityToken());
        assertEquals(SECRET, id.password());
        assertFalse(id.toString().contains(SECRET));
    }

    @Test
    void credentialHelpersAreOutOfScopeAndSaySo() throws Exception {
        DockerConfig c = config("{\"auths\":{\"my.registry\":{}},\"credsStore\":\"desktop\",\"credHelpers\":{\"gcr.io\":\"gcloud\"}}");
        RegistryException helper = assertThrows(RegistryException.class, () -> c.credentialsFor("gcr.io"));
        assertTrue(helper.getMessage().contains("credHelpers") && helper.getMessage().contains("not supported"), helper.getMessage());
        RegistryException store = assertThrows(RegistryException.class, () -> c.credentialsFor("my.registry"));
        assertTrue(store.getMessage().contains("credsStore") && store.getMessage().contains("not supported"), store.getMessage());
        assertEquals(Optional.empty(), c.credentialsFor("other.io"));
    }

    @Test
    void brokenConfigErrorsDoNotQuoteTheFile() {
        Exception e = assertThrows(Exception.class, () -> config("{\"auths\":{\"x\":{\"auth\":\"" + SECRET + "\"}}"));
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
        Exception notB64 = assertThrows(Exception.class, () -> config("{\"auths\":{\"x\":{\"auth\":\"%%" + SECRET + "\"}}}"));
        assertFalse(notB64.getMessage().contains(SECRET), notB64.getMessage());
    }

    @Test
    void challenges() {
        AuthChallenge c = AuthChallenge.parse(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"");
        assertTrue(c.isBearer());
        assertEquals("https://auth.example/token", c.realm());
        assertEquals("registry.example", c.service());
        assertEquals("repository:a/b:pull,push", c.scope());
        AuthChallenge b = AuthChallenge.parse("Basic realm=\"Registry Realm\"");
        assertTrue(b.isBasic());
        assertEquals("Registry Realm", b.realm());
    }

    @Test
    void retryAfterSecondsOrHttpDate() {
        Duration max = Duration.ofSeconds(30);
        Instant now = Instant.parse("2026-11-27T00:00:00Z");
        assertEquals(Optional.of(Duration.ofSeconds(3)), Backoff.retryAfter("3", max, now));
        assertEquals(Optional.of(max), Backoff.retryAfter("3600", max, now));
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(now.plusSeconds(5).atOffset(ZoneOffset.UTC));
        assertEquals(Optional.of(Duration.ofSeconds(5)), Backoff.retryAfter(date, max, now));
        assertEquals(Optional.of(Duration.ZERO), Backoff.retryAfter(
                DateTimeFormatter.RFC_1123_DATE_TIME.format(now.minusSeconds(5).atOffset(ZoneOffset.UTC)), max, now));
        assertEquals(Optional.empty(), Backoff.retryAfter("soon", max, now));
        assertEquals(Optional.empty(), Backoff.retryAfter(null, max, now));
    }

    @Test
    void backoffGrowsWithJitterAndIsCapped() {
        RegistryOptions o = RegistryOptions.builder().initialBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofMillis(1000)).build();
        for (int i = 0; i < 50; i++) {
            long d0 = Backoff.delay(o, 0).toMillis();
            long d3 = Backoff.delay(o, 3).toMillis();
            long d9 = Backoff.delay(o, 9).toMillis();
            assertTrue(d0 >= 50 && d0 <= 100, "attempt 0: " + d0);
            assertTrue(d3 >= 400 && d3 <= 800, "attempt 3: " + d3);
            assertTrue(d9 >= 500 && d9 <= 1000, "attempt 9: " + d9);
        }
    }
}

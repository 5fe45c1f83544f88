package dev.erofspipeline.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Credentials from a docker {@code config.json}: {@code auths} entries with {@code auth} (base64 of
 * {@code user:password}) or {@code username}/{@code password} (or {@code identitytoken}). Credential helpers
 * ({@code credHelpers}, {@code credsStore}) are not supported: a host that only a helper knows fails with an error
 * that says so. Nothing here ever prints a secret.
 */
public final class DockerConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Credentials> auths;
    private final Set<String> helperHosts;
    private final Set<String> storeHosts;
    private final String source;

    private DockerConfig(Map<String, Credentials> auths, Set<String> helperHosts, Set<String> storeHosts, String source) {
        this.auths = auths;
        this.helperHosts = helperHosts;
        this.storeHosts = storeHosts;
        this.source = source;
    }

    /** No credentials: every registry is accessed anonymously. */
    public static DockerConfig anonymous() {
        return new DockerConfig(Map.of(), Set.of(), Set.of(), "anonymous");
    }

    /**
     * The config docker itself would use: {@code $DOCKER_CONFIG/config.json}, else {@code ~/.docker/config.json};
     * anonymous when neither exists. (A containers {@code auth.json} has the same {@code auths} format: pass it to
     * {@link #load(Path)}.)
     */
    public static DockerConfig loadDefault() throws IOException {
        return loadDefault(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    static DockerConfig loadDefault(Map<String, String> env, Path home) throws IOException {
        String dir = env.get("DOCKER_CONFIG");
        Path file = dir != null && !dir.isBlank() ? Path.of(dir, "config.json") : home.resolve(".docker").resolve("config.json");
        return Files.isRegularFile(file) ? load(file) : anonymous();
    }

    public static DockerConfig load(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        return parse(bytes, file.toString());
    }

    static DockerConfig parse(byte[] json, String source) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            // the parser message may quote the file's content: keep it out
            throw new IOException("docker config " + source + " is not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new IOException("docker config " + source + " is not a JSON object");
        }
        Map<String, Credentials> auths = new LinkedHashMap<>();
        Set<String> storeHosts = new TreeSet<>();
        JsonNode a = root.path("auths");
        for (Map.Entry<String, JsonNode> e : a.properties()) {
            JsonNode entry = e.getValue();
            Credentials c = null;
            if (entry.hasNonNull("identitytoken") && !entry.get("identitytoken").asText().isEmpty()) {
                c = Credentials.identityToken(entry.get("identitytoken").asText());
            } else if (entry.hasNonNull("auth") && !entry.get("auth").asText().isEmpty()) {
                String decoded;
                try {
                    decoded = new String(Base64.getDecoder().decode(entry.get("auth").asText().trim()), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException ex) {
                    throw new IOException("docker config " + source + ": 'auth' of " + e.getKey() + " is not base64");
                }
                int colon = decoded.indexOf(':');
                if (colon < 0) {
                    throw new IOException("docker config " + source + ": 'auth' of " + e.getKey() + " is not user:password");
                }
                c = new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1));
            } else if (entry.hasNonNull("username") && entry.hasNonNull("password")) {
                c = new Credentials(entry.get("username").asText(), entry.get("password").asText());
            }
            if (c != null) {
                auths.put(normalize(e.getKey()), c);
            } else {
                storeHosts.add(normalize(e.getKey())); // empty entry: the secret lives in the credsStore
            }
        }
        Set<String> helpers = new TreeSet<>();
        for (Map.Entry<String, JsonNode> e : root.path("credHelpers").properties()) {
            helpers.add(normalize(e.getKey()));
        }
        boolean store = root.hasNonNull("credsStore") && !root.get("credsStore").asText().isEmpty();
        return new DockerConfig(auths, helpers, store ? storeHosts : Set.of(), source);
    }

    /** {@code https://host:port/v1/} and the like become {@code host:port}; Docker Hub aliases become the API host. */
    static String normalize(String key) {
        String k = key.trim();
        int scheme = k.indexOf("://");
        if (scheme >= 0) {
            k = k.substring(scheme + 3);
        }
        int slash = k.indexOf('/');
        if (slash >= 0) {
            k = k.substring(0, slash);
        }
        k = k.toLowerCase(java.util.Locale.ROOT);
        if (k.equals("docker.io") || k.equals("index.docker.io") || k.equals("registry-1.docker.io")) {
            return ImageReference.DOCKER_HUB_HOST;
        }
        return k;
    }

    /**
     * Credentials for {@code host[:port]}, or empty (anonymous).
     *
     * @throws IOException when only a credential helper or credential store could answer (not supported)
     */
    public Optional<Credentials> credentialsFor(String host) throws IOException {
        String key = normalize(host);
        Credentials c = auths.get(key);
        if (c != null) {
            return Optional.of(c);
        }
        if (helperHosts.contains(key)) {
            throw new RegistryException("docker config " + source + " names a credential helper (credHelpers) for " + key
                    + ": credential helpers are not supported; put an 'auths' entry for it instead", 0, "UNSUPPORTED", false, null);
        }
        if (storeHosts.contains(key)) {
            throw new RegistryException("docker config " + source + " keeps the credentials of " + key
                    + " in a credential store (credsStore): not supported; put them in 'auths' instead", 0, "UNSUPPORTED", false, null);
        }
        return Optional.empty();
    }

    /** Hosts with credentials (no secrets). */
    public List<String> hosts() {
        return new ArrayList<>(auths.keySet());
    }

    @Override
    public String toString() {
        return "DockerConfig[" + source + ", hosts=" + auths.keySet() + "]";
    }
}

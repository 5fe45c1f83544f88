package dev.erofspipeline.registry;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Settings of a {@link RegistryClient}. Immutable; build with {@link #builder()}.
 *
 * <ul>
 *   <li>{@code insecureHosts}: {@code host:port} entries reached over plain HTTP; every other host uses TLS.</li>
 *   <li>{@code allowedHosts}: when not empty, every request (registry, token realm, redirect target) must go to one of
 *       these hosts ({@code host}, {@code host:port}, {@code *.domain} for the hosts below a domain, {@code *} for any
 *       host); add the blob storage host if the registry redirects there. OCI image layouts ({@code oci:DIR}) are
 *       allowed only when the list is empty or holds {@value #LAYOUTS}.</li>
 *   <li>{@code maxRetries}: extra attempts for transient failures, exponential backoff from {@code initialBackoff}
 *       up to {@code maxBackoff} with full jitter; a {@code Retry-After} is honoured up to {@code maxRetryAfter}.</li>
 *   <li>{@code maxResumeAttempts}: how many times a broken blob download is resumed with a {@code Range} request.</li>
 *   <li>{@code chunkSize}: PATCH size for chunked uploads; {@code monolithicLimit}: largest blob uploaded with a single PUT.</li>
 *   <li>{@code maxReferrerAttempts}: read-modify-write rounds of the referrers tag index before giving up.</li>
 *   <li>{@code maxDocumentBytes}: largest JSON document read from a registry (manifest, index, image config, tag
 *       or catalog page, referrers index, token response); a larger one fails with code {@code TOO_LARGE}.</li>
 * </ul>
 */
public final class RegistryOptions {
    /** The allowlist entry that allows every host. */
    public static final String ANY_HOST = "*";
    /** The allowlist entry that allows OCI image layouts ({@code oci:DIR}) on the local file system. */
    public static final String LAYOUTS = "oci:";

    private final DockerConfig dockerConfig;
    private final Set<String> insecureHosts;
    private final Set<String> allowedHosts;
    private final int maxRetries;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration maxRetryAfter;
    private final Duration connectTimeout;
    private final Duration requestTimeout;
    private final int maxResumeAttempts;
    private final int chunkSize;
    private final long monolithicLimit;
    private final int maxReferrerAttempts;
    private final int maxDocumentBytes;
    private final String userAgent;

    private RegistryOptions(Builder b) {
        this.dockerConfig = b.dockerConfig;
        this.insecureHosts = Set.copyOf(b.insecureHosts);
        this.allowedHosts = Set.copyOf(b.allowedHosts);
        this.maxRetries = b.maxRetries;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.maxRetryAfter = b.maxRetryAfter;
        this.connectTimeout = b.connectTimeout;
        this.requestTimeout = b.requestTimeout;
        this.maxResumeAttempts = b.maxResumeAttempts;
        this.chunkSize = b.chunkSize;
        this.monolithicLimit = b.monolithicLimit;
        this.maxReferrerAttempts = b.maxReferrerAttempts;
        this.maxDocumentBytes = b.maxDocumentBytes;
        this.userAgent = b.userAgent;
    }

    public static RegistryOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.dockerConfig = dockerConfig;
        b.insecureHosts.addAll(insecureHosts);
        b.allowedHosts.addAll(allowedHosts);
        b.maxRetries = maxRetries;
        b.initialBackoff = initialBackoff;
        b.maxBackoff = maxBackoff;
        b.maxRetryAfter = maxRetryAfter;
        b.connectTimeout = connectTimeout;
        b.requestTimeout = requestTimeout;
        b.maxResumeAttempts = maxResumeAttempts;
        b.chunkSize = chunkSize;
        b.monolithicLimit = monolithicLimit;
        b.maxReferrerAttempts = maxReferrerAttempts;
        b.maxDocumentBytes = maxDocumentBytes;
        b.userAgent = userAgent;
        return b;
    }

    public DockerConfig dockerConfig() {
        return dockerConfig;
    }

    public Set<String> insecureHosts() {
        return insecureHosts;
    }

    public Set<String> allowedHosts() {
        return allowedHosts;
    }

    public boolean isInsecure(String hostPort) {
        return insecureHosts.contains(hostPort.toLowerCase(Locale.ROOT));
    }

    /** True when no allowlist is configured or {@code host} / {@code host:port} is on it (or below a {@code *.domain}). */
    public boolean isAllowed(String host, int port) {
        if (allowedHosts.isEmpty() || allowedHosts.contains(ANY_HOST)) {
            return true;
        }
        String h = host.toLowerCase(Locale.ROOT);
        if (allowedHosts.contains(h) || (port > 0 && allowedHosts.contains(h + ":" + port))) {
            return true;
        }
        for (String a : allowedHosts) {
            if (a.startsWith("*.") && h.endsWith(a.substring(1))) {
                return true;
            }
        }
        return false;
    }

    /** Whether a record's or reference's registry ({@code host[:port]}, or {@code oci:DIR}) may be used. */
    public boolean isAllowedRegistry(String registry) {
        if (registry.startsWith(LAYOUTS)) {
            return allowedHosts.isEmpty() || allowedHosts.contains(LAYOUTS);
        }
        String r = registry.toLowerCase(Locale.ROOT);
        int colon = r.lastIndexOf(':');
        if (colon > 0 && r.indexOf(']', colon) < 0 && r.substring(colon + 1).matches("[0-9]{1,5}")) {
            return isAllowed(r.substring(0, colon), Integer.parseInt(r.substring(colon + 1)));
        }
        return isAllowed(r, isInsecure(r) ? 80 : 443);
    }

    public int maxRetries() {
        return maxRetries;
    }

    public Duration initialBackoff() {
        return initialBackoff;
    }

    public Duration maxBackoff() {
        return maxBackoff;
    }

    public Duration maxRetryAfter() {
        return maxRetryAfter;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** The longest wait for an answer's headers; for a blob download also the longest wait for each read of its body. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    public int maxResumeAttempts() {
        return maxResumeAttempts;
    }

    public int chunkSize() {
        return chunkSize;
    }

    public long monolithicLimit() {
        return monolithicLimit;
    }

    public int maxReferrerAttempts() {
        return maxReferrerAttempts;
    }

    public int maxDocumentBytes() {
        return maxDocumentBytes;
    }

    public String userAgent() {
        return userAgent;
    }

    @Override
    public String toString() {
        return "RegistryOptions[" + dockerConfig + ", insecure=" + insecureHosts + ", allowed=" + allowedHosts
                + ", maxRetries=" + maxRetries + "]";
    }

    public static final class Builder {
        private DockerConfig dockerConfig = DockerConfig.anonymous();
        private final Set<String> insecureHosts = new LinkedHashSet<>();
        private final Set<String> allowedHosts = new LinkedHashSet<>();
        private int maxRetries = 4;
        private Duration initialBackoff = Duration.ofMillis(200);
        private Duration maxBackoff = Duration.ofSeconds(10);
        private Duration maxRetryAfter = Duration.ofSeconds(60);
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofMinutes(5);
        private int maxResumeAttempts = 3;
        private int chunkSize = 8 << 20;
        private long monolithicLimit = 64L << 20;
        private int maxReferrerAttempts = 5;
        private int maxDocumentBytes = 4 << 20; // what OCI distribution asks registries to accept for manifests
        private String userAgent = "erofs-pipeline-registry-client";

        public Builder dockerConfig(DockerConfig c) {
            this.dockerConfig = Objects.requireNonNull(c);
            return this;
        }

        /** Adds a {@code host:port} reached over plain HTTP (loopback test registries). */
        public Builder insecureHost(String hostPort) {
            insecureHosts.add(hostPort.toLowerCase(Locale.ROOT));
            return this;
        }

        public Builder insecureHosts(Collection<String> hostPorts) {
            hostPorts.forEach(this::insecureHost);
            return this;
        }

        /** Adds a host ({@code host} or {@code host:port}) to the allowlist; an empty allowlist allows every host. */
        public Builder allowedHost(String host) {
            allowedHosts.add(host.toLowerCase(Locale.ROOT));
            return this;
        }

        public Builder allowedHosts(Collection<String> hosts) {
            hosts.forEach(this::allowedHost);
            return this;
        }

        public Builder maxRetries(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("maxRetries < 0");
            }
            this.maxRetries = n;
            return this;
        }

        public Builder initialBackoff(Duration d) {
            this.initialBackoff = d;
            return this;
        }

        public Builder maxBackoff(Duration d) {
            this.maxBackoff = d;
            return this;
        }

        public Builder maxRetryAfter(Duration d) {
            this.maxRetryAfter = d;
            return this;
        }

        public Builder connectTimeout(Duration d) {
            this.connectTimeout = d;
            return this;
        }

        public Builder requestTimeout(Duration d) {
            this.requestTimeout = d;
            return this;
        }

        public Builder maxResumeAttempts(int n) {
            this.maxResumeAttempts = n;
            return this;
        }

        public Builder chunkSize(int bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("chunkSize < 1");
            }
            this.chunkSize = bytes;
            return this;
        }

        public Builder monolithicLimit(long bytes) {
            this.monolithicLimit = bytes;
            return this;
        }

        public Builder maxReferrerAttempts(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxReferrerAttempts < 1");
            }
            this.maxReferrerAttempts = n;
            return this;
        }

        public Builder maxDocumentBytes(int bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxDocumentBytes < 1");
            }
            this.maxDocumentBytes = bytes;
            return this;
        }

        public Builder userAgent(String ua) {
            this.userAgent = ua;
            return this;
        }

        public RegistryOptions build() {
            return new RegistryOptions(this);
        }
    }
}

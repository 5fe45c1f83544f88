package dev.erofspipeline.ingest;

import dev.erofspipeline.registry.ImageReference;
import dev.erofspipeline.registry.OciLayout;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.registry.RegistryTarget;

import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where the resolver reads from: one {@link RegistryClient} per registry host, kept (its token cache and HTTP client
 * are reused by every request), and an {@link OciLayout} for {@code oci:DIR}.
 */
public class RegistryTargets implements AutoCloseable {
    private final RegistryOptions options;
    private final double ratePerSecond;
    private final ConcurrentHashMap<String, RegistryClient> clients = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RateLimiter> limits = new ConcurrentHashMap<>();

    public RegistryTargets(RegistryOptions options) {
        this(options, 0);
    }

    /** With at most {@code ratePerSecond} requests a second to each registry host (0: unlimited). */
    public RegistryTargets(RegistryOptions options, double ratePerSecond) {
        this.options = options;
        this.ratePerSecond = ratePerSecond;
    }

    /** Waits for the next request permit of the reference's registry host (layouts: none needed). */
    public void permit(ImageReference ref) throws InterruptedException {
        if (ratePerSecond > 0 && !ref.isLayout()) {
            limits.computeIfAbsent(ref.registry().toLowerCase(Locale.ROOT), h -> new RateLimiter(ratePerSecond)).acquire();
        }
    }

    public RegistryOptions options() {
        return options;
    }

    /** The target of a reference; the caller must not close a registry client (it is shared). */
    public RegistryTarget open(ImageReference ref) {
        if (ref.isLayout()) {
            return new OciLayout(ref.layoutDir());
        }
        return clients.computeIfAbsent(ref.registry().toLowerCase(Locale.ROOT), h -> new RegistryClient(h, options));
    }

    @Override
    public void close() {
        clients.values().forEach(RegistryClient::close);
        clients.clear();
    }
}

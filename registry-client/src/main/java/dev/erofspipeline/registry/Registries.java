package dev.erofspipeline.registry;

import java.nio.file.Path;

/** Opens the {@link RegistryTarget} an {@link ImageReference} points at. */
public final class Registries {
    private Registries() {
    }

    /**
     * A {@link RegistryClient} for the reference's registry host, or an {@link OciLayout} for {@code oci:DIR}.
     *
     * @throws IllegalArgumentException for a layout the allowlist does not allow (hosts are checked per request)
     */
    public static RegistryTarget open(ImageReference ref, RegistryOptions options) {
        if (ref.isLayout()) {
            requireLayoutsAllowed(options, "oci:" + ref.layoutDir());
            return new OciLayout(ref.layoutDir());
        }
        return new RegistryClient(ref.registry(), options);
    }

    /**
     * The target a record's {@code registry} field names: {@code host[:port]}, or {@code oci:DIR} for an OCI image
     * layout.
     */
    public static RegistryTarget open(String registry, RegistryOptions options) {
        if (registry.startsWith(RegistryOptions.LAYOUTS)) {
            requireLayoutsAllowed(options, registry);
            return new OciLayout(Path.of(registry.substring(RegistryOptions.LAYOUTS.length())));
        }
        return new RegistryClient(registry, options);
    }

    private static void requireLayoutsAllowed(RegistryOptions options, String what) {
        if (!options.isAllowedRegistry(RegistryOptions.LAYOUTS)) {
            throw new IllegalArgumentException(what + ": OCI layouts are not in the registry allowlist (add "
                + RegistryOptions.LAYOUTS + " to allow them)");
        }
    }
}

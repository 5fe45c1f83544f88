package dev.erofspipeline.registry;

import java.nio.file.Path;

/** Opens the {@link RegistryTarget} an {@link ImageReference} points at. */
public final class Registries {
    private Registries() {
    }

    /** A {@link RegistryClient} for the reference's registry host, or an {@link OciLayout} for {@code oci:DIR}. */
    public static RegistryTarget open(ImageReference ref, RegistryOptions options) {
        return ref.isLayout() ? new OciLayout(ref.layoutDir()) : new RegistryClient(ref.registry(), options);
    }

    /**
     * The target a record's {@code registry} field names: {@code host[:port]}, or {@code oci:DIR} for an OCI image
     * layout.
     */
    public static RegistryTarget open(String registry, RegistryOptions options) {
        return registry.startsWith("oci:")
            ? new OciLayout(Path.of(registry.substring("oci:".length())))
            : new RegistryClient(registry, options);
    }
}

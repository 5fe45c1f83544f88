package dev.erofspipeline.registry;

/** Opens the {@link RegistryTarget} an {@link ImageReference} points at. */
public final class Registries {
    private Registries() {
    }

    /** A {@link RegistryClient} for the reference's registry host, or an {@link OciLayout} for {@code oci:DIR}. */
    public static RegistryTarget open(ImageReference ref, RegistryOptions options) {
        return ref.isLayout() ? new OciLayout(ref.layoutDir()) : new RegistryClient(ref.registry(), options);
    }
}

package dev.erofspipeline.ingest;

import dev.erofspipeline.schemas.ConversionProfile;

/** Whether a layer already has a conversion result under a profile (its {@code result.json} exists). */
@FunctionalInterface
public interface ConvertedLayers {
    /**
     * True when the layer has a result under this profile.
     *
     * @throws RuntimeException when the store cannot be asked (the request is then retried, not dead-lettered)
     */
    boolean isConverted(String layerDigest, ConversionProfile profile);

    /** A store where nothing is converted (every layer is queued). */
    static ConvertedLayers none() {
        return (d, p) -> false;
    }
}

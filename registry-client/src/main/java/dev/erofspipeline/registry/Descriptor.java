package dev.erofspipeline.registry;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * An OCI content descriptor (the fields this client reads and writes).
 *
 * @param mediaType    media type of the referenced content
 * @param digest       its digest
 * @param size         its size in bytes
 * @param artifactType artifact type (referrers), may be null
 * @param annotations  annotations, never null (sorted for deterministic output)
 */
public record Descriptor(String mediaType, String digest, long size, String artifactType, Map<String, String> annotations) {
    public Descriptor {
        Objects.requireNonNull(mediaType, "mediaType");
        Digests.requireValid(digest);
        if (size < 0) {
            throw new IllegalArgumentException("negative size");
        }
        annotations = annotations == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(annotations));
    }

    public Descriptor(String mediaType, String digest, long size) {
        this(mediaType, digest, size, null, Map.of());
    }

    /** The descriptor of manifest bytes already fetched or about to be pushed. */
    public static Descriptor of(Manifest manifest, String artifactType, Map<String, String> annotations) {
        return new Descriptor(manifest.mediaType(), manifest.digest(), manifest.bytes().length, artifactType, annotations);
    }
}

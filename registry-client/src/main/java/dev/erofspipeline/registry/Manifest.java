package dev.erofspipeline.registry;

import java.util.Objects;

/**
 * Manifest bytes exactly as stored, with their media type and digest.
 *
 * @param bytes     the raw bytes (never re-serialized, so the digest stays valid)
 * @param mediaType media type (Content-Type, or the document's own {@code mediaType})
 * @param digest    digest of {@code bytes}
 */
public record Manifest(byte[] bytes, String mediaType, String digest) {
    public Manifest {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(mediaType, "mediaType");
        Digests.requireValid(digest);
    }

    /** Manifest bytes with a media type; the digest is the sha256 of the bytes. */
    public static Manifest of(byte[] bytes, String mediaType) {
        return new Manifest(bytes, mediaType, Digests.sha256(bytes));
    }

    public Descriptor descriptor() {
        return new Descriptor(mediaType, digest, bytes.length);
    }

    @Override
    public String toString() {
        return "Manifest[" + mediaType + ", " + digest + ", " + bytes.length + " bytes]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Manifest m && m.digest.equals(digest) && m.mediaType.equals(mediaType)
                && java.util.Arrays.equals(m.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return digest.hashCode();
    }
}

package dev.erofspipeline.registry;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * What every stage needs from where images live: a remote registry ({@link RegistryClient}, bound to one registry
 * host) or an OCI image layout directory ({@link OciLayout}, one repository: its {@code repository} arguments are
 * ignored). {@code reference} is a tag or a digest. Every failure is a {@link RegistryException} (an
 * {@link IOException}); "not found" is a 404 one where the method does not return an {@link Optional}.
 */
public interface RegistryTarget extends AutoCloseable {

    /** Media type, digest and size of a manifest, or empty when it does not exist. */
    Optional<Descriptor> headManifest(String repository, String reference) throws IOException;

    /** The manifest bytes; fetching by digest verifies the digest of what was received. */
    Manifest getManifest(String repository, String reference) throws IOException;

    /**
     * Stores a manifest under {@code reference} (a tag, or its own digest) with its media type as Content-Type;
     * returns its digest.
     */
    String putManifest(String repository, String reference, Manifest manifest) throws IOException;

    /** Deletes a manifest by digest. */
    void deleteManifest(String repository, String digest) throws IOException;

    /** Size of a blob, or empty when it does not exist. */
    Optional<Long> blobSize(String repository, String digest) throws IOException;

    default boolean blobExists(String repository, String digest) throws IOException {
        return blobSize(repository, digest).isPresent();
    }

    /**
     * A stream over a blob. The digest (and size when known) is checked when the stream reaches its end: a mismatch
     * throws a {@link RegistryException} with code {@code DIGEST_INVALID} from {@code read}.
     */
    InputStream openBlob(String repository, String digest) throws IOException;

    /**
     * Like {@link #openBlob} but without the digest check, for a reader that hashes every byte itself (the converter
     * checks each layer's digest in its single pass): a second sha256 of the blob costs about 0.6 ms of CPU per MB.
     * {@code expectedSize} (-1: unknown) is the size its descriptor gives: a blob of another size fails with a
     * {@link RegistryException} with code {@code SIZE_INVALID}, so a manifest that lies about it is refused.
     */
    InputStream openBlobUnverified(String repository, String digest, long expectedSize) throws IOException;

    default byte[] getBlob(String repository, String digest) throws IOException {
        try (InputStream in = openBlob(repository, digest)) {
            return in.readAllBytes();
        }
    }

    /** A small blob (an image config), refused with code {@code TOO_LARGE} when longer than {@code maxBytes}. */
    default byte[] getBlob(String repository, String digest, long maxBytes) throws IOException {
        try (InputStream in = openBlob(repository, digest)) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (bytes.length > maxBytes) {
                throw new RegistryException("blob " + digest + " is larger than " + maxBytes + " bytes", 200, "TOO_LARGE",
                        false, null);
            }
            return bytes;
        }
    }

    /** Uploads a blob unless it already exists (checked first); returns its digest. */
    String pushBlob(String repository, BlobSource blob) throws IOException;

    /**
     * Makes a blob of {@code fromRepository} available in {@code repository} without transferring it (cross-repository
     * mount). Returns true when mounted; false when the registry declined (then upload it with {@link #pushBlob}).
     */
    boolean mountBlob(String repository, String digest, String fromRepository) throws IOException;

    /** Deletes a blob. */
    void deleteBlob(String repository, String digest) throws IOException;

    /** All tags of a repository (paginated internally). */
    List<String> listTags(String repository) throws IOException;

    /**
     * Referrers of {@code subjectDigest}, optionally only those of {@code artifactType} (null: all): from the
     * referrers API when the registry has it, else from the referrers tag schema ({@code sha256-<hex>} index).
     */
    List<Descriptor> referrers(String repository, String subjectDigest, String artifactType) throws IOException;

    /**
     * Records that the manifest {@code referrer} (already stored) refers to {@code subjectDigest}, so that
     * {@link #referrers} lists it. A no-op where the store indexes subjects itself (referrers API). Idempotent:
     * adding the same digest twice keeps one entry.
     */
    void addReferrer(String repository, String subjectDigest, Descriptor referrer) throws IOException;

    /**
     * Undoes {@link #addReferrer}: {@link #referrers} no longer lists {@code referrerDigest} for {@code subjectDigest}.
     * A no-op where the store indexes subjects itself (deleting the referrer manifest is enough there) and when the
     * entry is absent. Use it after deleting a replaced referrer manifest.
     */
    void removeReferrer(String repository, String subjectDigest, String referrerDigest) throws IOException;

    /**
     * Stores a referrer manifest (whose {@code subject} is {@code subjectDigest}) by digest and records it with
     * {@link #addReferrer}; returns its descriptor.
     */
    default Descriptor pushReferrer(String repository, String subjectDigest, Manifest referrer, String artifactType,
                                    java.util.Map<String, String> annotations) throws IOException {
        putManifest(repository, referrer.digest(), referrer);
        Descriptor d = Descriptor.of(referrer, artifactType, annotations);
        addReferrer(repository, subjectDigest, d);
        return d;
    }

    /** Counters of this target (requests, retries, ...). */
    RegistryCounters counters();

    @Override
    default void close() {
    }
}

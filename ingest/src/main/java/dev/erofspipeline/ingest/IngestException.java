package dev.erofspipeline.ingest;

/**
 * Ingest gave up on a request or on one image of it, for a reason a person can read. {@link #reasonCode()} is the
 * machine-readable part that goes into the dead letter (and, for one image, its failed status).
 */
public class IngestException extends Exception {
    /** The reference cannot be parsed. */
    public static final String INVALID_REFERENCE = "invalid-reference";
    /** The registry host name does not resolve. */
    public static final String UNKNOWN_HOST = "unknown-host";
    /** No connection to the registry (refused, timed out) after the client's retries. */
    public static final String REGISTRY_UNREACHABLE = "registry-unreachable";
    /** The registry refused our credentials (401/403). */
    public static final String ACCESS_DENIED = "access-denied";
    /** The tag or digest does not exist in the repository (or the repository does not exist). */
    public static final String MANIFEST_UNKNOWN = "manifest-unknown";
    /** The reference names something that is not a manifest or index (a blob, an unknown media type, not JSON). */
    public static final String NOT_A_MANIFEST = "not-a-manifest";
    /** A manifest that is not a container image (an artifact: its config is not an image config). */
    public static final String NOT_AN_IMAGE = "not-an-image";
    /** The index holds no image manifest for the requested platforms (or none at all). */
    public static final String NO_MATCHING_PLATFORM = "no-matching-platform";
    /** The image config is missing, not JSON, or has no {@code rootfs.diff_ids}. */
    public static final String INVALID_CONFIG = "invalid-config";
    /** The manifest has a different number of layers than its config has diffIDs. */
    public static final String DIFFID_COUNT_MISMATCH = "diffid-count-mismatch";
    /** A layer whose media type (or digest algorithm) the pipeline cannot convert. */
    public static final String UNSUPPORTED_LAYER = "unsupported-layer";
    /** The manifest is malformed (missing fields, too many layers). */
    public static final String INVALID_MANIFEST = "invalid-manifest";
    /** Any other registry failure. */
    public static final String REGISTRY_ERROR = "registry-error";
    /** The reference's registry (or {@code oci:} layouts) is not in {@code registry.allowlist}. */
    public static final String REGISTRY_NOT_ALLOWED = "registry-not-allowed";
    /** A manifest or tag list larger than the registry client reads (registry-client's maxDocumentBytes). */
    public static final String TOO_LARGE = "too-large";

    private final String reasonCode;

    public IngestException(String reasonCode, String message) {
        this(reasonCode, message, null);
    }

    public IngestException(String reasonCode, String message, Throwable cause) {
        super(message, cause);
        this.reasonCode = reasonCode;
    }

    public String reasonCode() {
        return reasonCode;
    }
}

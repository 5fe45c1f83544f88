package dev.erofspipeline.registry;

import java.io.IOException;

/**
 * A failed registry (or layout) operation: HTTP status (0 when no response was received), the registry error code
 * from the OCI error body ({@code MANIFEST_UNKNOWN}, {@code BLOB_UNKNOWN}, ...; null when absent) and a readable
 * message. {@link #isTransient()} tells whether retrying may help. Messages never contain credentials or tokens.
 */
public class RegistryException extends IOException {
    private final int status;
    private final String errorCode;
    private final boolean transientFailure;

    public RegistryException(String message, int status, String errorCode, boolean transientFailure, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.errorCode = errorCode;
        this.transientFailure = transientFailure;
    }

    public RegistryException(String message, int status, String errorCode) {
        this(message, status, errorCode, isTransientStatus(status), null);
    }

    /** 5xx (but 501) and 429 are transient; so are connection failures (status 0), decided by the caller. */
    public static boolean isTransientStatus(int status) {
        return status == 429 || (status >= 500 && status != 501 && status != 505);
    }

    /** HTTP status, or 0 when the failure happened before/without a response. */
    public int status() {
        return status;
    }

    /** Registry error code from the OCI error JSON, or a client-side code such as {@code DIGEST_INVALID}; may be null. */
    public String errorCode() {
        return errorCode;
    }

    /** True when the same request may succeed later (5xx, 429, connection reset or timeout). */
    public boolean isTransient() {
        return transientFailure;
    }

    /** Same as {@link #isTransient()}. */
    public boolean transientError() {
        return transientFailure;
    }

    public boolean isNotFound() {
        return status == 404;
    }
}

package dev.erofspipeline.publish;

import java.util.List;
import java.util.Objects;

/**
 * Publishing an image failed. {@link #reasonCode()} is ready for a dead letter; {@link
 * #missingLayers()} names the layers whose artifacts are not (completely) in the registry, so a status
 * can say which ones are missing; {@link #isTransient()} says whether trying again later may help.
 */
public class PublishException extends Exception {

  private static final long serialVersionUID = 1L;

  /** Why. */
  public enum Reason {
    /** A layer of the image has no result, or a result for another layer or profile. */
    RESULTS_INCOMPLETE("results-incomplete", false),
    /** A signature failed {@link dev.erofspipeline.publish.signing.SignatureVerifier} (refused before publishing). */
    SIGNATURE_REJECTED("signature-rejected", false),
    /** The signer failed. */
    SIGNING_FAILED("signing-failed", true),
    /** The image to publish a native twin of cannot be used (its config is unreadable or names other layers). */
    SOURCE_IMAGE_INVALID("source-image-invalid", false),
    /** A staged artifact could not be read (S3) or does not match its result. */
    ARTIFACT_UNAVAILABLE("artifact-unavailable", true),
    /** The registry refused a write for good (4xx). */
    REGISTRY_REJECTED("registry-rejected", false),
    /** The registry kept failing after the client's retries (5xx, connection errors, referrer conflicts). */
    REGISTRY_UNAVAILABLE("registry-unavailable", true);

    private final String code;
    private final boolean transientFailure;

    Reason(String code, boolean transientFailure) {
      this.code = code;
      this.transientFailure = transientFailure;
    }

    /** The dead-letter reason code, e.g. {@code signature-rejected}. */
    public String code() {
      return code;
    }
  }

  private final Reason reason;
  private final List<String> missingLayers;

  public PublishException(Reason reason, String message, List<String> missingLayers, Throwable cause) {
    super(Objects.requireNonNull(reason).code() + ": " + message
        + (missingLayers == null || missingLayers.isEmpty() ? "" : " (layers not published: " + String.join(", ", missingLayers) + ")"),
        cause);
    this.reason = reason;
    this.missingLayers = missingLayers == null ? List.of() : List.copyOf(missingLayers);
  }

  public Reason reason() {
    return reason;
  }

  /** Same as {@code reason().code()}. */
  public String reasonCode() {
    return reason.code();
  }

  /** Layers (digests, in image order) whose artifacts this publication did not complete. */
  public List<String> missingLayers() {
    return missingLayers;
  }

  public boolean isTransient() {
    return reason.transientFailure;
  }
}

package dev.erofspipeline.convert.worker;

/**
 * A layer job that ends in {@code erofs.dead-letters}: permanent (bad input, a missing blob,
 * refused credentials) or transient failures that outlasted the retry budget.
 */
public final class JobFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String reasonCode;
  private final int attempts;

  JobFailedException(String reasonCode, String message, Throwable cause, int attempts) {
    super(message, cause);
    this.reasonCode = reasonCode;
    this.attempts = attempts;
  }

  /** A stable code for dead letters and the failure metric, for example {@code tar.checksum}. */
  public String reasonCode() {
    return reasonCode;
  }

  public int attempts() {
    return attempts;
  }
}

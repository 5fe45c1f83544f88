package dev.erofspipeline.convert;

/**
 * A layer the converter refuses: bad compression, a malformed or hostile tar, a digest mismatch, or
 * an entry mkfs.erofs would mishandle. Permanent by nature: converting the same bytes again fails
 * the same way, so callers dead-letter it instead of retrying.
 */
public class InvalidLayerException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String reason;

  /**
   * @param reason a stable, machine-readable code (for example {@code tar.checksum}); dead letters
   *     and metrics group failures by it
   * @param message what is wrong, for a person: which entry, at which offset
   */
  public InvalidLayerException(String reason, String message) {
    super(message);
    this.reason = reason;
  }

  public InvalidLayerException(String reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  /** The stable code of this failure, for example {@code digest.mismatch}. */
  public String reason() {
    return reason;
  }
}

package dev.erofspipeline.publish.signing;

/**
 * Loading signing material or signing failed. Messages name files and certificate subjects, never
 * passwords or key material, and key-decryption failures carry no cause (third-party messages are
 * not under our control).
 */
public class SigningException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public SigningException(String message) {
    super(message);
  }

  public SigningException(String message, Throwable cause) {
    super(message, cause);
  }
}

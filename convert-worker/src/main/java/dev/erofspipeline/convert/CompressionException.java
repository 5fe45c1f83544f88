package dev.erofspipeline.convert;

import java.io.IOException;

/**
 * A decompression failure caused by the blob's bytes (not by the source failing): thrown through
 * {@link java.io.InputStream} APIs and turned into an {@link InvalidLayerException} by the converter.
 */
final class CompressionException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String reason;

  CompressionException(String reason, String message) {
    super(message);
    this.reason = reason;
  }

  CompressionException(String reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  String reason() {
    return reason;
  }

  InvalidLayerException toInvalidLayer() {
    return new InvalidLayerException(reason, getMessage(), this);
  }
}

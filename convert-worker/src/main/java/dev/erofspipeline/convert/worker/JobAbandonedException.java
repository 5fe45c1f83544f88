package dev.erofspipeline.convert.worker;

/**
 * A job given up at shutdown: it produces neither a result nor a dead letter and its offset is not
 * committed, so Kafka delivers it to another worker.
 */
public final class JobAbandonedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  JobAbandonedException(String message, Throwable cause) {
    super(message, cause);
  }
}

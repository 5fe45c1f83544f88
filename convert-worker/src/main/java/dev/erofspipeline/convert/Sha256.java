package dev.erofspipeline.convert;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** The one place a SHA-256 digest is created (every JDK has it, so its absence is a bug). */
final class Sha256 {
  private Sha256() {}

  static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

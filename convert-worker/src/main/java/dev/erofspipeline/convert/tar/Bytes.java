package dev.erofspipeline.convert.tar;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Helpers for tar names and fields, which are raw bytes (never decoded or normalised). */
final class Bytes {
  private Bytes() {}

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** For messages only: UTF-8 with replacement characters. */
  static String display(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** C isspace(). */
  static boolean isSpace(byte b) {
    return b == ' ' || (b >= '\t' && b <= '\r');
  }

  static boolean startsWith(byte[] a, byte[] prefix) {
    return a.length >= prefix.length && Arrays.equals(a, 0, prefix.length, prefix, 0, prefix.length);
  }

  /** First index of {@code b} in {@code a[from, to)}, or -1. */
  static int indexOf(byte[] a, byte b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (a[i] == b) {
        return i;
      }
    }
    return -1;
  }

  /** What a C string copy (strdup/strndup) keeps: the bytes before the first NUL. */
  static byte[] upToNul(byte[] v) {
    int nul = indexOf(v, (byte) 0, 0, v.length);
    return nul < 0 ? v : Arrays.copyOf(v, nul);
  }

  static byte[] stripTrailingSlashes(byte[] v) {
    int end = v.length;
    while (end > 0 && v[end - 1] == '/') {
      end--;
    }
    return end == v.length ? v : Arrays.copyOf(v, end);
  }
}

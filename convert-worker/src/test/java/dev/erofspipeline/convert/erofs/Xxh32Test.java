package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Xxh32Test {
  private static int xxh32(String s, int seed) {
    return Xxh32.hash(s.getBytes(StandardCharsets.US_ASCII), seed);
  }

  @Test
  void referenceVectors() {
    assertEquals(0x02CC5D05, xxh32("", 0));
    assertEquals(0x32D153FF, xxh32("abc", 0));
    // longer than 16 bytes: goes through the four-lane stripe loop (python-xxhash's example)
    assertEquals(0xE2293B2F, xxh32("Nobody inspects the spammish repetition", 0));
  }

  @Test
  void seedChangesTheHash() {
    // The EROFS name filter seeds with 0x25BBE08F + prefix index; different seeds must differ.
    assertEquals(xxh32("capability", 0x25BBE08F + 6), xxh32("capability", 0x25BBE08F + 6));
    org.junit.jupiter.api.Assertions.assertNotEquals(
        xxh32("capability", 0x25BBE08F + 6), xxh32("capability", 0x25BBE08F + 4));
  }
}

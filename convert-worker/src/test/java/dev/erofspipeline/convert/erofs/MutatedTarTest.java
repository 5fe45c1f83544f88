package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.testkit.TarBuilder;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Hostile input: golden archives with random bytes changed (often in header fields, with the
 * checksum repaired so the damage gets past it) or cut short. Every outcome must be an image or
 * an {@link InvalidLayerException}; nothing else may escape.
 */
public class MutatedTarTest {
  /** Golden cases whose tars get mutated (also by the native converter's test). */
  public static final String[] CASES = {
    "rand-1", "rand-5", "rand-9", "gnutar-gnu", "gnutar-pax-xattrs", "edge-xattrs",
    "edge-duplicates", "layered-2", "edge-ids-times"
  };
  private static final int[] FIELDS = {0, 100, 108, 124, 136, 148, 156, 157, 257, 329, 345};

  @Test
  void mutationsEndInAnImageOrAReason() throws Exception {
    Path golden = GoldenTarIndexTest.goldenDir();
    List<byte[]> originals = new ArrayList<>();
    for (String name : CASES) {
      originals.add(Files.readAllBytes(golden.resolve(name + ".tar")));
    }
    Random random = new Random(20261127);
    int accepted = 0;
    int rejected = 0;
    for (int i = 0; i < 3000; i++) {
      byte[] tar = mutate(originals.get(i % originals.size()).clone(), random);
      try {
        TarIndex index = TarIndexWriter.write(new ByteArrayInputStream(tar), new UUID(0, i),
            ConversionLimits.DEFAULT);
        assertEquals(0, index.image().length % 512);
        accepted++;
      } catch (InvalidLayerException e) {
        assertTrue(e.reason().matches("[a-z]+(\\.[a-z0-9-]+)+"), e.reason());
        rejected++;
      }
    }
    assertTrue(accepted > 0 && rejected > 0, accepted + " accepted, " + rejected + " rejected");
  }

  /** Changes a few random bytes of {@code tar} (in place) and sometimes cuts it short. */
  public static byte[] mutate(byte[] tar, Random random) {
    for (int m = 1 + random.nextInt(4); m > 0; m--) {
      int header = random.nextInt(tar.length / 512) * 512;
      int at = header + (random.nextBoolean()
          ? random.nextInt(512)
          : FIELDS[random.nextInt(FIELDS.length)] + random.nextInt(12));
      tar[at] = (byte) random.nextInt(256);
      if (random.nextInt(3) == 0 && tar[header + 257] == 'u') {
        byte[] block = Arrays.copyOfRange(tar, header, header + 512);
        TarBuilder.setChecksum(block);
        System.arraycopy(block, 0, tar, header, 512);
      }
    }
    return random.nextInt(10) == 0 ? Arrays.copyOf(tar, random.nextInt(tar.length + 1)) : tar;
  }
}

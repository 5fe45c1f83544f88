package dev.erofspipeline.convert;

import static dev.erofspipeline.convert.LayerConverterTest.golden;
import static dev.erofspipeline.convert.LayerConverterTest.gzip;
import static dev.erofspipeline.convert.LayerConverterTest.sha256;
import static dev.erofspipeline.convert.LayerConverterTest.zstd;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.erofs.MutatedTarTest;
import dev.erofspipeline.convert.verity.VeritySetup;
import dev.erofspipeline.testkit.HostileCorpus;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native profile without the kernel (see NativeKernelMountTest for mounts): the blob's shape
 * and reported fields, determinism in both feed modes, veritysetup on the appended tree, and the
 * same outcome (image or reason code) as the tar-index profile on bad input, with nothing written
 * and no temporary file left. Golden files are read in place (see {@link GoldenCases}).
 */
class NativeLayerConverterTest {
  @TempDir Path tmp;

  private NativeLayerConverter converter(boolean parallel) {
    return converter(ConversionLimits.DEFAULT, parallel);
  }

  private NativeLayerConverter converter(ConversionLimits limits, boolean parallel) {
    LayerConverter.Options o = LayerConverter.Options.DEFAULT.withParallel(parallel);
    return new NativeLayerConverter(
        limits, new LayerConverter.Options(o.parallel(), o.chunkSize(), o.chunks(), o.verityMemoryBound(), tmp));
  }

  private record Output(NativeConversionResult result, byte[] blob) {}

  /** Converts; on failure checks that nothing was written, and in every case that the spool is gone. */
  private Output convert(NativeLayerConverter c, byte[] blob, String d, boolean verify, String diffId)
      throws IOException, InvalidLayerException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      return new Output(c.convert(new ByteArrayInputStream(blob), d, verify, diffId, out), out.toByteArray());
    } catch (InvalidLayerException | IOException | RuntimeException e) {
      assertEquals(0, out.size(), "nothing written on failure");
      throw e;
    } finally {
      try (Stream<Path> left = Files.list(tmp)) {
        assertEquals(List.of(), left.toList(), "temporary files left behind");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.erofspipeline.convert.GoldenCases#all")
  void goldenLayerGivesAnImageAndItsTree(GoldenCases.Case c) throws Exception {
    Output o = convert(converter(true), Files.readAllBytes(c.tarGz()), c.layerDigest(), true, c.diffId());
    NativeConversionResult r = o.result();
    assertEquals(c.layerDigest(), r.layerDigest());
    assertEquals(c.diffId(), r.diffId());
    assertEquals(LayerUuids.erofsNative(c.layerDigest()).toString(), r.erofsUuid());
    assertEquals(c.verityUuid(), r.verityUuid());
    assertEquals(0, r.imageSize() % 4096);
    assertEquals(r.imageSize() / 4096, r.dataBlocks());
    assertEquals(4096, r.blockSize());
    assertEquals("00".repeat(32), r.salt());
    assertEquals(o.blob().length, r.blobSize());
    assertEquals(sha256(o.blob()), r.blobSha256());
    ByteBuffer sb = ByteBuffer.wrap(o.blob()).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(0xE0F5E1E2, sb.getInt(1024), "EROFS magic");
    assertEquals(12, sb.get(1024 + 0x0C), "4096-byte blocks");
    assertEquals(r.dataBlocks(), sb.getInt(1024 + 0x24) & 0xFFFFFFFFL, "superblock block count");
    assertEquals(r.erofsUuid(), new UUID(
        sb.order(ByteOrder.BIG_ENDIAN).getLong(1024 + 0x30), sb.getLong(1024 + 0x38)).toString());
    assertArrayEquals("verity\0\0".getBytes(), Arrays.copyOfRange(o.blob(), (int) r.imageSize(), (int) r.imageSize() + 8));
  }

  @Test
  void sameInputGivesIdenticalBytesInBothModesAndFormats() throws Exception {
    GoldenCases.Case c = golden("layered-2");
    byte[] tar = Files.readAllBytes(c.tar());
    Output first = convert(converter(true), Files.readAllBytes(c.tarGz()), c.layerDigest(), false, null);
    for (byte[] blob : List.of(tar, gzip(tar), zstd(tar))) {
      for (boolean parallel : new boolean[] {true, false}) {
        Output again = convert(converter(parallel), blob, c.layerDigest(), false, null);
        assertArrayEquals(first.blob(), again.blob());
        assertEquals(first.result(), again.result());
      }
    }
  }

  @Test
  void veritysetupVerifiesTheAppendedTreeAndCatchesAFlippedByte() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    Output o = convert(converter(true), Files.readAllBytes(c.tarGz()), c.layerDigest(), true, null);
    NativeConversionResult r = o.result();
    Path blob = tmp.resolve("../native-" + c.name() + ".img").normalize();
    Files.write(blob, o.blob());
    try {
      String[] args = {
        "verify", blob.toString(), blob.toString(), r.rootHash(), "--hash-offset=" + r.imageSize()
      };
      Processes.Result ok = VeritySetup.exec(args);
      assertEquals(0, ok.code(), ok.out());
      String dump = VeritySetup.run("dump", blob.toString(), "--hash-offset=" + r.imageSize());
      assertTrue(dump.contains("Data block size: \t4096") && dump.contains("Hash block size: \t4096")
          && dump.contains(r.verityUuid()) && dump.contains("Data blocks:     \t" + r.dataBlocks()), dump);
      for (long at : new long[] {1024 + 0x30, 5000, r.imageSize() / 2, r.imageSize() - 1}) {
        byte[] bad = o.blob().clone();
        bad[(int) at] ^= 1;
        Files.write(blob, bad);
        Processes.Result ko = VeritySetup.exec(args);
        assertNotEquals(0, ko.code(), "flipped byte at " + at + " went unnoticed");
      }
    } finally {
      Files.delete(blob);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.erofspipeline.convert.HostileCorpusTest#cases")
  void hostileCorpusEndsInTheSameReasonAsTheTarIndex(HostileCorpus.Case c) {
    NativeLayerConverter n = converter(HostileCorpusTest.LIMITS, true);
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      try (InputStream in = c.blob().open()) {
        if (c.accepted()) {
          NativeConversionResult r = convert(n, in.readAllBytes(), c.layerDigest(), true, c.claimedDiffId()).result();
          assertEquals(0, r.imageSize() % 4096);
        } else {
          InvalidLayerException e = assertThrows(InvalidLayerException.class,
              () -> n.convert(in, c.layerDigest(), true, c.claimedDiffId(), OutputStream.nullOutputStream()));
          assertEquals(c.reason(), e.reason(), e.getMessage());
        }
      }
    });
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(List.of(), left.toList(), "temporary files left behind");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void aFailingOutputIsAnIoExceptionInBothModes() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] gz = Files.readAllBytes(c.tarGz());
    for (boolean parallel : new boolean[] {true, false}) {
      OutputStream failing = new OutputStream() {
        private long written;

        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          if ((written += len) > 100_000) {
            throw new IOException("disk full (test)");
          }
        }
      };
      IOException e = assertThrows(IOException.class,
          () -> converter(parallel).convert(new ByteArrayInputStream(gz), c.layerDigest(), true, null, failing));
      assertEquals("disk full (test)", e.getMessage());
    }
  }

  /** The outcome of one conversion: "ok" or the reason code. */
  private String outcome(Converter c, byte[] blob, String d, boolean verify, String diffId) throws Exception {
    try {
      c.convert(blob, d, verify, diffId);
      return "ok";
    } catch (InvalidLayerException e) {
      return e.reason();
    }
  }

  private interface Converter {
    void convert(byte[] blob, String d, boolean verify, String diffId) throws Exception;
  }

  /** Asserts that both profiles (native in both feed modes) end the same way on {@code blob}. */
  private void sameOutcome(
      ConversionLimits limits, String what, byte[] blob, String d, boolean verify, String diffId)
      throws Exception {
    LayerConverter tarIndex = new LayerConverter(limits, LayerConverter.Options.DEFAULT.withParallel(false));
    String want = outcome(
        (b, dd, v, id) -> LayerConverterTest.convert(tarIndex, b, dd, v, id), blob, d, verify, diffId);
    for (boolean parallel : new boolean[] {false, true}) {
      NativeLayerConverter n = converter(limits, parallel);
      String got = outcome((b, dd, v, id) -> convert(n, b, dd, v, id), blob, d, verify, diffId);
      assertEquals(want, got, what + (parallel ? " (parallel)" : " (sequential)"));
    }
  }

  @Test
  void badInputGetsTheTarIndexProfilesReason() throws Exception {
    List<String> seen = new ArrayList<>();
    Random random = new Random(20261127);
    for (int i = 0; i < 150; i++) {
      String name = MutatedTarTest.CASES[i % MutatedTarTest.CASES.length];
      byte[] tar = MutatedTarTest.mutate(Files.readAllBytes(golden(name).tar()), random);
      byte[] blob = i % 3 == 0 ? gzip(tar) : tar;
      sameOutcome(ConversionLimits.DEFAULT, name + " mutation " + i, blob, "sha256:" + sha256(blob), true, null);
    }
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] gz = Files.readAllBytes(c.tarGz());
    byte[] tar = Files.readAllBytes(c.tar());
    byte[] corrupt = gz.clone();
    corrupt[corrupt.length / 2] ^= 0x55;
    byte[] zst = zstd(tar);
    List<byte[]> blobs = List.of(
        Arrays.copyOf(gz, 30), Arrays.copyOf(gz, gz.length / 2), Arrays.copyOf(gz, gz.length - 4), corrupt,
        Arrays.copyOf(zst, zst.length / 2), Arrays.copyOf(zst, zst.length + 10), new byte[] {'B', 'Z', 'h', '9'});
    for (int i = 0; i < blobs.size(); i++) {
      byte[] b = blobs.get(i);
      sameOutcome(ConversionLimits.DEFAULT, "damaged blob " + i, b, "sha256:" + sha256(b), true, null);
      sameOutcome(ConversionLimits.DEFAULT, "damaged blob " + i + ", wrong digest", b, c.layerDigest(), true, null);
    }
    sameOutcome(ConversionLimits.DEFAULT, "wrong diffID", gz, c.layerDigest(), true, golden("rand-1").diffId());
    for (ConversionLimits small : List.of(
        new ConversionLimits(5_000_000L, 1024, 100_000L, 1 << 20),
        new ConversionLimits(10, 1024, 1L << 30, 1 << 20),
        new ConversionLimits(5_000_000L, 2, 1L << 30, 1 << 20))) {
      sameOutcome(small, "limits " + small, gz, c.layerDigest(), true, null);
      seen.add(outcome((b, dd, v, id) -> convert(converter(small, true), b, dd, v, id), gz, c.layerDigest(), true, null));
    }
    assertEquals(List.of("limit.uncompressed-bytes", "limit.entries", "limit.depth"), seen);
  }
}

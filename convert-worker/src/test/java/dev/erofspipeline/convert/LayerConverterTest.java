package dev.erofspipeline.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdOutputStream;
import dev.erofspipeline.convert.verity.VeritySetup;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Golden files are read in place from shared/golden (see {@link GoldenCases}). */
class LayerConverterTest {

  @TempDir Path tmp;

  private static final LayerConverter PARALLEL = new LayerConverter(ConversionLimits.DEFAULT);
  private static final LayerConverter DIRECT =
      new LayerConverter(ConversionLimits.DEFAULT, LayerConverter.Options.DEFAULT.withParallel(false));

  record Output(ConversionResult result, byte[] index, byte[] tree) {}

  static Output convert(LayerConverter c, byte[] blob, String d, boolean verify, String diffId)
      throws IOException, InvalidLayerException {
    ByteArrayOutputStream index = new ByteArrayOutputStream();
    ByteArrayOutputStream tree = new ByteArrayOutputStream();
    try {
      ConversionResult r =
          c.convert(new ByteArrayInputStream(blob), d, verify, diffId, index, tree);
      return new Output(r, index.toByteArray(), tree.toByteArray());
    } catch (InvalidLayerException | IOException | RuntimeException e) {
      assertEquals(0, index.size(), "nothing written on failure");
      assertEquals(0, tree.size(), "nothing written on failure");
      throw e;
    }
  }

  static byte[] zstd(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZstdOutputStream z = new ZstdOutputStream(out, 3)) {
      z.setChecksum(true);
      z.write(data);
    }
    return out.toByteArray();
  }

  static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(data);
    }
    return out.toByteArray();
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  static Stream<Arguments> casesAndFormats() {
    return GoldenCases.all().stream()
        .flatMap(c -> Stream.of("tar", "tar.gz", "tar.zst").map(f -> Arguments.of(c, f)));
  }

  static GoldenCases.Case golden(String name) {
    return GoldenCases.all().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("casesAndFormats")
  void goldenCase(GoldenCases.Case c, String format) throws Exception {
    byte[] blob =
        switch (format) {
          case "tar" -> Files.readAllBytes(c.tar());
          case "tar.gz" -> Files.readAllBytes(c.tarGz());
          default -> zstd(Files.readAllBytes(c.tar()));
        };
    // only the .tar.gz is the blob D names; the others are re-encodings of the same layer
    boolean verify = format.equals("tar.gz");
    // the plain tar goes through the single-threaded path, the compressed ones through two threads
    LayerConverter conv = format.equals("tar") ? DIRECT : PARALLEL;
    Output o = convert(conv, blob, c.layerDigest(), verify, c.diffId());
    ConversionResult r = o.result();
    assertArrayEquals(Files.readAllBytes(c.erofs()), o.index(), "index");
    assertArrayEquals(Files.readAllBytes(c.verity()), o.tree(), "tree");
    assertEquals(c.rootHash(), r.rootHash());
    assertEquals(c.layerDigest(), r.layerDigest());
    assertEquals(c.diffId(), r.diffId());
    assertEquals(c.erofsUuid(), r.erofsUuid());
    assertEquals(c.verityUuid(), r.verityUuid());
    assertEquals(c.indexSize(), r.indexSize());
    assertEquals(c.indexSha256(), r.indexSha256());
    assertEquals(c.veritySize(), r.treeSize());
    assertEquals(c.veritySha256(), r.treeSha256());
    assertEquals(c.dataBlocks(), r.dataBlocks());
    assertEquals("0".repeat(64), r.salt());
    assertEquals("1.9.3", r.erofsUtilsVersion());
  }

  @Test
  void sameInputTwiceGivesIdenticalBytesInBothModes() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] blob = Files.readAllBytes(c.tarGz());
    Output a = convert(PARALLEL, blob, c.layerDigest(), true, null);
    Output b = convert(PARALLEL, blob, c.layerDigest(), true, null);
    Output d = convert(DIRECT, blob, c.layerDigest(), true, null);
    assertEquals(a.result(), b.result());
    assertEquals(a.result(), d.result());
    assertArrayEquals(a.index(), b.index());
    assertArrayEquals(a.tree(), b.tree());
    assertArrayEquals(a.index(), d.index());
    assertArrayEquals(a.tree(), d.tree());
  }

  @Test
  void tinyBuffersAndVeritySpillGiveTheSameBytes() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    LayerConverter small =
        new LayerConverter(
            ConversionLimits.DEFAULT, new LayerConverter.Options(true, 1000, 2, 100, tmp));
    Output o = convert(small, Files.readAllBytes(c.tarGz()), c.layerDigest(), true, c.diffId());
    assertArrayEquals(Files.readAllBytes(c.verity()), o.tree());
    assertEquals(c.rootHash(), o.result().rootHash());
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(0, left.count(), "spill files removed");
    }
  }

  @Test
  void smallAlignedChunksShareTheHashingBetweenThreads() throws Exception {
    // with two 4 KiB chunks the decoding thread is often ahead and hashes queued chunks itself
    LayerConverter small =
        new LayerConverter(
            ConversionLimits.DEFAULT, new LayerConverter.Options(true, 4096, 2, 1 << 20, tmp));
    for (String name : new String[] {"deb-tzdata", "edge-bigdirs", "gnutar-gnu"}) {
      GoldenCases.Case c = golden(name);
      byte[] tar = Files.readAllBytes(c.tar());
      for (byte[] blob : List.of(tar, Files.readAllBytes(c.tarGz()), zstd(tar))) {
        for (int i = 0; i < 3; i++) {
          Output o = convert(small, blob, c.layerDigest(), false, c.diffId());
          assertArrayEquals(Files.readAllBytes(c.verity()), o.tree(), name);
          assertArrayEquals(Files.readAllBytes(c.erofs()), o.index(), name);
          assertEquals(c.diffId(), o.result().diffId(), name);
        }
      }
    }
  }

  @Test
  void multiMemberGzipIsOneStream() throws Exception {
    GoldenCases.Case c = golden("rand-3");
    byte[] tar = Files.readAllBytes(c.tar());
    ByteArrayOutputStream multi = new ByteArrayOutputStream();
    multi.write(gzip(Arrays.copyOfRange(tar, 0, 1000)));
    multi.write(gzip(new byte[0]));
    multi.write(gzip(Arrays.copyOfRange(tar, 1000, 70000)));
    multi.write(gzip(Arrays.copyOfRange(tar, 70000, tar.length)));
    for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
      Output o = convert(conv, multi.toByteArray(), c.layerDigest(), false, c.diffId());
      assertEquals(c.rootHash(), o.result().rootHash());
      assertArrayEquals(Files.readAllBytes(c.erofs()), o.index());
    }
  }

  private static InvalidLayerException refused(
      LayerConverter conv, byte[] blob, String d, boolean verify, String diffId) {
    return assertThrows(
        InvalidLayerException.class, () -> convert(conv, blob, d, verify, diffId));
  }

  @Test
  void wrongLayerDigestIsRefused() throws Exception {
    GoldenCases.Case c = golden("rand-1");
    byte[] blob = Files.readAllBytes(c.tarGz());
    String other = golden("rand-2").layerDigest();
    for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
      InvalidLayerException e = refused(conv, blob, other, true, null);
      assertEquals("digest.mismatch", e.reason());
      assertTrue(e.getMessage().contains(c.layerDigest()), e.getMessage());
    }
  }

  @Test
  void wrongDiffIdIsRefused() throws Exception {
    GoldenCases.Case c = golden("rand-1");
    byte[] blob = Files.readAllBytes(c.tarGz());
    for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
      InvalidLayerException e = refused(conv, blob, c.layerDigest(), true, golden("rand-2").diffId());
      assertEquals("diffid.mismatch", e.reason());
      assertTrue(e.getMessage().contains(c.diffId()), e.getMessage());
    }
  }

  @Test
  void truncatedGzipIsRefusedAsTruncated() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] full = Files.readAllBytes(c.tarGz());
    for (int cut : new int[] {5, 30, full.length / 2, full.length - 4}) {
      byte[] blob = Arrays.copyOf(full, cut);
      String d = "sha256:" + sha256(blob);
      for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
        InvalidLayerException e = refused(conv, blob, d, true, null);
        assertEquals("compression.truncated", e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("gzip"), e.getMessage());
        // the registry said the blob was the whole layer: then the digest is the reason
        InvalidLayerException m = refused(conv, blob, c.layerDigest(), true, null);
        assertEquals("digest.mismatch", m.reason(), m.getMessage());
      }
    }
  }

  @Test
  void corruptGzipIsRefusedAsCorrupt() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] blob = Files.readAllBytes(c.tarGz());
    blob[blob.length / 2] ^= 0x55;
    InvalidLayerException e = refused(PARALLEL, blob, c.layerDigest(), false, null);
    assertEquals("compression.corrupt", e.reason(), e.getMessage());
    byte[] trailing = Arrays.copyOf(Files.readAllBytes(c.tarGz()), blob.length + 3);
    trailing[trailing.length - 2] = 7;
    InvalidLayerException t = refused(DIRECT, trailing, c.layerDigest(), false, null);
    assertEquals("compression.corrupt", t.reason(), t.getMessage());
    assertTrue(t.getMessage().contains("trailing"), t.getMessage());
  }

  @Test
  void corruptAndTruncatedZstdAreRefused() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] good = zstd(Files.readAllBytes(c.tar()));
    byte[] corrupt = good.clone();
    for (int i = good.length / 2; i < good.length / 2 + 16; i++) {
      corrupt[i] ^= 0x5a;
    }
    byte[] truncated = Arrays.copyOf(good, good.length / 2);
    byte[] trailing = Arrays.copyOf(good, good.length + 10);
    for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
      InvalidLayerException e = refused(conv, corrupt, c.layerDigest(), false, null);
      assertEquals("compression.corrupt", e.reason(), e.getMessage());
      assertTrue(e.getMessage().contains("zstd"), e.getMessage());
      InvalidLayerException t = refused(conv, truncated, c.layerDigest(), false, null);
      assertEquals("compression.truncated", t.reason(), t.getMessage());
      InvalidLayerException g = refused(conv, trailing, c.layerDigest(), false, null);
      assertEquals("compression.corrupt", g.reason(), g.getMessage());
    }
  }

  @Test
  void aBrokenTarHeaderKeepsTheParsersReasonUnlessTheDigestIsWrong() throws Exception {
    GoldenCases.Case c = golden("rand-1");
    byte[] tar = Files.readAllBytes(c.tar());
    tar[148] = 'x'; // checksum field of the first header
    byte[] gz = gzip(tar);
    for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
      InvalidLayerException e = refused(conv, gz, "sha256:" + sha256(gz), true, null);
      assertTrue(e.reason().startsWith("tar."), e.reason() + ": " + e.getMessage());
      InvalidLayerException m = refused(conv, gz, c.layerDigest(), true, null);
      assertEquals("digest.mismatch", m.reason(), m.getMessage());
    }
  }

  @Test
  void uncompressedSizeLimitIsEnforced() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] blob = Files.readAllBytes(c.tarGz());
    ConversionLimits small = new ConversionLimits(5_000_000L, 1024, 100_000L, 1 << 20);
    for (boolean parallel : new boolean[] {true, false}) {
      LayerConverter conv =
          new LayerConverter(small, LayerConverter.Options.DEFAULT.withParallel(parallel));
      InvalidLayerException e = refused(conv, blob, c.layerDigest(), true, null);
      assertEquals("limit.uncompressed-bytes", e.reason(), e.getMessage());
    }
  }

  @Test
  void failingSourceIsAnIoExceptionNotAnInvalidLayer() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] blob = Files.readAllBytes(c.tarGz());
    for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
      InputStream broken =
          new InputStream() {
            int pos;

            @Override
            public int read() throws IOException {
              throw new IOException("connection reset");
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              if (pos > blob.length / 3) {
                throw new IOException("connection reset");
              }
              int n = Math.min(len, Math.min(4096, blob.length - pos));
              System.arraycopy(blob, pos, b, off, n);
              pos += n;
              return n;
            }
          };
      IOException e =
          assertThrows(
              IOException.class,
              () ->
                  conv.convert(
                      broken, c.layerDigest(), true, null,
                      new ByteArrayOutputStream(), new ByteArrayOutputStream()));
      assertEquals("connection reset", e.getMessage());
    }
  }

  @Test
  void anInterruptEndsTheConversionPromptly() throws Exception {
    GoldenCases.Case c = golden("deb-tzdata");
    byte[] blob = Files.readAllBytes(c.tar());
    for (LayerConverter conv : List.of(PARALLEL, DIRECT)) {
      InputStream slow =
          new InputStream() {
            int pos;

            @Override
            public int read() {
              throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              try {
                Thread.sleep(20);
              } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException("interrupted");
              }
              if (pos == blob.length) {
                return -1;
              }
              int n = Math.min(len, Math.min(512, blob.length - pos));
              System.arraycopy(blob, pos, b, off, n);
              pos += n;
              return n;
            }
          };
      java.util.concurrent.atomic.AtomicReference<Throwable> thrown =
          new java.util.concurrent.atomic.AtomicReference<>();
      Thread t =
          new Thread(
              () -> {
                try {
                  conv.convert(slow, c.layerDigest(), false, null,
                      new ByteArrayOutputStream(), new ByteArrayOutputStream());
                } catch (Throwable e) {
                  thrown.set(e);
                }
              });
      t.start();
      Thread.sleep(300);
      long t0 = System.nanoTime();
      t.interrupt();
      t.join(5000);
      assertTrue(!t.isAlive(), "still converting after an interrupt");
      assertTrue((System.nanoTime() - t0) / 1e9 < 3, "slow to stop");
      assertTrue(thrown.get() instanceof java.io.InterruptedIOException, String.valueOf(thrown.get()));
    }
  }

  @Test
  void veritysetupVerifiesOurTreeAndCatchesAFlippedByte() throws Exception {
    GoldenCases.Case c = golden("gnutar-pax-xattrs");
    Output o = convert(PARALLEL, Files.readAllBytes(c.tarGz()), c.layerDigest(), true, null);
    Path data = tmp.resolve("data");
    Path tree = tmp.resolve("tree");
    byte[] tar = Files.readAllBytes(c.tar());
    byte[] device = Arrays.copyOf(o.index(), o.index().length + tar.length);
    System.arraycopy(tar, 0, device, o.index().length, tar.length);
    Files.write(data, device);
    Files.write(tree, o.tree());
    String root = o.result().rootHash();
    Processes.Result ok = VeritySetup.exec("verify", data.toString(), tree.toString(), root);
    assertEquals(0, ok.code(), ok.out());
    for (int at : new int[] {100, o.index().length + 700, device.length - 1}) {
      byte[] bad = device.clone();
      bad[at] ^= 1;
      Files.write(data, bad);
      Processes.Result ko = VeritySetup.exec("verify", data.toString(), tree.toString(), root);
      assertNotEquals(0, ko.code(), "flipped byte at " + at + " went unnoticed");
    }
  }
}

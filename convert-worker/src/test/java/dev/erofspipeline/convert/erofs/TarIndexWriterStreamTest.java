package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.testkit.TarBuilder;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** How the writer consumes the stream, and the archive endings mkfs 1.9 accepts. */
class TarIndexWriterStreamTest {
  private static final UUID U = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");

  /** Counts bytes handed out and refuses skip(): the caller hashes everything it reads. */
  private static final class CountingStream extends FilterInputStream {
    long count;

    CountingStream(byte[] data) {
      super(new ByteArrayInputStream(data));
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      count += b < 0 ? 0 : 1;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      count += Math.max(n, 0);
      return n;
    }

    @Override
    public long skip(long n) {
      throw new AssertionError("skip() must not be used");
    }
  }

  private static TarIndex write(InputStream in) throws Exception {
    return TarIndexWriter.write(in, U, ConversionLimits.DEFAULT);
  }

  private static int deviceBlocks(TarIndex index) {
    return ByteBuffer.wrap(index.image()).order(ByteOrder.LITTLE_ENDIAN).getInt(1152 + 64);
  }

  @Test
  void stopsRightAfterTheSecondEndBlock() throws Exception {
    byte[] tar = new TarBuilder().dir("a").file("a/f", new byte[700]).end()
        .raw(new byte[10240]).bytes(); // GNU record padding after the end blocks
    CountingStream in = new CountingStream(tar);
    TarIndex index = write(in);
    long expected = 512 + 512 + 1024 + 1024;
    assertEquals(expected, index.tarBytesUsed());
    assertEquals(expected, in.count);
    assertEquals(expected / 512, deviceBlocks(index));
    assertEquals(3, index.inodeCount()); // root, a, a/f
  }

  @Test
  void archiveWithoutEndBlocksEndsAtEndOfFile() throws Exception {
    byte[] tar = new TarBuilder().file("f", "x".getBytes(StandardCharsets.US_ASCII)).bytes();
    TarIndex index = write(new CountingStream(tar));
    assertEquals(1024, index.tarBytesUsed());
    assertEquals(2, deviceBlocks(index));
  }

  @Test
  void singleZeroBlockIsSkipped() throws Exception {
    byte[] tar = new TarBuilder().dir("a").raw(new byte[512]).dir("b").end().bytes();
    TarIndex index = write(new CountingStream(tar));
    assertEquals(3, index.inodeCount());
    assertEquals(tar.length, index.tarBytesUsed());
  }

  @Test
  void emptyArchiveHasOnlyTheRoot() throws Exception {
    TarIndex index = write(new CountingStream(new TarBuilder().end().bytes()));
    assertEquals(1, index.inodeCount());
    assertEquals(1024, index.tarBytesUsed());
    assertEquals(0, index.image().length % 512);
  }

  @Test
  void deepTreeNeedsNoRecursion() throws Exception {
    String path = "d/".repeat(20_000) + "f";
    byte[] tar = new TarBuilder().pax('x', "path=" + path).file("ignored", new byte[1]).end().bytes();
    TarIndex index = TarIndexWriter.write(new ByteArrayInputStream(tar), U,
        new ConversionLimits(100, 50_000, 1L << 30, 1 << 20));
    assertEquals(20_002, index.inodeCount());
  }
}

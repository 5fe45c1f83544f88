package dev.erofspipeline.convert.tar;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A copy on disk of the tar as the parser read it, so that file data can be laid out after the
 * whole archive is known (a later member may replace an earlier one) without holding it in memory.
 * Positions are tar offsets: {@link Inode#dataOffset()} addresses the spool directly. On Linux the
 * file is unlinked as soon as it is open ({@code DELETE_ON_CLOSE}), so nothing is left behind even
 * if the process dies; elsewhere it is deleted on {@link #close()}.
 */
public final class TarSpool implements Closeable {
  private static final int BUFFER = 1 << 20;

  private final Path file;
  private final FileChannel channel;
  private final OutputStream out;
  private final byte[] copyBuffer = new byte[BUFFER];
  private long size;
  private boolean writing = true;

  private TarSpool(Path file) throws IOException {
    this.file = file;
    this.channel =
        FileChannel.open(
            file, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
    this.out = new BufferedOutputStream(Channels.newOutputStream(channel), BUFFER);
  }

  /** A new, empty spool file in {@code dir} (null: the default temporary directory). */
  public static TarSpool create(Path dir) throws IOException {
    Path f = dir == null
        ? Files.createTempFile("erofs-native-", ".tar")
        : Files.createTempFile(dir, "erofs-native-", ".tar");
    try {
      return new TarSpool(f);
    } catch (IOException e) {
      Files.deleteIfExists(f);
      throw e;
    }
  }

  /** {@code tar} as it is, every byte read through it also appended to the spool. */
  public InputStream tee(InputStream tar) {
    return new FilterInputStream(tar) {
      @Override
      public int read() throws IOException {
        int b = in.read();
        if (b >= 0) {
          append(new byte[] {(byte) b}, 0, 1);
        }
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
          append(b, off, n);
        }
        return n;
      }

      @Override
      public long skip(long n) {
        throw new UnsupportedOperationException("the spool needs every byte read");
      }
    };
  }

  private void append(byte[] b, int off, int len) throws IOException {
    if (!writing) {
      throw new IllegalStateException("the spool is being read");
    }
    out.write(b, off, len);
    size += len;
  }

  /** Bytes spooled so far. */
  public long size() {
    return size;
  }

  /** Fills {@code b[off, off+len)} from tar offset {@code pos}. */
  public void read(long pos, byte[] b, int off, int len) throws IOException {
    finishWriting();
    ByteBuffer dst = ByteBuffer.wrap(b, off, len);
    while (dst.hasRemaining()) {
      if (channel.read(dst, pos + dst.position() - off) < 0) {
        throw new EOFException("spool ends before tar offset " + (pos + len));
      }
    }
  }

  /** Writes {@code len} bytes from tar offset {@code pos} to {@code to}. */
  public void copy(long pos, long len, OutputStream to) throws IOException {
    while (len > 0) {
      int n = (int) Math.min(len, copyBuffer.length);
      read(pos, copyBuffer, 0, n);
      to.write(copyBuffer, 0, n);
      pos += n;
      len -= n;
    }
  }

  private void finishWriting() throws IOException {
    if (writing) {
      out.flush();
      writing = false;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      channel.close();
    } finally {
      Files.deleteIfExists(file);
    }
  }
}

package dev.erofspipeline.convert.verity;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An append-only byte store that keeps its first {@code memoryBound} bytes on the heap and spills the
 * rest to a temporary file, so that a 10 GB layer's digests need a bounded amount of memory. Written
 * once, then read back sequentially any number of times.
 */
final class SpillBuffer implements Closeable {
  private static final int CHUNK = 1 << 20;

  private final long memoryBound;
  private final Path tempDir;
  private final List<byte[]> chunks = new ArrayList<>();
  private long memBytes;
  private Path file;
  private OutputStream fileOut;
  private long fileBytes;

  SpillBuffer(long memoryBound, Path tempDir) {
    if (memoryBound < 0) {
      throw new IllegalArgumentException("memoryBound < 0");
    }
    this.memoryBound = memoryBound;
    this.tempDir = tempDir;
  }

  long size() {
    return memBytes + fileBytes;
  }

  /** Whether part of the content lives in a temporary file. */
  boolean spilled() {
    return file != null;
  }

  void append(byte[] b, int off, int len) throws IOException {
    while (len > 0 && memBytes < memoryBound) {
      int inChunk = (int) (memBytes % CHUNK);
      if (inChunk == 0) {
        chunks.add(new byte[(int) Math.min(CHUNK, memoryBound - memBytes)]);
      }
      byte[] chunk = chunks.get(chunks.size() - 1);
      int n = Math.min(len, chunk.length - inChunk);
      System.arraycopy(b, off, chunk, inChunk, n);
      memBytes += n;
      off += n;
      len -= n;
    }
    if (len > 0) {
      if (fileOut == null) {
        file =
            tempDir == null
                ? Files.createTempFile("verity-", ".digests")
                : Files.createTempFile(tempDir, "verity-", ".digests");
        fileOut = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
      }
      fileOut.write(b, off, len);
      fileBytes += len;
    }
  }

  /** Streams the whole content, memory part first; ends appending. */
  InputStream read() throws IOException {
    if (fileOut != null) {
      fileOut.flush();
    }
    return new InputStream() {
      private long pos;
      private InputStream fileIn;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        if (pos < memBytes) {
          int inChunk = (int) (pos % CHUNK);
          byte[] chunk = chunks.get((int) (pos / CHUNK));
          int n = (int) Math.min(len, Math.min(chunk.length - inChunk, memBytes - pos));
          System.arraycopy(chunk, inChunk, b, off, n);
          pos += n;
          return n;
        }
        if (file == null) {
          return -1;
        }
        if (fileIn == null) {
          fileIn = Files.newInputStream(file);
        }
        int n = fileIn.read(b, off, len);
        if (n > 0) {
          pos += n;
        }
        return n;
      }

      @Override
      public void close() throws IOException {
        if (fileIn != null) {
          fileIn.close();
        }
      }
    };
  }

  @Override
  public void close() throws IOException {
    chunks.clear();
    try {
      if (fileOut != null) {
        fileOut.close();
      }
    } finally {
      fileOut = null;
      if (file != null) {
        Files.deleteIfExists(file);
        file = null;
      }
    }
  }
}

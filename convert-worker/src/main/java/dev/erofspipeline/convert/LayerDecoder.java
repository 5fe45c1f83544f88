package dev.erofspipeline.convert;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.erofspipeline.convert.LayerConverter.Compression;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.Locale;

/**
 * Decompression: picks the decoder from the blob's magic bytes and fills buffers with uncompressed
 * bytes, enforcing the size limit.
 */
final class LayerDecoder {
  private final DigestingSource source;
  private final long maxBytes;
  private final int bufferSize;
  private InputStream data;
  private Compression compression;
  private long total;

  LayerDecoder(DigestingSource source, long maxBytes, int bufferSize) {
    this.source = source;
    this.maxBytes = maxBytes;
    this.bufferSize = bufferSize;
  }

  DigestingSource source() {
    return source;
  }

  int bufferSize() {
    return bufferSize;
  }

  /** The blob's compression; null until the first {@link #fill}. */
  Compression compression() {
    return compression;
  }

  /** Detects the compression of a blob from its first bytes. */
  static Compression detect(byte[] head, int len) throws InvalidLayerException {
    int b0 = len > 0 ? head[0] & 0xff : -1;
    int b1 = len > 1 ? head[1] & 0xff : -1;
    if (b0 == 0x1f && b1 == 0x8b) {
      return Compression.GZIP;
    }
    if (len >= 4 && b1 == 0xb5 && b0 == 0x28 && (head[2] & 0xff) == 0x2f && (head[3] & 0xff) == 0xfd) {
      return Compression.ZSTD;
    }
    // a zstd skippable frame (magic 0x184D2A5?) may come first
    if (len >= 4 && (b0 & 0xf0) == 0x50 && b1 == 0x2a && (head[2] & 0xff) == 0x4d && (head[3] & 0xff) == 0x18) {
      return Compression.ZSTD;
    }
    if (len >= 3 && b0 == 'B' && b1 == 'Z' && head[2] == 'h') {
      throw new InvalidLayerException("compression.unsupported", "the blob is bzip2-compressed; only gzip and zstd are supported");
    }
    if (len >= 6 && b0 == 0xfd && b1 == '7' && head[2] == 'z' && head[3] == 'X' && head[4] == 'Z' && head[5] == 0) {
      throw new InvalidLayerException("compression.unsupported", "the blob is xz-compressed; only gzip and zstd are supported");
    }
    return Compression.NONE;
  }

  private void open() throws IOException, InvalidLayerException {
    byte[] head = new byte[6];
    int n = source.readNBytes(head, 0, head.length);
    compression = detect(head, n);
    InputStream all = new SequenceInputStream(new ByteArrayInputStream(head, 0, n), source);
    switch (compression) {
      case GZIP -> data = new GzipDecoder(all, Math.max(1 << 16, bufferSize / 4));
      case ZSTD -> data = new ZstdInputStreamNoFinalizer(all);
      default -> data = all;
    }
  }

  /**
   * Fills {@code buf} as far as the data goes; returns the bytes put there, -1 at the end. Errors
   * from the bytes of the blob come out as {@link CompressionException} or {@link
   * InvalidLayerException}; a failing source as its own {@link IOException}.
   */
  int fill(byte[] buf) throws IOException, InvalidLayerException {
    if (data == null) {
      open();
    }
    int n = 0;
    try {
      while (n < buf.length) {
        int r = data.read(buf, n, buf.length - n);
        if (r < 0) {
          break;
        }
        n += r;
      }
    } catch (CompressionException e) {
      throw e;
    } catch (IOException e) {
      if (source.failed) {
        throw e;
      }
      throw classify(e);
    }
    if (n == 0) {
      finish();
      return -1;
    }
    total += n;
    if (total > maxBytes) {
      throw new InvalidLayerException(
          "limit.uncompressed-bytes",
          "the uncompressed layer is larger than the limit of " + maxBytes + " bytes");
    }
    return n;
  }

  /** A decoder's own exception (zstd-jni's, or any not raised by {@link GzipDecoder}) as a reason. */
  private CompressionException classify(IOException e) {
    String m = String.valueOf(e.getMessage());
    String format = compression.name().toLowerCase(Locale.ROOT);
    if (e instanceof EOFException || m.toLowerCase(Locale.ROOT).contains("truncated")) {
      return new CompressionException("compression.truncated", format + " stream truncated: " + m, e);
    }
    return new CompressionException("compression.corrupt", format + " data corrupt: " + m, e);
  }

  /** At the end of the uncompressed data: nothing of the blob may be left over. */
  private void finish() throws IOException {
    if (compression == Compression.ZSTD) {
      byte[] probe = new byte[1];
      if (source.read(probe, 0, 1) > 0) {
        throw new CompressionException("compression.corrupt", "zstd stream has trailing data");
      }
    }
    if (!source.drainedToEnd && source.read(new byte[1], 0, 1) > 0) {
      throw new IllegalStateException("decoder ended before the blob");
    }
    source.drainedToEnd = true;
  }

  void close() {
    if (data != null && compression != Compression.NONE) {
      try {
        data.close();
      } catch (IOException ignored) {
        // the source is the caller's; native decoder state is freed either way
      }
    }
  }
}

package dev.erofspipeline.convert;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The blob as received: hashed and counted as it is read; remembers whether reading failed or
 * reached the end. A blob longer than its limit fails with {@code limit.layer-bytes}, which is the
 * blob's fault, not the source's.
 */
final class DigestingSource extends InputStream {
  private final InputStream in;
  private final long maxBytes;
  private final MessageDigest md = Sha256.newDigest();
  private long count;
  volatile boolean failed;
  volatile boolean drainedToEnd;

  DigestingSource(InputStream in, long maxBytes) {
    this.in = in;
    this.maxBytes = maxBytes;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n;
    try {
      n = in.read(b, off, len);
    } catch (IOException | RuntimeException e) {
      failed = true;
      throw e;
    }
    if (n > 0) {
      count += n;
      if (count > maxBytes) {
        throw new CompressionException(
            "limit.layer-bytes", "the layer blob is larger than the limit of " + maxBytes + " bytes");
      }
      md.update(b, off, n);
    } else if (n < 0) {
      drainedToEnd = true;
    }
    return n;
  }

  /**
   * Reads (and hashes) whatever is left, so that the blob digest can still be checked after a
   * failure further on; does nothing once reading has failed, and a new read failure just ends it.
   */
  void drainUnlessFailed() {
    if (failed) {
      return;
    }
    byte[] buf = new byte[1 << 16];
    try {
      while (read(buf, 0, buf.length) >= 0) {}
    } catch (IOException | RuntimeException e) {
      // recorded in failed
    }
  }

  String hex() {
    return HexFormat.of().formatHex(md.digest());
  }
}

package dev.erofspipeline.convert;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A strict, multi-member gzip (RFC 1952) decoder over a large input buffer. Unlike {@link
 * java.util.zip.GZIPInputStream} it never relies on {@code available()} to find the next member (so
 * it does not stop early on a network stream), checks every member's CRC-32 and length, and treats
 * anything after the last member that is not another member as corruption (as Go's gzip reader,
 * which container runtimes use, does).
 */
final class GzipDecoder extends InputStream {
  private static final int FHCRC = 2;
  private static final int FEXTRA = 4;
  private static final int FNAME = 8;
  private static final int FCOMMENT = 16;

  private final InputStream in;
  private final byte[] buf;
  private int pos;
  private int limit;
  private boolean eof;
  private final Inflater inflater = new Inflater(true);
  private final CRC32 crc = new CRC32();
  private long memberBytes;
  private long offset; // compressed offset of buf[0], for messages
  private int members;
  private boolean inMember;
  private boolean done;

  GzipDecoder(InputStream in, int bufferSize) {
    this.in = in;
    this.buf = new byte[bufferSize];
  }

  /** Ensures at least one unread byte; false at the end of the source. */
  private boolean fill() throws IOException {
    if (pos < limit) {
      return true;
    }
    if (eof) {
      return false;
    }
    offset += limit;
    pos = 0;
    limit = 0;
    int n = in.read(buf, 0, buf.length);
    if (n <= 0) {
      eof = true;
      return false;
    }
    limit = n;
    return true;
  }

  private int u8(String what) throws IOException {
    if (!fill()) {
      throw new CompressionException(
          "compression.truncated", "gzip stream truncated in the " + what + " of member " + (members + 1));
    }
    return buf[pos++] & 0xff;
  }

  private int u16(String what) throws IOException {
    return u8(what) | u8(what) << 8;
  }

  private long u32(String what) throws IOException {
    return (u16(what) | (long) u16(what) << 16) & 0xffffffffL;
  }

  private long position() {
    return offset + pos;
  }

  private void readHeader() throws IOException {
    long at = position();
    int id1 = u8("header");
    int id2 = u8("header");
    if (id1 != 0x1f || id2 != 0x8b) {
      throw new CompressionException(
          "compression.corrupt",
          members == 0
              ? "not a gzip stream"
              : "gzip stream has trailing data at offset " + at + " that is not a gzip member");
    }
    int cm = u8("header");
    if (cm != 8) {
      throw new CompressionException("compression.corrupt", "gzip member at offset " + at + " uses unknown method " + cm);
    }
    int flg = u8("header");
    if ((flg & 0xe0) != 0) {
      throw new CompressionException("compression.corrupt", "gzip member at offset " + at + " has reserved flags set");
    }
    for (int i = 0; i < 6; i++) {
      u8("header"); // mtime, xfl, os
    }
    if ((flg & FEXTRA) != 0) {
      int xlen = u16("header");
      for (int i = 0; i < xlen; i++) {
        u8("header");
      }
    }
    if ((flg & FNAME) != 0) {
      while (u8("header") != 0) {}
    }
    if ((flg & FCOMMENT) != 0) {
      while (u8("header") != 0) {}
    }
    if ((flg & FHCRC) != 0) {
      u16("header");
    }
    inflater.reset();
    crc.reset();
    memberBytes = 0;
    inMember = true;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n;
    while ((n = read(one, 0, 1)) == 0) {}
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    while (true) {
      if (done) {
        return -1;
      }
      if (!inMember) {
        if (members > 0 && !fill()) {
          done = true;
          return -1;
        }
        readHeader();
      }
      int n;
      try {
        n = inflater.inflate(b, off, len);
      } catch (DataFormatException e) {
        throw new CompressionException(
            "compression.corrupt",
            "gzip data corrupt in member " + (members + 1) + " near compressed offset " + position() + ": " + e.getMessage(),
            e);
      }
      if (n > 0) {
        crc.update(b, off, n);
        memberBytes += n;
        return n;
      }
      if (inflater.finished()) {
        int rest = inflater.getRemaining();
        pos = limit - rest;
        long wantCrc = u32("trailer");
        long wantSize = u32("trailer");
        if (wantCrc != crc.getValue()) {
          throw new CompressionException(
              "compression.corrupt", "gzip member " + (members + 1) + " fails its CRC-32 check");
        }
        if (wantSize != (memberBytes & 0xffffffffL)) {
          throw new CompressionException(
              "compression.corrupt", "gzip member " + (members + 1) + " has the wrong length in its trailer");
        }
        members++;
        inMember = false;
        continue;
      }
      if (inflater.needsDictionary()) {
        throw new CompressionException("compression.corrupt", "gzip member needs a preset dictionary");
      }
      if (inflater.needsInput()) {
        if (!fill()) {
          throw new CompressionException(
              "compression.truncated",
              "gzip stream truncated: it ends inside member " + (members + 1) + " after " + position() + " bytes");
        }
        inflater.setInput(buf, pos, limit - pos);
        pos = limit; // the inflater owns these bytes until it reports the rest as remaining
      }
    }
  }

  @Override
  public void close() throws IOException {
    inflater.end();
    in.close();
  }
}

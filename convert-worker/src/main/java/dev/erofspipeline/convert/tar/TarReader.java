package dev.erofspipeline.convert.tar;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;

/**
 * Reads tar headers the way mkfs.erofs 1.9.3 ({@code lib/tar.c}) does, member by member. The
 * stream is consumed with {@code read()} only (callers hash every byte), never beyond the second
 * end-of-archive block. File data is read and discarded: the index only needs its offset.
 */
final class TarReader {
  static final int BLOCK = 512;

  private final InputStream in;
  private final ConversionLimits limits;
  private final byte[] header = new byte[BLOCK];
  private final byte[] discard = new byte[64 * 1024];
  private final PaxHeader global = new PaxHeader();
  private long offset;
  private long headers;
  private byte[] volumeLabel;

  TarReader(InputStream in, ConversionLimits limits) {
    this.in = in;
    this.limits = limits;
  }

  /** Tar offset reached: after the last block read (the second end block, or EOF). */
  long offset() {
    return offset;
  }

  /** First 16 bytes of the name of the last GNU volume header ({@code V}), or {@code null}. */
  byte[] volumeLabel() {
    return volumeLabel;
  }

  /**
   * The next member, or {@code null} at the end: two empty blocks, or end of file exactly at a
   * header boundary (mkfs 1.9 accepts archives without end blocks).
   */
  TarEntry next() throws IOException, InvalidLayerException {
    PaxHeader eh = global.copyForMember();
    boolean pendingExtension = false;
    boolean sawEmptyBlock = false;
    while (true) {
      long headerOffset = offset;
      int n = readFully(header, 0, BLOCK);
      if (n == 0 && !pendingExtension) {
        return null;
      }
      if (n < BLOCK) {
        throw new InvalidLayerException(
            "tar.truncated",
            "end of file inside the header at tar offset " + headerOffset
                + (pendingExtension ? " (an extension header announced a member)" : ""));
      }
      offset += BLOCK;

      Long checksum = parseOctal(header, 148, 8);
      if (checksum == null) {
        if (header[0] == 0) {
          if (sawEmptyBlock) {
            return null;
          }
          sawEmptyBlock = true; // a single empty block is skipped
          continue;
        }
        throw new InvalidLayerException(
            "tar.checksum", "unparsable header checksum at tar offset " + headerOffset);
      }
      verifyChecksum(checksum, headerOffset);
      if (++headers > limits.maxEntries()) {
        throw new InvalidLayerException(
            "limit.entries",
            "more than " + limits.maxEntries() + " tar headers (at tar offset " + headerOffset + ")");
      }

      byte typeflag = header[156];
      if (typeflag == 'V') {
        Long size = parseNumber(header, 124, 12);
        if (size == null || size != 0) {
          throw new InvalidLayerException(
              "tar.nonregular.data", "volume header with data at tar offset " + headerOffset);
        }
        volumeLabel = Arrays.copyOf(header, 16);
        continue;
      }
      if (!(header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a'
          && header[261] == 'r')) {
        throw new InvalidLayerException(
            "tar.magic", "not a ustar/GNU header (bad magic) at tar offset " + headerOffset);
      }

      Long mode = parseOctal(header, 100, 8);
      Long uid = eh.uid != null ? eh.uid : parseNumber(header, 108, 8);
      Long gid = eh.gid != null ? eh.gid : parseNumber(header, 116, 8);
      Long size = eh.size != null ? eh.size : parseNumber(header, 124, 12);
      Long mtime = eh.mtime != null ? eh.mtime : parseNumber(header, 136, 12);
      int mtimeNsec = eh.mtime != null ? eh.mtimeNsec : 0;
      if (mode == null || uid == null || gid == null || size == null || mtime == null) {
        throw new InvalidLayerException(
            "tar.header", "unparsable mode, uid, gid, size or mtime field at tar offset " + headerOffset);
      }
      if (size < 0) {
        throw new InvalidLayerException(
            "tar.header", "negative size at tar offset " + headerOffset);
      }

      switch (typeflag) {
        case 'g' -> {
          global.parse(readRecord(size, headerOffset), "PAX global header at tar offset " + headerOffset);
          if (global.path != null || global.link != null || global.size != null) {
            // mkfs would apply them to every later member (one name for all, or desynchronised reads).
            throw new InvalidLayerException(
                "tar.pax.global",
                "PAX global header at tar offset " + headerOffset + " sets path, linkpath or size");
          }
          pendingExtension = true;
          continue;
        }
        case 'x' -> {
          eh.parse(readRecord(size, headerOffset), "PAX header at tar offset " + headerOffset);
          pendingExtension = true;
          continue;
        }
        case 'L' -> {
          eh.path = Bytes.upToNul(readRecord(size, headerOffset));
          pendingExtension = true;
          continue;
        }
        case 'K' -> {
          eh.link = Bytes.upToNul(readRecord(size, headerOffset));
          pendingExtension = true;
          continue;
        }
        case 'S' -> throw new InvalidLayerException(
            "tar.sparse", "GNU sparse member at tar offset " + headerOffset);
        case '0', '7', '1', '2', '3', '4', '5', '6' -> {
          return member(eh, headerOffset, typeflag, mode, uid, gid, size, mtime, mtimeNsec);
        }
        default -> throw new InvalidLayerException(
            "tar.typeflag.unsupported",
            "typeflag " + describe(typeflag) + " at tar offset " + headerOffset
                + " (mkfs.erofs would silently drop the member)");
      }
    }
  }

  private TarEntry member(
      PaxHeader eh, long headerOffset, byte typeflag, long mode, long uid, long gid, long size,
      long mtime, int mtimeNsec) throws IOException, InvalidLayerException {
    byte[] path = eh.path != null ? eh.path : headerPath();
    byte[] link = null;
    int major = 0;
    int minor = 0;
    if (typeflag == '3' || typeflag == '4') {
      Long ma = parseNumber(header, 329, 8);
      Long mi = parseNumber(header, 337, 8);
      if (ma == null || mi == null) {
        throw new InvalidLayerException(
            "tar.header", "unparsable device number at tar offset " + headerOffset);
      }
      major = ma.intValue();
      minor = mi.intValue();
    } else if (typeflag == '1' || typeflag == '2') {
      link = eh.link != null ? eh.link : Bytes.upToNul(Arrays.copyOfRange(header, 157, 257));
    }
    if (size > 0 && typeflag != '0' && typeflag != '7') {
      // mkfs skips data only for regular files; anything else would be read as headers.
      throw new InvalidLayerException(
          "tar.nonregular.data",
          "non-regular member " + Bytes.display(path) + " at tar offset " + headerOffset + " carries "
              + size + " data bytes");
    }
    if (size > limits.maxUncompressedBytes() - offset) {
      throw new InvalidLayerException(
          "limit.uncompressed-bytes",
          "member " + Bytes.display(path) + " at tar offset " + headerOffset + " of " + size
              + " bytes exceeds the " + limits.maxUncompressedBytes() + "-byte limit");
    }
    long dataOffset = offset;
    discard(size, headerOffset);
    eh.mergeGlobalXattrs(global);
    return new TarEntry(
        headerOffset, typeflag, path, link, (int) (mode & 07777), uid & 0xFFFFFFFFL,
        gid & 0xFFFFFFFFL, size, mtime, mtimeNsec, major, minor, List.copyOf(eh.xattrs), dataOffset);
  }

  /** prefix + "/" + name (no slash added after a prefix ending in one), trailing slashes stripped. */
  private byte[] headerPath() {
    byte[] name = Bytes.upToNul(Arrays.copyOfRange(header, 0, 100));
    byte[] prefix = Bytes.upToNul(Arrays.copyOfRange(header, 345, 500));
    byte[] path;
    if (prefix.length == 0) {
      path = name;
    } else {
      boolean slash = prefix[prefix.length - 1] == '/';
      path = Arrays.copyOf(prefix, prefix.length + (slash ? 0 : 1) + name.length);
      if (!slash) {
        path[prefix.length] = '/';
      }
      System.arraycopy(name, 0, path, path.length - name.length, name.length);
    }
    return Bytes.stripTrailingSlashes(path);
  }

  private void verifyChecksum(long stored, long headerOffset) throws InvalidLayerException {
    // mkfs sums bytes [0,148) and [156,500) with the field counted as 8 spaces, unsigned or signed.
    int unsigned = 8 * ' ';
    int signed = unsigned;
    for (int j = 0; j < 148; j++) {
      unsigned += header[j] & 0xFF;
      signed += header[j];
    }
    for (int j = 156; j < 500; j++) {
      unsigned += header[j] & 0xFF;
      signed += header[j];
    }
    int csum = (int) stored;
    if (csum != unsigned && csum != signed) {
      throw new InvalidLayerException(
          "tar.checksum",
          "header checksum mismatch at tar offset " + headerOffset + " (stored " + stored
              + ", computed " + unsigned + ")");
    }
  }

  private byte[] readRecord(long size, long headerOffset) throws IOException, InvalidLayerException {
    if (size > limits.maxExtensionRecordBytes()) {
      throw new InvalidLayerException(
          "limit.extension-record",
          "extension record of " + size + " bytes at tar offset " + headerOffset + " exceeds the "
              + limits.maxExtensionRecordBytes() + "-byte limit");
    }
    byte[] record = new byte[(int) size];
    if (readFully(record, 0, record.length) != record.length) {
      throw truncated(headerOffset);
    }
    offset += size;
    skipPadding(headerOffset);
    return record;
  }

  private void discard(long size, long headerOffset) throws IOException, InvalidLayerException {
    long remaining = size;
    while (remaining > 0) {
      int n = readFully(discard, 0, (int) Math.min(discard.length, remaining));
      if (n == 0) {
        throw truncated(headerOffset);
      }
      remaining -= n;
      offset += n;
    }
    skipPadding(headerOffset);
  }

  private void skipPadding(long headerOffset) throws IOException, InvalidLayerException {
    int rem = (int) (offset & (BLOCK - 1));
    if (rem != 0) {
      int pad = BLOCK - rem;
      if (readFully(discard, 0, pad) != pad) {
        throw truncated(headerOffset);
      }
      offset += pad;
    }
  }

  private int readFully(byte[] buf, int off, int len) throws IOException {
    int total = 0;
    while (total < len) {
      int n = in.read(buf, off + total, len - total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  private static InvalidLayerException truncated(long headerOffset) {
    return new InvalidLayerException(
        "tar.truncated", "end of file inside the data of the member at tar offset " + headerOffset);
  }

  /**
   * mkfs's tarerofs_parsenum: GNU base-256 when the first byte is 0x80 or 0xFF (remaining bytes,
   * big-endian, low 64 bits kept), else octal.
   */
  static Long parseNumber(byte[] b, int off, int len) {
    int first = b[off] & 0xFF;
    if (first == 0x80 || first == 0xFF) {
      long res = 0;
      for (int i = 1; i < len; i++) {
        res = (res << 8) | (b[off + i] & 0xFF);
      }
      return res;
    }
    return parseOctal(b, off, len);
  }

  /**
   * strtol(field, 8) with mkfs's validity rule: the field must hold digits (optionally after
   * blanks and a sign) ended by NUL, a space or the field end; {@code null} if not.
   */
  static Long parseOctal(byte[] b, int off, int len) {
    int end = off + len;
    int i = off;
    while (i < end && Bytes.isSpace(b[i])) {
      i++;
    }
    boolean negative = false;
    if (i < end && (b[i] == '+' || b[i] == '-')) {
      negative = b[i] == '-';
      i++;
    }
    int digitsStart = i;
    long value = 0;
    while (i < end && b[i] >= '0' && b[i] <= '7') {
      value = (value << 3) | (b[i] - '0');
      i++;
    }
    int stop = i == digitsStart ? off : i; // strtol leaves endp at the start when nothing parsed
    byte at = stop < end ? b[stop] : 0;
    if ((at == 0 && stop == off) || (at != 0 && at != ' ')) {
      return null;
    }
    return negative ? -value : value;
  }

  private static String describe(byte typeflag) {
    return typeflag >= 0x21 && typeflag < 0x7F
        ? "'" + (char) typeflag + "'"
        : String.format("0x%02x", typeflag & 0xFF);
  }
}

package dev.erofspipeline.convert.tar;

import dev.erofspipeline.convert.InvalidLayerException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Values collected from PAX extended headers ({@code x} for one member, {@code g} for all later
 * ones) and GNU long name/link records, with the keys mkfs.erofs honours. A {@code null} field
 * means "not set", so the ustar header value applies.
 */
final class PaxHeader {
  private static final byte[] SCHILY_XATTR = Bytes.ascii("SCHILY.xattr.");
  private static final byte[] LIBARCHIVE_XATTR = Bytes.ascii("LIBARCHIVE.xattr.");
  private static final byte[] GNU_SPARSE = Bytes.ascii("GNU.sparse.");

  byte[] path;
  byte[] link;
  Long mtime;
  int mtimeNsec;
  Long size;
  Long uid;
  Long gid;
  /** In record order; a repeated name replaces the value in place (mkfs keeps the first slot). */
  final List<Xattr> xattrs = new ArrayList<>();

  /** What a member starts with: mkfs copies the global header's scalars, but not its xattrs. */
  PaxHeader copyForMember() {
    PaxHeader copy = new PaxHeader();
    copy.path = path;
    copy.link = link;
    copy.mtime = mtime;
    copy.mtimeNsec = mtimeNsec;
    copy.size = size;
    copy.uid = uid;
    copy.gid = gid;
    return copy;
  }

  /** Adds the global xattrs whose names this member did not set itself. */
  void mergeGlobalXattrs(PaxHeader global) {
    for (Xattr x : global.xattrs) {
      if (xattrIndex(x.name()) < 0) {
        xattrs.add(x);
      }
    }
  }

  /**
   * Parses the records {@code "LEN KEY=VALUE\n"} of one extended header into this state.
   *
   * @param where names the header in error messages
   */
  void parse(byte[] buf, String where) throws InvalidLayerException {
    int p = 0;
    while (p < buf.length) {
      int q = p;
      while (q < buf.length && Bytes.isSpace(buf[q])) {
        q++;
      }
      long len = 0;
      int digits = 0;
      while (q < buf.length && buf[q] >= '0' && buf[q] <= '9' && digits < 10) {
        len = len * 10 + (buf[q++] - '0');
        digits++;
      }
      while (q < buf.length && Bytes.isSpace(buf[q])) {
        q++;
      }
      int n = q - p;
      if (digits == 0 || len <= n || len > buf.length - p) {
        throw bad(where, "malformed record length at byte " + p);
      }
      int recordEnd = p + (int) len;
      if (buf[recordEnd - 1] != '\n') {
        throw bad(where, "record at byte " + p + " does not end with a newline");
      }
      int kv = p + n;
      int eq = Bytes.indexOf(buf, (byte) '=', kv, recordEnd - 1);
      if (eq < 0) {
        throw bad(where, "record at byte " + p + " has no '='");
      }
      byte[] key = Arrays.copyOfRange(buf, kv, eq);
      byte[] value = Arrays.copyOfRange(buf, eq + 1, recordEnd - 1);
      apply(key, value, where);
      p = recordEnd;
    }
  }

  private void apply(byte[] key, byte[] value, String where) throws InvalidLayerException {
    String k = new String(key, StandardCharsets.ISO_8859_1);
    // mkfs copies these with strdup(), so a value ends at its first NUL; an empty one is unset.
    byte[] text = Bytes.upToNul(value);
    switch (k) {
      case "path" -> path = text.length == 0 ? null : Bytes.stripTrailingSlashes(text);
      case "linkpath" -> link = text.length == 0 ? null : text;
      case "mtime" -> {
        if (text.length == 0) {
          mtime = null;
        } else {
          parseMtime(text, where);
        }
      }
      case "size" -> size = text.length == 0 ? null : parseDecimal(text, where, k);
      case "uid" -> uid = text.length == 0 ? null : parseDecimal(text, where, k) & 0xFFFFFFFFL;
      case "gid" -> gid = text.length == 0 ? null : parseDecimal(text, where, k) & 0xFFFFFFFFL;
      default -> {
        if (Bytes.startsWith(key, SCHILY_XATTR)) {
          putXattr(Arrays.copyOfRange(key, SCHILY_XATTR.length, key.length), value, where);
        } else if (Bytes.startsWith(key, LIBARCHIVE_XATTR)) {
          byte[] name = Arrays.copyOfRange(key, LIBARCHIVE_XATTR.length, key.length);
          if (Bytes.indexOf(name, (byte) '%', 0, name.length) >= 0) {
            // libarchive URL-encodes unusual names; mkfs stores them undecoded. Refuse rather than guess.
            throw new InvalidLayerException(
                "tar.xattr", where + ": URL-encoded LIBARCHIVE.xattr name " + k + " is not supported");
          }
          putXattr(name, decodeBase64(value, where, k), where);
        } else if (Bytes.startsWith(key, GNU_SPARSE)) {
          throw new InvalidLayerException(
              "tar.sparse", where + ": PAX sparse file record " + k + " (mkfs.erofs does not understand it)");
        }
        // Any other key (atime, ctime, uname, SCHILY.acl.*, comment, ...) is ignored, as mkfs does.
      }
    }
  }

  private void putXattr(byte[] name, byte[] value, String where) throws InvalidLayerException {
    if (name.length == 0 || Bytes.indexOf(name, (byte) 0, 0, name.length) >= 0) {
      throw new InvalidLayerException("tar.xattr", where + ": empty or NUL-containing xattr name");
    }
    int i = xattrIndex(name);
    if (i >= 0) {
      xattrs.set(i, new Xattr(name, value));
    } else {
      xattrs.add(new Xattr(name, value));
    }
  }

  private int xattrIndex(byte[] name) {
    for (int i = 0; i < xattrs.size(); i++) {
      if (Arrays.equals(xattrs.get(i).name(), name)) {
        return i;
      }
    }
    return -1;
  }

  /** {@code SEC[.FRACTION]}; a negative time borrows a second: -5.25 is -6 s + 750000000 ns. */
  private void parseMtime(byte[] v, String where) throws InvalidLayerException {
    int i = 0;
    while (i < v.length && Bytes.isSpace(v[i])) {
      i++;
    }
    boolean negative = i < v.length && v[i] == '-';
    int start = i;
    if (i < v.length && (v[i] == '-' || v[i] == '+')) {
      i++;
    }
    int digitsStart = i;
    while (i < v.length && v[i] >= '0' && v[i] <= '9') {
      i++;
    }
    if (i == digitsStart || i - digitsStart > 18) {
      throw bad(where, "malformed mtime");
    }
    long sec = Long.parseLong(new String(v, start, i - start, StandardCharsets.US_ASCII));
    while (i < v.length && Bytes.isSpace(v[i])) {
      i++;
    }
    int nsec = 0;
    if (i < v.length && v[i] == '.') {
      i++;
      int fracStart = i;
      while (i < v.length && v[i] >= '0' && v[i] <= '9') {
        if (i - fracStart < 9) {
          nsec = nsec * 10 + (v[i] - '0');
        }
        i++;
      }
      if (i == fracStart) {
        throw bad(where, "malformed mtime fraction");
      }
      for (int d = i - fracStart; d < 9; d++) {
        nsec *= 10;
      }
      if (negative && nsec > 0) {
        sec -= 1;
        nsec = 1_000_000_000 - nsec;
      }
    }
    mtime = sec;
    mtimeNsec = nsec;
  }

  /** sscanf("%lld %n") followed by a check that nothing else follows, as mkfs parses size/uid/gid. */
  private static long parseDecimal(byte[] v, String where, String key) throws InvalidLayerException {
    int i = 0;
    while (i < v.length && Bytes.isSpace(v[i])) {
      i++;
    }
    int start = i;
    if (i < v.length && (v[i] == '-' || v[i] == '+')) {
      i++;
    }
    int digitsStart = i;
    while (i < v.length && v[i] >= '0' && v[i] <= '9') {
      i++;
    }
    int end = i;
    while (i < v.length && Bytes.isSpace(v[i])) {
      i++;
    }
    if (end == digitsStart || end - digitsStart > 18 || i != v.length) {
      throw bad(where, "malformed " + key + " value");
    }
    long value = Long.parseLong(new String(v, start, end - start, StandardCharsets.US_ASCII));
    if (value < 0) {
      throw bad(where, "negative " + key + " value");
    }
    return value;
  }

  private static byte[] decodeBase64(byte[] src, String where, String key) throws InvalidLayerException {
    int len = src.length;
    if (len % 4 == 0 && len >= 2) {
      if (src[len - 2] == '=' && src[len - 1] == '=') {
        len -= 2;
      } else if (src[len - 1] == '=') {
        len -= 1;
      }
    }
    byte[] out = new byte[len * 3 / 4 + 1];
    int n = 0;
    int bits = 0;
    int acc = 0;
    for (int i = 0; i < len; i++) {
      int c = base64Digit(src[i]);
      if (c < 0) {
        throw bad(where, "invalid base64 in " + key);
      }
      // Little-endian bit packing, exactly as mkfs's decoder does it.
      acc += c << bits;
      bits += 6;
      if (bits >= 8) {
        out[n++] = (byte) acc;
        acc >>>= 8;
        bits -= 8;
      }
    }
    if (acc != 0) {
      throw bad(where, "invalid base64 padding bits in " + key);
    }
    return Arrays.copyOf(out, n);
  }

  private static int base64Digit(byte b) {
    if (b >= 'A' && b <= 'Z') {
      return b - 'A';
    } else if (b >= 'a' && b <= 'z') {
      return b - 'a' + 26;
    } else if (b >= '0' && b <= '9') {
      return b - '0' + 52;
    } else if (b == '+') {
      return 62;
    } else if (b == '/') {
      return 63;
    }
    return -1;
  }

  private static InvalidLayerException bad(String where, String what) {
    return new InvalidLayerException("tar.pax", where + ": " + what);
  }
}

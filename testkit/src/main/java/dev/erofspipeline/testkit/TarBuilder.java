package dev.erofspipeline.testkit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Consumer;

/** Builds small ustar archives byte by byte, including malformed ones, for tests. */
public final class TarBuilder {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  public TarBuilder dir(String path) {
    return member('5', path, 0, "", h -> {});
  }

  public TarBuilder file(String path, byte[] data) {
    member('0', path, data.length, "", h -> {});
    return data(data);
  }

  public TarBuilder symlink(String path, String target) {
    return member('2', path, 0, target, h -> {});
  }

  public TarBuilder hardlink(String path, String target) {
    return member('1', path, 0, target, h -> {});
  }

  /** A PAX extended header ({@code x} or {@code g}) holding {@code key=value} records. */
  public TarBuilder pax(char type, String... records) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (String r : records) {
      byte[] kv = r.getBytes(StandardCharsets.UTF_8);
      int len = kv.length + 3;
      while (Integer.toString(len).length() + 2 + kv.length != len) {
        len++;
      }
      body.writeBytes((len + " " + r + "\n").getBytes(StandardCharsets.UTF_8));
    }
    byte[] data = body.toByteArray();
    member(type, "PaxHeader", data.length, "", h -> {});
    return data(data);
  }

  /** A header whose fields can be adjusted by {@code tweak} before the checksum is computed. */
  public TarBuilder member(char typeflag, String path, long size, String link, Consumer<byte[]> tweak) {
    out.writeBytes(header(typeflag, path, size, link, tweak));
    return this;
  }

  /** Data bytes followed by zero padding to the next 512-byte boundary. */
  public TarBuilder data(byte[] data) {
    out.writeBytes(data);
    out.writeBytes(new byte[(512 - data.length % 512) % 512]);
    return this;
  }

  public TarBuilder raw(byte[] bytes) {
    out.writeBytes(bytes);
    return this;
  }

  /** The two all-zero end-of-archive blocks. */
  public TarBuilder end() {
    return raw(new byte[1024]);
  }

  public byte[] bytes() {
    return out.toByteArray();
  }

  public static byte[] header(char typeflag, String path, long size, String link, Consumer<byte[]> tweak) {
    byte[] h = new byte[512];
    put(h, 0, path.getBytes(StandardCharsets.UTF_8), 100);
    put(h, 100, octal(typeflag == '5' ? 0755 : 0644, 8), 8);
    put(h, 108, octal(0, 8), 8);
    put(h, 116, octal(0, 8), 8);
    put(h, 124, octal(size, 12), 12);
    put(h, 136, octal(1_700_000_000L, 12), 12);
    h[156] = (byte) typeflag;
    put(h, 157, link.getBytes(StandardCharsets.UTF_8), 100);
    put(h, 257, "ustar\0".getBytes(StandardCharsets.US_ASCII), 6);
    put(h, 263, "00".getBytes(StandardCharsets.US_ASCII), 2);
    put(h, 329, octal(0, 8), 8);
    put(h, 337, octal(0, 8), 8);
    tweak.accept(h);
    setChecksum(h);
    return h;
  }

  public static void setChecksum(byte[] h) {
    Arrays.fill(h, 148, 156, (byte) ' ');
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xFF;
    }
    put(h, 148, String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII), 8);
  }

  /** Zero-padded octal of {@code width - 1} digits and a NUL. */
  public static byte[] octal(long v, int width) {
    return (String.format("%0" + (width - 1) + "o", v) + "\0").getBytes(StandardCharsets.US_ASCII);
  }

  private static void put(byte[] h, int off, byte[] v, int max) {
    if (v.length > max) {
      throw new IllegalArgumentException("field too long");
    }
    System.arraycopy(v, 0, h, off, v.length);
  }
}

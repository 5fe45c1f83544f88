package dev.erofspipeline.convert.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.testkit.TarBuilder;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Inputs on which mkfs.erofs fails or misbehaves, and the limits: each has its own reason. */
class TarIndexWriterRejectionTest {
  private static final UUID U = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");
  private static final byte[] HELLO = "hello".getBytes(StandardCharsets.US_ASCII);

  private static InvalidLayerException rejected(byte[] tar, ConversionLimits limits, String reason,
      String... messageParts) {
    InvalidLayerException e = assertThrows(InvalidLayerException.class,
        () -> TarIndexWriter.write(new ByteArrayInputStream(tar), U, limits));
    assertEquals(reason, e.reason(), e.getMessage());
    for (String part : messageParts) {
      assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' lacks '" + part + "'");
    }
    return e;
  }

  private static InvalidLayerException rejected(byte[] tar, String reason, String... messageParts) {
    return rejected(tar, ConversionLimits.DEFAULT, reason, messageParts);
  }

  @Test
  void badChecksum() {
    byte[] tar = new TarBuilder().dir("a").file("a/f", HELLO).end().bytes();
    tar[512 + 148] = '7'; // second header's stored checksum no longer matches
    rejected(tar, "tar.checksum", "tar offset 512");
  }

  @Test
  void unparsableChecksumOfANonEmptyBlock() {
    byte[] tar = new TarBuilder().dir("a").end().bytes();
    Arrays.fill(tar, 148, 156, (byte) 0);
    rejected(tar, "tar.checksum", "tar offset 0");
  }

  @Test
  void endOfFileInsideAHeader() {
    byte[] full = new TarBuilder().dir("a").dir("b").bytes();
    rejected(Arrays.copyOf(full, 512 + 100), "tar.truncated", "tar offset 512");
  }

  @Test
  void endOfFileInsideFileData() {
    byte[] tar = new TarBuilder().member('0', "f", 1000, "", h -> {}).raw(new byte[600]).bytes();
    rejected(tar, "tar.truncated", "tar offset 0");
  }

  @Test
  void endOfFileAfterAnExtensionHeader() {
    byte[] tar = new TarBuilder().pax('x', "path=long/name").bytes();
    rejected(tar, "tar.truncated", "tar offset 1024");
  }

  @Test
  void gnuSparseMember() {
    byte[] tar = new TarBuilder().member('S', "sparse", 0, "", h -> {}).end().bytes();
    rejected(tar, "tar.sparse", "tar offset 0");
  }

  @Test
  void paxSparseMember() {
    byte[] tar = new TarBuilder().pax('x', "GNU.sparse.major=1", "GNU.sparse.minor=0")
        .file("GNUSparseFile.0/f", HELLO).end().bytes();
    rejected(tar, "tar.sparse", "GNU.sparse.major");
  }

  @Test
  void hardLinkToAMissingPath() {
    byte[] tar = new TarBuilder().file("a", HELLO).hardlink("b", "nothere").end().bytes();
    rejected(tar, "tar.hardlink.missing", "hard link b", "nothere", "tar offset 1024");
  }

  @Test
  void hardLinkToADirectory() {
    byte[] tar = new TarBuilder().dir("d").hardlink("l", "d").end().bytes();
    rejected(tar, "tar.hardlink.directory", "hard link l", "targets a directory: d");
  }

  @Test
  void hardLinkToTheRoot() {
    byte[] tar = new TarBuilder().hardlink("l", "./").end().bytes();
    rejected(tar, "tar.hardlink.directory", "hard link l");
  }

  @Test
  void hardLinkToAFileItsOwnEntryRemoves() {
    byte[] tar = new TarBuilder().file("d/f", HELLO).hardlink("d", "d/f").end().bytes();
    rejected(tar, "tar.hardlink.missing", "hard link d", "which it replaces");
  }

  @Test
  void componentLongerThan255Bytes() {
    String name = "n".repeat(256);
    byte[] tar = new TarBuilder().pax('x', "path=dir/" + name).file("ignored", HELLO).end().bytes();
    rejected(tar, "tar.name.too-long", "256-byte component", "tar offset 1024");
  }

  @Test
  void pathThroughARegularFile() {
    byte[] tar = new TarBuilder().file("a", HELLO).file("a/b", HELLO).end().bytes();
    rejected(tar, "tar.path.through-nondirectory", "a/b", "tar offset 1024");
  }

  @Test
  void symlinkWithData() {
    byte[] tar = new TarBuilder().member('2', "l", 10, "target", h -> {}).data(new byte[10]).end().bytes();
    rejected(tar, "tar.nonregular.data", "non-regular member l", "tar offset 0", "10 data bytes");
  }

  @Test
  void directoryWithData() {
    byte[] tar = new TarBuilder().member('5', "d", 512, "", h -> {}).raw(new byte[512]).end().bytes();
    rejected(tar, "tar.nonregular.data", "non-regular member d");
  }

  @Test
  void whiteoutWithData() {
    byte[] tar = new TarBuilder().file("d/.wh.x", HELLO).end().bytes();
    rejected(tar, "tar.nonregular.data", "whiteout d/.wh.x");
  }

  @Test
  void oldStyleRegularFileTypeflag() {
    byte[] tar = new TarBuilder().member('\0', "f", 5, "", h -> {}).data(HELLO).end().bytes();
    rejected(tar, "tar.typeflag.unsupported", "0x00", "tar offset 0");
  }

  @Test
  void unknownTypeflag() {
    byte[] tar = new TarBuilder().member('D', "dumpdir", 0, "", h -> {}).end().bytes();
    rejected(tar, "tar.typeflag.unsupported", "'D'");
  }

  @Test
  void opaqueMarkerAtTheRoot() {
    byte[] tar = new TarBuilder().file("./.wh..wh..opq", new byte[0]).end().bytes();
    rejected(tar, "tar.opaque.root", ".wh..wh..opq", "tar offset 0");
  }

  @Test
  void rootEntryThatIsNotADirectory() {
    byte[] tar = new TarBuilder().file("./", new byte[0]).end().bytes();
    rejected(tar, "tar.root.not-directory", "tar offset 0");
  }

  @Test
  void whiteoutThatIsADirectory() {
    byte[] tar = new TarBuilder().dir("x").dir(".wh.x").end().bytes();
    rejected(tar, "tar.whiteout.type", ".wh.x");
  }

  @Test
  void symlinkWithEmptyTarget() {
    byte[] tar = new TarBuilder().symlink("l", "").end().bytes();
    rejected(tar, "tar.symlink.empty", "symlink l");
  }

  @Test
  void v7HeaderWithoutMagic() {
    byte[] tar = new TarBuilder().member('0', "f", 0, "", h -> Arrays.fill(h, 257, 265, (byte) 0))
        .end().bytes();
    rejected(tar, "tar.magic", "tar offset 0");
  }

  @Test
  void malformedPaxRecord() {
    byte[] body = "99 path=x\n".getBytes(StandardCharsets.US_ASCII);
    byte[] tar = new TarBuilder().member('x', "PaxHeader", body.length, "", h -> {}).data(body)
        .file("f", HELLO).end().bytes();
    rejected(tar, "tar.pax", "PAX header at tar offset 0");
  }

  @Test
  void globalPathWouldNameEveryMember() {
    byte[] tar = new TarBuilder().pax('g', "path=same").file("a", HELLO).end().bytes();
    rejected(tar, "tar.pax.global", "tar offset 0");
  }

  @Test
  void tooManyEntries() {
    byte[] tar = new TarBuilder().dir("a").dir("b").dir("c").end().bytes();
    rejected(tar, new ConversionLimits(2, 1024, 1L << 30, 1 << 20), "limit.entries", "more than 2", "tar offset 1024");
  }

  @Test
  void tooDeep() {
    byte[] tar = new TarBuilder().file("a/b/c/d", HELLO).end().bytes();
    rejected(tar, new ConversionLimits(100, 3, 1L << 30, 1 << 20), "limit.depth", "a/b/c/d", "3 components");
  }

  @Test
  void extensionRecordOverTheLimit() {
    byte[] tar = new TarBuilder().pax('x', "path=" + "p".repeat(600)).file("f", HELLO).end().bytes();
    rejected(tar, new ConversionLimits(100, 1024, 1L << 30, 512), "limit.extension-record", "tar offset 0");
  }

  @Test
  void hugeExtensionRecordSizeDoesNotAllocate() {
    // size field in GNU base-256: 10^12 bytes of "PAX data" that are not there
    byte[] tar = new TarBuilder().member('x', "PaxHeader", 0, "", h -> {
      Arrays.fill(h, 124, 136, (byte) 0);
      h[124] = (byte) 0x80;
      long size = 1_000_000_000_000L;
      for (int i = 0; i < 8; i++) {
        h[135 - i] = (byte) (size >>> (8 * i));
      }
    }).end().bytes();
    rejected(tar, "limit.extension-record", "1000000000000 bytes");
  }

  @Test
  void hugePaxFileSizeIsNeitherAllocatedNorTrusted() {
    byte[] tar = new TarBuilder().pax('x', "size=1000000000000").member('0', "f", 0, "", h -> {})
        .end().bytes();
    rejected(tar, "limit.uncompressed-bytes", "tar offset 1024");
    rejected(tar, new ConversionLimits(100, 1024, Long.MAX_VALUE, 1 << 20), "tar.truncated", "tar offset 1024");
  }
}

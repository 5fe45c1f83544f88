package dev.erofspipeline.convert.tar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.testkit.TarBuilder;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How tar members become the tree: mkfs.erofs 1.9.3 semantics, quirks included (spec 9-11). */
class FileTreeTest {
  private static final byte[] DATA = "data".getBytes(StandardCharsets.US_ASCII);

  private static FileTree read(byte[] tar) throws Exception {
    return FileTree.read(new ByteArrayInputStream(tar), ConversionLimits.DEFAULT);
  }

  private static Inode at(Inode dir, String path) {
    Inode cur = dir;
    for (String name : path.split("/")) {
      Inode next = null;
      for (Dentry d : cur.children()) {
        if (new String(d.name(), StandardCharsets.UTF_8).equals(name)) {
          next = d.inode();
        }
      }
      if (next == null) {
        return null;
      }
      cur = next;
    }
    return cur;
  }

  private static List<String> xattrNames(Inode inode) {
    return inode.xattrs().stream().map(x -> new String(x.name(), StandardCharsets.UTF_8)).toList();
  }

  @Test
  void signedChecksumIsAccepted() throws Exception {
    byte[] h = TarBuilder.header('0', "caf\u00e9", 0, "", x -> {});
    int signed = 0;
    java.util.Arrays.fill(h, 148, 156, (byte) ' ');
    for (byte b : h) {
      signed += b; // bytes >= 0x80 count negative
    }
    System.arraycopy(String.format("%06o\0 ", signed).getBytes(StandardCharsets.US_ASCII), 0, h, 148, 8);
    FileTree tree = read(new TarBuilder().raw(h).end().bytes());
    assertTrue(at(tree.root(), "caf\u00e9").isRegular());
  }

  @Test
  void base256NumbersAndNegativeTimes() throws Exception {
    byte[] tar = new TarBuilder().member('0', "f", 0, "", h -> {
      java.util.Arrays.fill(h, 108, 116, (byte) 0);
      h[108] = (byte) 0x80;
      h[113] = 0x01; // uid 0x10000
      h[114] = 0x00;
      h[115] = 0x00;
      java.util.Arrays.fill(h, 136, 148, (byte) 0xFF); // mtime -1 (0xFF: two's complement)
    }).end().bytes();
    Inode f = at(read(tar).root(), "f");
    assertEquals(0x10000, f.uid());
    assertEquals(-1, f.mtime());
  }

  @Test
  void paxFractionalMtimes() throws Exception {
    byte[] tar = new TarBuilder()
        .pax('x', "mtime=-5.25").file("neg", DATA)
        .pax('x', "mtime=1700000000.123456789").file("pos", DATA).end().bytes();
    Inode root = read(tar).root();
    assertEquals(-6, at(root, "neg").mtime());
    assertEquals(750_000_000, at(root, "neg").mtimeNsec());
    assertEquals(1_700_000_000L, at(root, "pos").mtime());
    assertEquals(123_456_789, at(root, "pos").mtimeNsec());
  }

  @Test
  void gnuLongNameKeepsItsTrailingSlash() throws Exception {
    byte[] name = "x/".getBytes(StandardCharsets.US_ASCII);
    byte[] tar = new TarBuilder().member('L', "././@LongLink", name.length, "", h -> {}).data(name)
        .file("ignored-name", DATA).end().bytes();
    // "x/" walks through (and creates) directory x, which the regular file then replaces
    Inode x = at(read(tar).root(), "x");
    assertTrue(x.isRegular());
    assertEquals(DATA.length, x.size());
  }

  @Test
  void prefixAndNameAreJoinedWithOneSlash() throws Exception {
    byte[] tar = new TarBuilder().member('0', "name", 0, "", h -> {
      System.arraycopy("pre/fix/".getBytes(StandardCharsets.US_ASCII), 0, h, 345, 8);
    }).end().bytes();
    assertTrue(at(read(tar).root(), "pre/fix/name").isRegular());
  }

  @Test
  void globalPaxXattrsApplyFromTheNextMemberButScalarsOneMemberLater() throws Exception {
    byte[] tar = new TarBuilder()
        .pax('g', "SCHILY.xattr.user.g=1", "uid=4242")
        .file("first", DATA)
        .file("second", DATA)
        .pax('x', "SCHILY.xattr.user.g=own").file("third", DATA).end().bytes();
    Inode root = read(tar).root();
    assertEquals(List.of("user.g"), xattrNames(at(root, "first")));
    assertEquals(0, at(root, "first").uid());
    assertEquals(4242, at(root, "second").uid());
    assertEquals("own", new String(at(root, "third").xattrs().get(0).value(), StandardCharsets.US_ASCII));
  }

  @Test
  void implicitDirectoriesCopyTheirParent() throws Exception {
    byte[] tar = new TarBuilder().member('5', "./", 0, "", h -> {
      System.arraycopy(TarBuilder.octal(0775, 8), 0, h, 100, 8);
      System.arraycopy(TarBuilder.octal(7, 8), 0, h, 108, 8);
    }).file("a/b/f", DATA).end().bytes();
    Inode b = at(read(tar).root(), "a/b");
    assertEquals(Inode.S_IFDIR | 0775, b.mode()); // 0755 | (parent & 022)
    assertEquals(7, b.uid());
    assertEquals(1_700_000_000L, b.mtime());
  }

  @Test
  void implicitRootIsWorldWritableAndOwnedByRoot() throws Exception {
    Inode root = read(new TarBuilder().file("f", DATA).end().bytes()).root();
    assertEquals(Inode.S_IFDIR | 0777, root.mode());
    assertEquals(0, root.uid());
    assertEquals(0, root.mtime());
  }

  @Test
  void directoryListedAgainKeepsChildrenAndAppendsXattrs() throws Exception {
    byte[] tar = new TarBuilder()
        .pax('x', "SCHILY.xattr.user.a=1").dir("d")
        .file("d/f", DATA)
        .pax('x', "SCHILY.xattr.user.a=1").dir("d").end().bytes();
    Inode d = at(read(tar).root(), "d");
    assertTrue(at(d, "f").isRegular());
    assertEquals(List.of("user.a", "user.a"), xattrNames(d));
  }

  @Test
  void replacingADirectoryDropsItsSubtreeAndItsLinks() throws Exception {
    byte[] tar = new TarBuilder().file("f", DATA).hardlink("d/link", "f").file("d", DATA).end().bytes();
    Inode root = read(tar).root();
    assertTrue(at(root, "d").isRegular());
    assertEquals(1, at(root, "f").linkCount());
  }

  @Test
  void hardLinksShareTheInode() throws Exception {
    byte[] tar = new TarBuilder().file("a", DATA).hardlink("b", "a").hardlink("c", "./a")
        .hardlink("a", "a").end().bytes();
    Inode root = read(tar).root();
    assertSame(at(root, "a"), at(root, "b"));
    assertSame(at(root, "a"), at(root, "c"));
    assertEquals(3, at(root, "a").linkCount());
  }

  @Test
  void aufsWhiteoutsAndOpaqueDirectories() throws Exception {
    byte[] tar = new TarBuilder().dir("d").file("d/.wh.gone", new byte[0])
        .file("d/.wh..wh..opq", new byte[0]).end().bytes();
    Inode d = at(read(tar).root(), "d");
    Inode gone = at(d, "gone");
    assertEquals(Inode.S_IFCHR, gone.mode());
    assertEquals(0, gone.devMajor());
    assertTrue(d.hasWhiteouts());
    assertEquals(List.of("trusted.overlay.opaque"), xattrNames(d));
    assertNull(at(d, ".wh..wh..opq"));
  }

  @Test
  void whiteoutReplacingAHardLinkMarksTheLinkTargetsDirectory() throws Exception {
    // spec 11.6: the replacement inherits the replaced inode's parse-time parent
    byte[] tar = new TarBuilder().file("a/f", DATA).dir("b").hardlink("b/g", "a/f")
        .file("b/.wh.g", new byte[0]).end().bytes();
    Inode root = read(tar).root();
    assertTrue(at(root, "a").hasWhiteouts());
    assertFalse(at(root, "b").hasWhiteouts());
    assertEquals(Inode.S_IFCHR, at(root, "b/g").mode());
  }

  @Test
  void dotDotFollowsTheParseTimeParent() throws Exception {
    byte[] tar = new TarBuilder().file("a/b/../c", DATA).end().bytes();
    assertTrue(at(read(tar).root(), "a/c").isRegular());
  }

  @Test
  void tarBytesUsedAndVolumeLabel() throws Exception {
    byte[] tar = new TarBuilder().member('V', "my-volume-label-is-long", 0, "", h -> {}).dir("d").end()
        .raw(new byte[512]).bytes();
    FileTree tree = read(tar);
    assertEquals("my-volume-label-", new String(tree.volumeLabel(), StandardCharsets.US_ASCII));
    assertEquals(512 * 4, tree.tarBytesUsed());
  }
}

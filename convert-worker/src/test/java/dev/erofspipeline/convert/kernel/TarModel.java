package dev.erofspipeline.convert.kernel;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a mounted {@code mkfs.erofs --tar=i --aufs -T0 --mkfs-time} image of a tar should show,
 * computed from the tar by a reader of its own (independent of the converter's tar parser): the
 * tree-building rules of {@code spec/erofs-tar-index.md} sections 7, 9, 10 and 11 (implicit
 * directories, later duplicates win, a directory updated in place, hard links, aufs whiteouts and
 * opaque markers, compact inodes losing their nanoseconds).
 */
final class TarModel {

  static final class Node {
    char type; // d f l c b p
    int perm; // 12 bits
    long uid;
    long gid;
    long mtime;
    int nsec;
    int dataOffset;
    long size;
    byte[] link;
    long major;
    long minor;
    final List<Map.Entry<String, byte[]>> xattrs = new ArrayList<>();
    LinkedHashMap<String, Node> children;
    Node parent;
    boolean whiteoutParent;

    boolean isDir() {
      return type == 'd';
    }
  }

  /** One expected path of the mounted tree. */
  record Expected(
      String path,
      char type,
      int perm,
      long uid,
      long gid,
      long mtime,
      int nsec,
      long size,
      int dataOffset,
      byte[] link,
      long major,
      long minor,
      int nlink,
      Map<String, byte[]> xattrs,
      Node node) {}

  final byte[] tar;
  final Node root = new Node();

  private TarModel(byte[] tar) {
    this.tar = tar;
    root.type = 'd';
    root.perm = 0777;
    root.children = new LinkedHashMap<>();
    root.parent = root;
  }

  static TarModel of(byte[] tar) {
    TarModel m = new TarModel(tar);
    m.parse();
    return m;
  }

  // ------------------------------------------------------------------ raw tar reading

  private static long number(byte[] b, int off, int len) {
    int first = b[off] & 0xff;
    if ((first & 0x80) != 0) {
      // base-256, two's complement (0x80 positive, 0xff negative)
      long v = (first & 0x40) != 0 ? -1 : 0;
      v = (v << 6) | (first & 0x3f);
      for (int i = 1; i < len; i++) {
        v = (v << 8) | (b[off + i] & 0xff);
      }
      return v;
    }
    long v = 0;
    int i = off;
    int end = off + len;
    while (i < end && (b[i] == ' ' || b[i] == 0)) {
      i++;
    }
    while (i < end && b[i] >= '0' && b[i] <= '7') {
      v = v * 8 + (b[i] - '0');
      i++;
    }
    return v;
  }

  private static byte[] cstring(byte[] b, int off, int len) {
    int n = 0;
    while (n < len && b[off + n] != 0) {
      n++;
    }
    return Arrays.copyOfRange(b, off, off + n);
  }

  private static Map<String, byte[]> pax(byte[] b, int off, int len) {
    Map<String, byte[]> m = new LinkedHashMap<>();
    int p = off;
    int end = off + len;
    while (p < end) {
      int sp = p;
      while (sp < end && b[sp] != ' ') {
        sp++;
      }
      if (sp >= end) {
        break;
      }
      int reclen = Integer.parseInt(new String(b, p, sp - p, StandardCharsets.US_ASCII).trim());
      if (reclen <= 0) {
        break;
      }
      int eq = sp + 1;
      while (b[eq] != '=') {
        eq++;
      }
      String key = new String(b, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
      byte[] value = Arrays.copyOfRange(b, eq + 1, p + reclen - 1); // without the newline
      m.put(key, value);
      p += reclen;
    }
    return m;
  }

  private static String str(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private void parse() {
    int p = 0;
    int zeros = 0;
    Map<String, byte[]> paxHdr = null;
    byte[] longName = null;
    byte[] longLink = null;
    while (p + 512 <= tar.length) {
      boolean empty = true;
      for (int i = 0; i < 512; i++) {
        if (tar[p + i] != 0) {
          empty = false;
          break;
        }
      }
      if (empty) {
        if (++zeros == 2) {
          break;
        }
        p += 512;
        continue;
      }
      zeros = 0;
      char flag = (char) tar[p + 156];
      long size = number(tar, p + 124, 12);
      if (paxHdr != null && paxHdr.containsKey("size") && flag != 'x' && flag != 'g') {
        size = Long.parseLong(str(paxHdr.get("size")));
      }
      int data = p + 512;
      int next = data + (int) ((size + 511) / 512 * 512);
      switch (flag) {
        case 'x' -> {
          paxHdr = pax(tar, data, (int) size);
          p = next;
          continue;
        }
        case 'g' -> {
          p = next; // global records: gen_tars only writes a comment
          continue;
        }
        case 'L' -> {
          longName = cstring(tar, data, (int) size);
          p = next;
          continue;
        }
        case 'K' -> {
          longLink = cstring(tar, data, (int) size);
          p = next;
          continue;
        }
        default -> {}
      }
      Map<String, byte[]> px = paxHdr != null ? paxHdr : Map.of();
      String path;
      if (px.containsKey("path") && px.get("path").length > 0) {
        path = stripSlashes(str(px.get("path")));
      } else if (longName != null) {
        path = str(longName);
      } else {
        String name = str(cstring(tar, p, 100));
        String prefix = str(cstring(tar, p + 345, 155));
        boolean ustar = tar[p + 257] == 'u' && tar[p + 262] == 0; // POSIX ustar has a prefix field
        if (ustar && !prefix.isEmpty()) {
          name = prefix + (prefix.endsWith("/") ? "" : "/") + name;
        }
        path = stripSlashes(name);
      }
      byte[] link;
      if (px.containsKey("linkpath")) {
        link = px.get("linkpath");
      } else if (longLink != null) {
        link = longLink;
      } else {
        link = cstring(tar, p + 157, 100);
      }
      Node n = new Node();
      n.perm = (int) number(tar, p + 100, 8) & 07777;
      n.uid = px.containsKey("uid") ? Long.parseLong(str(px.get("uid"))) : number(tar, p + 108, 8);
      n.gid = px.containsKey("gid") ? Long.parseLong(str(px.get("gid"))) : number(tar, p + 116, 8);
      if (px.containsKey("mtime")) {
        setTime(n, str(px.get("mtime")));
      } else {
        n.mtime = number(tar, p + 136, 12);
      }
      for (Map.Entry<String, byte[]> e : px.entrySet()) {
        String k = e.getKey();
        if (k.startsWith("SCHILY.xattr.")) {
          n.xattrs.add(Map.entry(k.substring("SCHILY.xattr.".length()), e.getValue()));
        } else if (k.startsWith("LIBARCHIVE.xattr.")) {
          String name = java.net.URLDecoder.decode(k.substring("LIBARCHIVE.xattr.".length()), StandardCharsets.UTF_8);
          n.xattrs.add(Map.entry(name, Base64.getDecoder().decode(e.getValue())));
        }
      }
      n.major = number(tar, p + 329, 8);
      n.minor = number(tar, p + 337, 8);
      switch (flag) {
        case '0', '7' -> {
          n.type = 'f';
          n.size = size;
          n.dataOffset = data;
        }
        case '2' -> {
          n.type = 'l';
          n.link = link;
          n.size = link.length;
        }
        case '3' -> n.type = 'c';
        case '4' -> n.type = 'b';
        case '5' -> n.type = 'd';
        case '6' -> n.type = 'p';
        case '1' -> n.type = 'h';
        default -> n.type = 0; // skipped by mkfs
      }
      if (n.type == 'h') {
        hardLink(path, stripSlashes(str(link)));
      } else if (n.type != 0) {
        add(path, n);
      }
      paxHdr = null;
      longName = null;
      longLink = null;
      p = next;
    }
  }

  private static String stripSlashes(String s) {
    int e = s.length();
    while (e > 0 && s.charAt(e - 1) == '/') {
      e--;
    }
    return s.substring(0, e);
  }

  private static void setTime(Node n, String v) {
    java.math.BigDecimal d = new java.math.BigDecimal(v);
    java.math.BigDecimal sec = d.setScale(0, java.math.RoundingMode.FLOOR);
    n.mtime = sec.longValueExact();
    n.nsec = d.subtract(sec).movePointRight(9).setScale(0, java.math.RoundingMode.FLOOR).intValue();
  }

  // ------------------------------------------------------------------ tree building (section 11)

  private static List<String> components(String path) {
    List<String> out = new ArrayList<>();
    for (String c : path.split("/")) {
      if (!c.isEmpty()) {
        out.add(c);
      }
    }
    return out;
  }

  /** Walks to the directory holding the last component, creating missing directories. */
  private Node walkParent(List<String> comps) {
    Node d = root;
    for (int i = 0; i < comps.size() - 1; i++) {
      String c = comps.get(i);
      if (c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        d = d.parent;
        continue;
      }
      Node child = d.children.get(c);
      if (child == null) {
        child = new Node();
        child.type = 'd';
        child.perm = 0755 | (d.perm & 0022);
        child.uid = d.uid;
        child.gid = d.gid;
        child.mtime = d.mtime;
        child.nsec = d.nsec;
        child.children = new LinkedHashMap<>();
        child.parent = d;
        d.children.put(c, child);
      } else if (!child.isDir()) {
        throw new IllegalStateException("path through a non-directory: " + comps);
      }
      d = child;
    }
    return d;
  }

  private static String last(List<String> comps) {
    return comps.isEmpty() ? "." : comps.get(comps.size() - 1);
  }

  private void add(String path, Node n) {
    List<String> comps = components(path);
    while (!comps.isEmpty() && last(comps).equals(".")) {
      comps.remove(comps.size() - 1);
    }
    if (comps.isEmpty()) {
      if (!n.isDir()) {
        throw new IllegalStateException("root entry is not a directory");
      }
      update(root, n);
      return;
    }
    Node dir = walkParent(comps);
    String name = last(comps);
    if (name.equals(".wh..wh..opq")) {
      dir.xattrs.add(Map.entry("trusted.overlay.opaque", "y".getBytes(StandardCharsets.US_ASCII)));
      return;
    }
    if (name.startsWith(".wh.")) {
      name = name.substring(4);
      n.type = 'c';
      n.perm = 0;
      n.major = 0;
      n.minor = 0;
      n.size = 0;
      dir.whiteoutParent = true;
    }
    Node old = dir.children.get(name);
    if (old != null && old.isDir() && n.isDir()) {
      update(old, n);
      return;
    }
    if (n.isDir()) {
      n.children = new LinkedHashMap<>();
    }
    n.parent = dir;
    dir.children.put(name, n);
  }

  private static void update(Node d, Node n) {
    d.perm = n.perm;
    d.uid = n.uid;
    d.gid = n.gid;
    d.mtime = n.mtime;
    d.nsec = n.nsec;
    d.xattrs.addAll(n.xattrs);
  }

  private Node lookup(String path) {
    Node d = root;
    for (String c : components(path)) {
      if (c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        d = d.parent;
        continue;
      }
      d = d.isDir() ? d.children.get(c) : null;
      if (d == null) {
        throw new IllegalStateException("hard link to a missing path " + path);
      }
    }
    return d;
  }

  private void hardLink(String path, String target) {
    Node t = lookup(target);
    if (t.isDir()) {
      throw new IllegalStateException("hard link to a directory " + target);
    }
    List<String> comps = components(path);
    Node dir = walkParent(comps);
    dir.children.put(last(comps), t);
  }

  // ------------------------------------------------------------------ the expected tree

  /** Every path of the final tree (root = ""), with what the kernel should report. */
  Map<String, Expected> expected() {
    Map<Node, Integer> names = new IdentityHashMap<>();
    countNames(root, names);
    Map<String, Expected> out = new LinkedHashMap<>();
    collect("", root, names, out);
    return out;
  }

  private static void countNames(Node d, Map<Node, Integer> names) {
    for (Node c : d.children.values()) {
      names.merge(c, 1, Integer::sum);
      if (c.isDir()) {
        countNames(c, names);
      }
    }
  }

  private static final String[] PREFIXES = {"user.", "trusted.", "security."};

  private void collect(String path, Node n, Map<Node, Integer> names, Map<String, Expected> out) {
    int nlink;
    if (n.isDir()) {
      nlink = 2 + (int) n.children.entrySet().stream()
          .filter(e -> !e.getKey().equals(".") && !e.getKey().equals(".."))
          .filter(e -> e.getValue().isDir()).count();
    } else {
      nlink = names.getOrDefault(n, 1);
    }
    List<Map.Entry<String, byte[]>> xs = new ArrayList<>(n.xattrs);
    if (n.isDir() && n.whiteoutParent) {
      xs.add(Map.entry("trusted.overlay.origin", new byte[0]));
    }
    // 1.9.3 sorts by name || 0 || value; the kernel answers getxattr with the first match
    xs.sort((a, b) -> Arrays.compareUnsigned(sortKey(a), sortKey(b)));
    Map<String, byte[]> xattrs = new HashMap<>();
    for (Map.Entry<String, byte[]> e : xs) {
      String k = e.getKey();
      boolean known = k.equals("system.posix_acl_access") || k.equals("system.posix_acl_default");
      for (String p : PREFIXES) {
        known |= k.startsWith(p) && k.length() > p.length();
      }
      if (known) {
        xattrs.putIfAbsent(k, e.getValue());
      }
    }
    // a compact inode (mtime == build time 0 and small ids/size/nlink) has no nanoseconds
    boolean compact = n.mtime == 0 && n.uid <= 0xffff && n.gid <= 0xffff && n.size <= 0xffffffffL
        && (n.isDir() || nlink <= 0xffff);
    out.put(
        path,
        new Expected(path, n.type, n.perm, n.uid, n.gid, n.mtime, compact ? 0 : n.nsec, n.size,
            n.dataOffset, n.link, n.major, n.minor, nlink, xattrs, n));
    if (n.isDir()) {
      for (Map.Entry<String, Node> e : n.children.entrySet()) {
        if (e.getKey().equals(".") || e.getKey().equals("..")) {
          continue;
        }
        collect(path.isEmpty() ? e.getKey() : path + "/" + e.getKey(), e.getValue(), names, out);
      }
    }
  }

  private static byte[] sortKey(Map.Entry<String, byte[]> e) {
    byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
    byte[] out = Arrays.copyOf(k, k.length + 1 + e.getValue().length);
    System.arraycopy(e.getValue(), 0, out, k.length + 1, e.getValue().length);
    return out;
  }
}

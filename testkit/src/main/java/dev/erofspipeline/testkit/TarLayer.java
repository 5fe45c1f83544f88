package dev.erofspipeline.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * An uncompressed layer tar described entry by entry, written deterministically: entries in the order
 * given, mtime 0, uid/gid 0 and empty owner names unless set, PAX headers for long names, big numbers
 * and xattrs. Whiteouts follow the OCI layer spec ({@code .wh.<name>}, {@code .wh..wh..opq}).
 *
 * <pre>{@code
 * TarLayer layer = TarLayer.builder()
 *     .dir("etc").file("etc/hostname", "box\n")
 *     .file("bin/tool", bytes, 0755).symlink("bin/sh", "tool").hardlink("bin/tool2", "bin/tool")
 *     .whiteout("var/old").opaqueWhiteout("var/cache")
 *     .build();
 * }</pre>
 */
public final class TarLayer {

    private final List<Entry> entries;
    private byte[] tar;

    private TarLayer(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** One tar entry as described by the test. */
    public record Entry(String name, byte type, byte[] content, int mode, String linkTarget, int uid, int gid,
            int devMajor, int devMinor, Map<String, String> xattrs) {
    }

    public List<Entry> entries() {
        return entries;
    }

    /** The uncompressed tar bytes (cached); their sha256 is the layer's diffID. */
    public synchronized byte[] tar() {
        if (tar == null) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            writeTo(out);
            tar = out.toByteArray();
        }
        return tar.clone();
    }

    /** The layer's diffID, {@code sha256:} of the uncompressed tar. */
    public String diffId() {
        return Digests.sha256(tar());
    }

    /** Writes the tar (with its end-of-archive blocks) to the stream, which is not closed. */
    public void writeTo(OutputStream out) {
        try {
            TarArchiveOutputStream tos = new TarArchiveOutputStream(new NonClosing(out), StandardCharsets.UTF_8.name());
            tos.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tos.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            tos.setAddPaxHeadersForNonAsciiNames(true);
            for (Entry e : entries) {
                TarArchiveEntry te = new TarArchiveEntry(e.name(), e.type(), true);
                te.setModTime(FileTime.fromMillis(0));
                te.setUserId(e.uid());
                te.setGroupId(e.gid());
                te.setUserName("");
                te.setGroupName("");
                te.setMode(e.mode());
                if (e.linkTarget() != null) {
                    te.setLinkName(e.linkTarget());
                }
                if (e.type() == TarConstants.LF_CHR || e.type() == TarConstants.LF_BLK) {
                    te.setDevMajor(e.devMajor());
                    te.setDevMinor(e.devMinor());
                }
                for (Map.Entry<String, String> x : e.xattrs().entrySet()) {
                    te.addPaxHeader("SCHILY.xattr." + x.getKey(), x.getValue());
                }
                if (e.type() == TarConstants.LF_NORMAL) {
                    te.setSize(e.content().length);
                }
                tos.putArchiveEntry(te);
                if (e.type() == TarConstants.LF_NORMAL) {
                    tos.write(e.content());
                }
                tos.closeArchiveEntry();
            }
            tos.finish();
            tos.close();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Describes entries in order; paths are relative ("etc/passwd"), directory names without a slash. */
    public static final class Builder {
        private final List<Entry> entries = new ArrayList<>();
        private int uid;
        private int gid;

        private Builder() {
        }

        /** Owner of the entries added after this call (default 0:0). */
        public Builder owner(int uid, int gid) {
            this.uid = uid;
            this.gid = gid;
            return this;
        }

        public Builder dir(String path) {
            return dir(path, 0755);
        }

        public Builder dir(String path, int mode) {
            String p = strip(path);
            return add(new Entry(p.endsWith("/") ? p : p + "/", TarConstants.LF_DIR, null, 040000 | mode, null,
                    uid, gid, 0, 0, Map.of()));
        }

        public Builder file(String path, String utf8) {
            return file(path, utf8.getBytes(StandardCharsets.UTF_8), 0644);
        }

        public Builder file(String path, byte[] content) {
            return file(path, content, 0644);
        }

        public Builder file(String path, byte[] content, int mode) {
            return file(path, content, mode, Map.of());
        }

        /** A regular file with extended attributes (PAX {@code SCHILY.xattr.<name>} records). */
        public Builder file(String path, byte[] content, int mode, Map<String, String> xattrs) {
            return add(new Entry(strip(path), TarConstants.LF_NORMAL, content.clone(), 0100000 | mode, null, uid, gid,
                    0, 0, new LinkedHashMap<>(xattrs)));
        }

        /** A regular file of {@code size} pseudo-random bytes, the same for the same seed. */
        public Builder randomFile(String path, int size, long seed) {
            byte[] b = new byte[size];
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = 0; i < size; i++) {
                b[i] = (byte) r.nextInt(256);
            }
            return file(path, b, 0644);
        }

        public Builder symlink(String path, String target) {
            return add(new Entry(strip(path), TarConstants.LF_SYMLINK, null, 0120777, target, uid, gid, 0, 0, Map.of()));
        }

        /** A hard link to an earlier entry of this layer ({@code target} is that entry's path). */
        public Builder hardlink(String path, String target) {
            return add(new Entry(strip(path), TarConstants.LF_LINK, null, 0100644, strip(target), uid, gid, 0, 0,
                    Map.of()));
        }

        /** A character device node. */
        public Builder charDevice(String path, int major, int minor) {
            return add(new Entry(strip(path), TarConstants.LF_CHR, null, 020666, null, uid, gid, major, minor, Map.of()));
        }

        /** Deletes {@code path} of lower layers: an empty file {@code <dir>/.wh.<name>}. */
        public Builder whiteout(String path) {
            String p = strip(path);
            int slash = p.lastIndexOf('/');
            String name = slash < 0 ? ".wh." + p : p.substring(0, slash + 1) + ".wh." + p.substring(slash + 1);
            return file(name, new byte[0], 0644);
        }

        /** Hides everything lower layers have in directory {@code dir}: {@code <dir>/.wh..wh..opq}. */
        public Builder opaqueWhiteout(String dir) {
            return file(strip(dir) + "/.wh..wh..opq", new byte[0], 0644);
        }

        /** Any entry, for what the helpers above do not cover. */
        public Builder entry(Entry e) {
            return add(Objects.requireNonNull(e));
        }

        public TarLayer build() {
            return new TarLayer(entries);
        }

        private Builder add(Entry e) {
            entries.add(e);
            return this;
        }

        private static String strip(String path) {
            String p = path;
            while (p.startsWith("/")) {
                p = p.substring(1);
            }
            return p;
        }
    }

    /** Lets the tar stream finish without closing the caller's stream. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}

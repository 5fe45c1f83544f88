package dev.erofspipeline.testkit;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;

/**
 * The hostile-input corpus of issue #8: one catalog of broken and malicious layers and images, each
 * with the outcome mkfs.erofs 1.9.3 semantics call for (a refusal reason, or a defined conversion)
 * and why. Every case is generated deterministically; bombs are streams of a repeated compressed
 * chunk, so the blob stays small however much it claims to hold. {@code docs/hostile-input.md}
 * lists the same cases as a table.
 *
 * <p>Run the corpus with the limits below (as configuration: {@link #limitSettings()}): low enough that
 * every bomb trips a limit after a few megabytes.
 */
public final class HostileCorpus {

    /** The limits the corpus is run with (see ConversionLimits). */
    public static final long MAX_ENTRIES = 10_000;
    public static final int MAX_DEPTH = 64;
    public static final long MAX_UNCOMPRESSED_BYTES = 64L << 20;
    public static final int MAX_EXTENSION_RECORD_BYTES = 64 << 10;
    public static final long MAX_LAYER_BYTES = 8L << 20;

    private static final byte[] HELLO = "hello\n".getBytes(StandardCharsets.US_ASCII);

    private HostileCorpus() {
    }

    /** The limits above as configuration settings ({@code key=value}, the keys of docs/configuration.md). */
    public static List<String> limitSettings() {
        return List.of("convert.maxEntries=" + MAX_ENTRIES, "convert.maxDepth=" + MAX_DEPTH,
                "convert.maxUncompressedBytes=" + MAX_UNCOMPRESSED_BYTES,
                "convert.maxExtensionRecordBytes=" + MAX_EXTENSION_RECORD_BYTES,
                "convert.maxLayerBytes=" + MAX_LAYER_BYTES);
    }

    /**
     * One hostile layer.
     *
     * @param name stable identifier (also a registry tag)
     * @param what what the layer holds, for the table
     * @param reason the reason code it must be refused with; null when the spec defines a conversion
     * @param why why that is the outcome (spec section, or the limit)
     * @param tar the uncompressed tar of an accepted case (for comparing the converted tree); null otherwise
     * @param blob the layer blob as served
     * @param pushedBlob the blob the manifest's digest names, when it differs from what is served
     *     ({@code digest.mismatch}: the registry's copy was altered after the push); else null
     * @param wrongDiffId whether the image config (or {@code --diff-id}) names a diffID that is not the tar's
     */
    public record Case(String name, String what, String reason, String why, byte[] tar, Blob blob, Blob pushedBlob,
            boolean wrongDiffId) {

        public boolean accepted() {
            return reason == null;
        }

        /** The digest the manifest names for this layer. */
        public String layerDigest() {
            return (pushedBlob != null ? pushedBlob : blob).digest();
        }

        /** The diffID the image config (or {@code --diff-id}) names: the tar's, or a wrong one. */
        public String claimedDiffId() {
            if (wrongDiffId) {
                return Digests.sha256(("not the diffID of " + name).getBytes(StandardCharsets.UTF_8));
            }
            return tar != null ? Digests.sha256(tar) : null;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A blob: its bytes are produced on demand, so a bomb is never held in memory. */
    public static final class Blob {
        private final Supplier<InputStream> content;
        private String digest;
        private long size = -1;

        Blob(Supplier<InputStream> content) {
            this.content = content;
        }

        static Blob of(byte[] bytes) {
            return new Blob(() -> new ByteArrayInputStream(bytes));
        }

        public InputStream open() {
            return content.get();
        }

        public synchronized String digest() {
            if (digest == null) {
                try (CountingSha in = new CountingSha(open())) {
                    digest = in.digest();
                    size = in.count;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return digest;
        }

        public synchronized long size() {
            digest();
            return size;
        }

        public void writeTo(Path file) {
            try (InputStream in = open(); OutputStream out = Files.newOutputStream(file)) {
                in.transferTo(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * An image whose manifest or config is what is wrong (the layer is good).
     *
     * @param name stable identifier (also a registry tag)
     * @param what what is wrong, for the table
     * @param reason the reason code on erofs.dead-letters; null when the image is converted
     * @param stage the stage that gives up ({@code ingest}, {@code convert}) or null when accepted
     * @param tar the image's one layer (a good one, of its own: a layer converted before would be reused)
     * @param config the image config JSON
     * @param layerMediaType the media type the manifest gives the (good, gzip) layer
     * @param layerSizeDelta added to the layer's true size in the manifest
     */
    public record ImageCase(String name, String what, String reason, String stage, String why, byte[] tar,
            byte[] config, String layerMediaType, long layerSizeDelta) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The good layer every image case carries, and its compressed blob. */
    public static byte[] goodTar() {
        return new TarBuilder().dir("etc").file("etc/hostname", HELLO).end().bytes();
    }

    /** Every layer case, in the order of the table. */
    public static List<Case> layers() {
        List<Case> c = new ArrayList<>();
        byte[] small = new TarBuilder().dir("etc").file("etc/hostname", HELLO).file("etc/motd", bytes(3000, 1)).end().bytes();
        byte[] gz = Compression.GZIP.compress(small);
        byte[] zst = Compression.ZSTD.compress(small);

        // compression
        c.add(refused("gzip-truncated", "gzip stream cut in the middle", "compression.truncated",
                "the stream ends inside a gzip member", Blob.of(Arrays.copyOf(gz, gz.length / 2))));
        c.add(refused("zstd-truncated", "zstd stream cut in the middle", "compression.truncated",
                "the stream ends inside a zstd frame", Blob.of(Arrays.copyOf(zst, zst.length / 2))));
        byte[] badCrc = gz.clone();
        badCrc[badCrc.length - 6] ^= 0x55;
        c.add(refused("gzip-bad-crc", "gzip member whose CRC-32 trailer does not match", "compression.corrupt",
                "the decompressed bytes are not what was compressed", Blob.of(badCrc)));
        c.add(refused("gzip-garbage", "gzip header followed by bytes that are not deflate data", "compression.corrupt",
                "inflating fails", Blob.of(concat(Arrays.copyOf(gz, 10), bytes(4000, 2)))));
        c.add(refused("gzip-trailing-garbage", "valid gzip followed by bytes that are not a gzip member",
                "compression.corrupt", "the blob is more than its gzip members",
                Blob.of(concat(gz, "trailing junk".getBytes(StandardCharsets.US_ASCII)))));
        c.add(refused("zstd-garbage", "zstd magic followed by random bytes", "compression.corrupt",
                "not a zstd frame", Blob.of(concat(Arrays.copyOf(zst, 4), bytes(4000, 3)))));
        c.add(refused("xz-compressed", "an xz-compressed tar", "compression.unsupported",
                "only gzip and zstd layers exist in OCI", Blob.of(concat(new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0},
                        bytes(2000, 4)))));
        c.add(refused("bzip2-compressed", "a bzip2-compressed tar", "compression.unsupported",
                "only gzip and zstd layers exist in OCI", Blob.of(concat("BZh91AY&SY".getBytes(StandardCharsets.US_ASCII),
                        bytes(2000, 5)))));

        // bombs
        byte[] zeroMember = concat(TarBuilder.header('0', "zeros", 1 << 20, "", h -> { }), new byte[1 << 20]);
        c.add(refused("gzip-bomb", "gzip of 1,024 members of 1 MiB of zeros (1 GiB from about 1 MiB)",
                "limit.uncompressed-bytes", "convert.maxUncompressedBytes (each member alone is small)",
                new Blob(() -> gzipBomb(zeroMember, 1024))));
        c.add(refused("zstd-bomb", "zstd frames of 1 MiB of zeros, 1,024 times", "limit.uncompressed-bytes",
                "convert.maxUncompressedBytes", new Blob(() -> zstdBomb(zeroMember, 1024))));
        c.add(refused("huge-declared-size", "a file whose header declares 1 TiB (base-256) with no data behind it",
                "limit.uncompressed-bytes", "the declared size alone exceeds convert.maxUncompressedBytes; nothing is allocated",
                gzipBlob(new TarBuilder().member('0', "huge", 0, "", h -> base256(h, 124, 12, 1L << 40)).end().bytes())));
        c.add(refused("pax-huge-size", "PAX size=10^12 on an empty member", "limit.uncompressed-bytes",
                "as above, the PAX size is not trusted", gzipBlob(new TarBuilder().pax('x', "size=1000000000000")
                        .member('0', "f", 0, "", h -> { }).end().bytes())));
        byte[] tinyHeaders = new byte[512 * 1024];
        byte[] tiny = TarBuilder.header('0', "tiny", 0, "", h -> { });
        for (int i = 0; i < 1024; i++) {
            System.arraycopy(tiny, 0, tinyHeaders, i * 512, 512);
        }
        c.add(refused("million-entries", "1,048,576 empty files (gzip, about 500 KiB)", "limit.entries",
                "convert.maxEntries bounds the tree in memory", new Blob(() -> gzipBomb(tinyHeaders, 1024))));
        c.add(refused("deep-directories", "a path of 2,000 directories", "limit.depth", "convert.maxDepth",
                gzipBlob(new TarBuilder().pax('x', "path=" + "d/".repeat(2000) + "f").file("f", HELLO).end().bytes())));
        c.add(refused("pax-record-declared-1gib", "a PAX header declaring 1 GiB of records", "limit.extension-record",
                "convert.maxExtensionRecordBytes; checked before anything is read",
                gzipBlob(new TarBuilder().member('x', "PaxHeader", 1L << 30, "", h -> { }).raw(new byte[512]).end().bytes())));
        c.add(refused("pax-record-1mib", "a PAX comment record of 1 MiB", "limit.extension-record",
                "convert.maxExtensionRecordBytes", gzipBlob(new TarBuilder().pax('x', "comment=" + "c".repeat(1 << 20))
                        .file("f", HELLO).end().bytes())));
        c.add(refused("gnu-longname-1mib", "a GNU long name (L) record of 1 MiB", "limit.extension-record",
                "convert.maxExtensionRecordBytes", gzipBlob(new TarBuilder().member('L', "././@LongLink", 1 << 20, "", h -> { })
                        .data(bytes(1 << 20, 6)).file("f", HELLO).end().bytes())));
        c.add(refused("layer-over-size-limit", "a 9 MiB uncompressed layer blob", "limit.layer-bytes",
                "convert.maxLayerBytes counts the blob as it streams (the manifest's size is not trusted)",
                Blob.of(new TarBuilder().file("big", bytes(9 << 20, 7)).end().bytes())));

        // tar structure
        byte[] checksum = new TarBuilder().dir("a").file("a/f", HELLO).end().bytes();
        checksum[512 + 148] = '7';
        c.add(refused("bad-header-checksum", "a header whose checksum does not match", "tar.checksum",
                "spec 10: a mismatch is an error", Blob.of(checksum)));
        c.add(refused("not-a-tar", "4 KiB of random bytes", "tar.checksum", "spec 10: the first block is no header",
                Blob.of(bytes(4096, 8))));
        c.add(refused("tar-truncated-header", "end of file inside a header", "tar.truncated", "spec 10",
                Blob.of(Arrays.copyOf(new TarBuilder().dir("a").dir("b").bytes(), 612))));
        c.add(refused("tar-truncated-data", "end of file inside a file's data", "tar.truncated", "spec 10",
                Blob.of(new TarBuilder().member('0', "f", 100_000, "", h -> { }).raw(new byte[600]).bytes())));
        c.add(refused("v7-header", "a V7 header without ustar magic", "tar.magic", "spec 10: V7 tars are rejected by mkfs",
                Blob.of(new TarBuilder().member('0', "f", 0, "", h -> Arrays.fill(h, 257, 265, (byte) 0)).end().bytes())));
        byte[] badPax = "99 path=x\n".getBytes(StandardCharsets.US_ASCII);
        c.add(refused("malformed-pax", "a PAX record whose length is wrong", "tar.pax", "spec 10",
                Blob.of(new TarBuilder().member('x', "PaxHeader", badPax.length, "", h -> { }).data(badPax)
                        .file("f", HELLO).end().bytes())));
        c.add(refused("pax-global-path", "a PAX global header setting path", "tar.pax.global",
                "spec 10: mkfs would give every later member that one name",
                Blob.of(new TarBuilder().pax('g', "path=same").file("a", HELLO).file("b", HELLO).end().bytes())));

        // paths
        c.add(accepted("path-traversal", "../../etc/passwd and ./../x/../../y", "spec 11.1: '..' at the root stays at the "
                + "root: etc/passwd and y under the root, nothing outside",
                new TarBuilder().file("../../etc/passwd", HELLO).file("./../x/../../y", HELLO).end().bytes()));
        c.add(accepted("absolute-paths", "/etc/shadow and //usr//bin/", "spec 11.1: empty components are skipped",
                new TarBuilder().file("/etc/shadow", HELLO).dir("//usr//bin/").end().bytes()));
        c.add(refused("path-through-file", "a/b where a is a regular file", "tar.path.through-nondirectory",
                "spec 17: mkfs fails", Blob.of(new TarBuilder().file("a", HELLO).file("a/b", HELLO).end().bytes())));
        c.add(refused("name-over-255-bytes", "a 256-byte file name (PAX path)", "tar.name.too-long",
                "spec 17: EROFS names are at most 255 bytes; mkfs fails",
                Blob.of(new TarBuilder().pax('x', "path=dir/" + "n".repeat(256)).file("x", HELLO).end().bytes())));
        c.add(accepted("name-of-255-bytes", "a 255-byte file name", "the longest name EROFS allows",
                new TarBuilder().pax('x', "path=dir/" + "n".repeat(255)).file("x", HELLO).end().bytes()));
        c.add(accepted("non-utf8-names", "names with bytes 0xff 0xfe and Latin-1 é", "spec 17: names are raw bytes",
                new TarBuilder().member('0', "x", HELLO.length, "", h -> {
                    h[0] = (byte) 0xff;
                    h[1] = (byte) 0xfe;
                    h[2] = 'f';
                }).data(HELLO).member('5', "d", 0, "", h -> {
                    h[0] = 'd';
                    h[1] = (byte) 0xe9;
                }).end().bytes()));

        // links
        c.add(refused("hardlink-to-missing", "a hard link to a path that does not exist", "tar.hardlink.missing",
                "spec 11.5: the target must exist", Blob.of(new TarBuilder().file("a", HELLO).hardlink("b", "nothere")
                        .end().bytes())));
        c.add(refused("hardlink-to-directory", "a hard link to a directory", "tar.hardlink.directory",
                "spec 11.5", Blob.of(new TarBuilder().dir("d").hardlink("l", "d").end().bytes())));
        c.add(refused("hardlink-to-root", "a hard link to ./", "tar.hardlink.directory", "spec 11.5",
                Blob.of(new TarBuilder().hardlink("l", "./").end().bytes())));
        c.add(accepted("hardlink-to-itself", "file a, then a hard link a -> a", "spec 11.5: a no-op; a stays one file",
                new TarBuilder().file("a", HELLO).hardlink("a", "a").end().bytes()));
        c.add(refused("hardlink-to-itself-only", "a hard link a -> a with no a before it", "tar.hardlink.missing",
                "spec 11.5: the target must exist", Blob.of(new TarBuilder().hardlink("a", "a").end().bytes())));
        c.add(accepted("hardlink-to-symlink", "a hard link to a symlink", "spec 11.5: links may target symlinks",
                new TarBuilder().symlink("s", "/etc/passwd").hardlink("h", "s").end().bytes()));
        c.add(accepted("symlink-loops", "a -> b, b -> a, self -> self, up -> ../../..",
                "symlinks are stored, never followed", new TarBuilder().symlink("a", "b").symlink("b", "a")
                        .symlink("self", "self").symlink("up", "../../../../etc/shadow").end().bytes()));
        c.add(refused("symlink-empty-target", "a symlink with an empty target", "tar.symlink.empty",
                "mkfs writes an inode the kernel cannot read", Blob.of(new TarBuilder().symlink("l", "").end().bytes())));

        // duplicates
        c.add(accepted("duplicates-every-type-pair", "the same name twice for every pair of file, dir, symlink, hard link, "
                + "char device, fifo (36 names)", "spec 11.4: later wins; a directory listed twice keeps its children",
                duplicatePairs()));
        c.add(accepted("duplicate-directory-keeps-children", "d, d/f, d again with another mode",
                "spec 11.4: the directory is updated in place", new TarBuilder().dir("d").file("d/f", HELLO)
                        .member('5', "d", 0, "", h -> System.arraycopy(TarBuilder.octal(0700, 8), 0, h, 100, 8))
                        .end().bytes()));

        // member types
        c.add(refused("gnu-sparse", "a GNU sparse member (S)", "tar.sparse", "spec 10: mkfs skips it and may desynchronise",
                Blob.of(new TarBuilder().member('S', "sparse", 0, "", h -> { }).end().bytes())));
        c.add(refused("pax-sparse", "a PAX 1.0 sparse file (GNU.sparse.*)", "tar.sparse",
                "spec 10: mkfs stores the raw sparse map as a directory", Blob.of(new TarBuilder()
                        .pax('x', "GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=f", "GNU.sparse.realsize=1000")
                        .file("GNUSparseFile.0/f", HELLO).end().bytes())));
        c.add(refused("unknown-typeflag", "typeflag 'X'", "tar.typeflag.unsupported", "spec 10: mkfs drops it silently",
                Blob.of(new TarBuilder().member('X', "x", 0, "", h -> { }).end().bytes())));
        c.add(refused("nul-typeflag", "an old-style regular file (typeflag NUL)", "tar.typeflag.unsupported",
                "spec 10: mkfs drops it silently", Blob.of(new TarBuilder().member('\0', "f", HELLO.length, "", h -> { })
                        .data(HELLO).end().bytes())));
        c.add(refused("symlink-with-data", "a symlink header with 10 data bytes", "tar.nonregular.data",
                "spec 10: mkfs would read the data as headers", Blob.of(new TarBuilder().member('2', "l", 10, "t", h -> { })
                        .data(new byte[10]).end().bytes())));

        // whiteouts
        c.add(refused("opaque-at-root", "./.wh..wh..opq", "tar.opaque.root", "spec 7: mkfs fails with ENOTDIR",
                Blob.of(new TarBuilder().file("./.wh..wh..opq", new byte[0]).end().bytes())));
        c.add(refused("whiteout-directory", "a directory named .wh.x", "tar.whiteout.type",
                "mkfs would turn a directory into a whiteout in place", Blob.of(new TarBuilder().dir("x").dir(".wh.x")
                        .end().bytes())));
        c.add(refused("whiteout-with-data", "a whiteout file with content", "tar.nonregular.data", "spec 10",
                Blob.of(new TarBuilder().file("d/.wh.x", HELLO).end().bytes())));
        c.add(refused("whiteout-empty-name", "d/.wh. (a whiteout of nothing)", "tar.name.invalid",
                "an empty name cannot be a directory entry", Blob.of(new TarBuilder().file("d/.wh.", new byte[0])
                        .end().bytes())));
        c.add(accepted("whiteouts-odd-places", "a whiteout of a name never created, an opaque marker before its directory, "
                + "a whiteout in a directory created only implicitly", "spec 7: whiteouts are char devices 0:0, opaque is an "
                + "xattr", new TarBuilder().file("gone/.wh.never", new byte[0]).file("late/.wh..wh..opq", new byte[0])
                        .dir("late").file("a/b/c/.wh.d", new byte[0]).end().bytes()));
        c.add(refused("root-not-a-directory", "./ as a regular file", "tar.root.not-directory", "spec 11.2",
                Blob.of(new TarBuilder().file("./", new byte[0]).end().bytes())));

        // whole blob
        c.add(accepted("empty-blob", "a blob of zero bytes", "spec 10: mkfs 1.9 accepts a tar without end blocks",
                new byte[0]));
        c.add(accepted("trailing-bytes-after-end", "junk after the two end-of-archive blocks",
                "spec 3: mkfs stops at the end blocks; the rest is part of the diffID only",
                concat(new TarBuilder().file("f", HELLO).end().bytes(), bytes(1000, 9))));
        byte[] other = new TarBuilder().file("f", HELLO).end().bytes();
        byte[] altered = other.clone();
        altered[512] = 'J';
        c.add(new Case("layer-digest-mismatch", "the registry serves bytes other than the blob the manifest names",
                "digest.mismatch", "the blob's sha256 is checked as it streams", null, Blob.of(altered), Blob.of(other),
                false));
        c.add(new Case("diffid-mismatch", "the image config names another diffID", "diffid.mismatch",
                "the sha256 of the uncompressed tar is checked", other, gzipBlob(other), null, true));
        return List.copyOf(c);
    }

    /** Every image case: what is wrong is the manifest or the config, not its one (gzip) layer. */
    public static List<ImageCase> images() {
        List<ImageCase> c = new ArrayList<>();
        c.add(image("config-without-diffids", "an image config without rootfs.diff_ids", "invalid-config", "ingest",
                "nothing to check the layer against", d -> config(null), null, 0));
        c.add(image("config-not-json", "an image config that is not JSON", "invalid-config", "ingest",
                "nothing to check the layer against", d -> "not json".getBytes(StandardCharsets.US_ASCII), null, 0));
        c.add(image("diffid-count-mismatch", "two diffIDs for one layer", "diffid-count-mismatch", "ingest",
                "layers and diffIDs are paired in order", d -> config(List.of(d, d)), null, 0));
        c.add(image("layer-media-type-unknown", "the layer's media type is not a tar layer", "unsupported-layer", "ingest",
                "the converter reads tar, tar+gzip and tar+zstd only", d -> config(List.of(d)),
                "application/vnd.example.not-a-layer", 0));
        c.add(image("layer-media-type-lies", "a gzip layer labelled tar+zstd", null, null,
                "the compression is detected from the blob's first bytes; the result is the same",
                d -> config(List.of(d)), Compression.ZSTD.mediaType(), 0));
        c.add(image("layer-size-too-small", "the manifest says the layer is 100 bytes shorter", "layer.size-mismatch",
                "convert", "the blob is checked against its descriptor's size before it is read", d -> config(List.of(d)),
                null, -100));
        c.add(image("layer-size-too-large", "the manifest says the layer is 100 bytes longer", "layer.size-mismatch",
                "convert", "as above", d -> config(List.of(d)), null, 100));
        return List.copyOf(c);
    }

    private static ImageCase image(String name, String what, String reason, String stage, String why,
            java.util.function.Function<String, byte[]> config, String mediaType, long sizeDelta) {
        byte[] tar = new TarBuilder().dir("case").file("case/" + name, HELLO).end().bytes();
        return new ImageCase(name, what, reason, stage, why, tar, config.apply(Digests.sha256(tar)),
                mediaType != null ? mediaType : Compression.GZIP.mediaType(), sizeDelta);
    }

    /** The case -> outcome table of docs/hostile-input.md (a test keeps the two equal). */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("| case | input | outcome | why |\n|---|---|---|---|\n");
        for (Case c : layers()) {
            sb.append(row(c.name(), c.what(), c.accepted() ? "converted" : "`" + c.reason() + "` (convert)", c.why()));
        }
        for (ImageCase c : images()) {
            sb.append(row(c.name(), c.what(), c.reason() == null ? "converted" : "`" + c.reason() + "` (" + c.stage() + ")",
                    c.why()));
        }
        return sb.toString();
    }

    private static String row(String name, String what, String outcome, String why) {
        return "| `" + name + "` | " + what.replace("|", "\\|") + " | " + outcome + " | " + why.replace("|", "\\|") + " |\n";
    }

    /** An image config for one linux/amd64 image; {@code diffIds} null: no rootfs at all. */
    public static byte[] config(List<String> diffIds) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architecture", "amd64");
        config.put("os", "linux");
        if (diffIds != null) {
            Map<String, Object> rootfs = new LinkedHashMap<>();
            rootfs.put("type", "layers");
            rootfs.put("diff_ids", new ArrayList<Object>(diffIds));
            config.put("rootfs", rootfs);
        }
        return JsonText.write(config).getBytes(StandardCharsets.UTF_8);
    }

    /** An OCI image manifest naming a config and layers ({@code mediaType, digest, size} each). */
    public static byte[] manifest(byte[] config, List<OciLayoutBuilder.Descriptor> layers) {
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", OciLayoutBuilder.OCI_MANIFEST);
        manifest.put("config", new OciLayoutBuilder.Descriptor(OciLayoutBuilder.OCI_CONFIG, Digests.sha256(config),
                config.length).json());
        List<Object> descriptors = new ArrayList<>();
        layers.forEach(l -> descriptors.add(l.json()));
        manifest.put("layers", descriptors);
        return JsonText.write(manifest).getBytes(StandardCharsets.UTF_8);
    }

    private static Case refused(String name, String what, String reason, String why, Blob blob) {
        return new Case(name, what, reason, why, null, blob, null, false);
    }

    private static Case accepted(String name, String what, String why, byte[] tar) {
        return new Case(name, what, null, why, tar, Blob.of(tar), null, false);
    }

    private static Blob gzipBlob(byte[] tar) {
        return Blob.of(Compression.GZIP.compress(tar));
    }

    /** The same name twice, for each ordered pair of member types. */
    private static byte[] duplicatePairs() {
        char[] types = {'0', '5', '2', '1', '3', '6'};
        String[] names = {"file", "dir", "symlink", "hardlink", "chardev", "fifo"};
        TarBuilder b = new TarBuilder().dir("dup").file("dup/target", HELLO);
        for (int i = 0; i < types.length; i++) {
            for (int j = 0; j < types.length; j++) {
                String path = "dup/" + names[i] + "-" + names[j];
                member(b, types[i], path);
                member(b, types[j], path);
            }
        }
        return b.end().bytes();
    }

    private static void member(TarBuilder b, char type, String path) {
        switch (type) {
            case '0' -> b.file(path, HELLO);
            case '1' -> b.hardlink(path, "dup/target");
            case '2' -> b.symlink(path, "target");
            case '3' -> b.member('3', path, 0, "", h -> System.arraycopy(TarBuilder.octal(1, 8), 0, h, 329, 8));
            default -> b.member(type, path, 0, "", h -> { });
        }
    }

    /** Writes {@code value} into a numeric header field in GNU base-256. */
    private static void base256(byte[] h, int off, int len, long value) {
        Arrays.fill(h, off, off + len, (byte) 0);
        h[off] = (byte) 0x80;
        for (int i = 0; i < 8; i++) {
            h[off + len - 1 - i] = (byte) (value >>> (8 * i));
        }
    }

    /** Deterministic pseudo-random bytes. */
    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * A gzip stream of {@code unit} repeated {@code times} and then the two end-of-archive blocks: {@code unit} is
     * deflated once with a full flush (so the compressed chunk stands alone) and the chunk repeated. The trailer's
     * CRC is computed only if the stream is read that far.
     */
    private static InputStream gzipBomb(byte[] unit, int times) {
        byte[] chunk = deflate(unit, Deflater.FULL_FLUSH);
        byte[] end = new byte[1024];
        byte[] header = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
        Supplier<InputStream> tail = () -> {
            CRC32 crc = new CRC32();
            for (int i = 0; i < times; i++) {
                crc.update(unit);
            }
            crc.update(end);
            long size = (long) unit.length * times + end.length;
            byte[] trailer = new byte[8];
            for (int i = 0; i < 4; i++) {
                trailer[i] = (byte) (crc.getValue() >>> (8 * i));
                trailer[4 + i] = (byte) (size >>> (8 * i));
            }
            return new ByteArrayInputStream(concat(deflate(end, Deflater.NO_FLUSH), trailer));
        };
        return repeated(header, chunk, times, tail);
    }

    /** Zstd frames of {@code unit}, {@code times} of them, then a frame with the end-of-archive blocks. */
    private static InputStream zstdBomb(byte[] unit, int times) {
        byte[] frame = Compression.ZSTD.compress(unit);
        byte[] end = Compression.ZSTD.compress(new byte[1024]);
        return repeated(new byte[0], frame, times, () -> new ByteArrayInputStream(end));
    }

    /** Raw deflate of {@code data}; {@code flush} FULL_FLUSH leaves the stream open, NO_FLUSH finishes it. */
    private static byte[] deflate(byte[] data, int flush) {
        Deflater d = new Deflater(9, true);
        try {
            d.setInput(data);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[64 * 1024];
            if (flush == Deflater.NO_FLUSH) {
                d.finish();
                while (!d.finished()) {
                    out.write(buf, 0, d.deflate(buf));
                }
            } else {
                int n;
                do {
                    n = d.deflate(buf, 0, buf.length, flush);
                    out.write(buf, 0, n);
                } while (n == buf.length || !d.needsInput());
            }
            return out.toByteArray();
        } finally {
            d.end();
        }
    }

    private static InputStream repeated(byte[] head, byte[] chunk, int times, Supplier<InputStream> tail) {
        List<Supplier<InputStream>> parts = new ArrayList<>();
        parts.add(() -> new ByteArrayInputStream(head));
        for (int i = 0; i < times; i++) {
            parts.add(() -> new ByteArrayInputStream(chunk));
        }
        parts.add(tail);
        java.util.Iterator<Supplier<InputStream>> it = parts.iterator();
        return new SequenceInputStream(new Enumeration<InputStream>() {
            @Override
            public boolean hasMoreElements() {
                return it.hasNext();
            }

            @Override
            public InputStream nextElement() {
                return it.next().get();
            }
        });
    }

    /** Reads a stream to its end, counting and hashing. */
    private static final class CountingSha extends java.io.FilterInputStream {
        private final java.security.MessageDigest md = Digests.newSha256();
        long count;

        CountingSha(InputStream in) {
            super(in);
        }

        String digest() throws IOException {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
                count += n;
            }
            return "sha256:" + java.util.HexFormat.of().formatHex(md.digest());
        }
    }
}

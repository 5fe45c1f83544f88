package dev.erofspipeline.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPOutputStream;

import com.github.luben.zstd.ZstdOutputStream;

/**
 * Builds OCI image layouts (image-layout spec 1.0/1.1) on disk from {@link TarLayer}s: {@code oci-layout},
 * {@code index.json} with one entry per tag ({@code org.opencontainers.image.ref.name}), and
 * {@code blobs/sha256/...}. Single-platform images ({@link #addImage}) and multi-platform image indexes
 * ({@link #addIndex}) are supported, with uncompressed, gzip and zstd layers. The image config carries
 * the diffIDs; every descriptor has the right digest and size. The output is deterministic: the same
 * description yields the same digests.
 *
 * <pre>{@code
 * TarLayer base = TarLayer.builder().dir("etc").file("etc/hostname", "box\n").build();
 * OciLayoutBuilder layout = new OciLayoutBuilder(tmp.resolve("layout"));
 * OciLayoutBuilder.Image img = layout.addImage("latest",
 *     OciLayoutBuilder.ImageSpec.linux("amd64").layer(base, OciLayoutBuilder.Compression.GZIP));
 * OciLayoutBuilder.Index idx = layout.addIndex("multi",
 *     OciLayoutBuilder.ImageSpec.linux("amd64").layer(base, Compression.GZIP),
 *     OciLayoutBuilder.ImageSpec.linux("arm64").variant("v8").layer(base, Compression.ZSTD));
 * }</pre>
 */
public final class OciLayoutBuilder {

    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String REF_NAME = "org.opencontainers.image.ref.name";
    /** mtime, "created" and history timestamps of everything the builder writes. */
    public static final String EPOCH = "1970-01-01T00:00:00Z";

    /** Layer compression and its media type. */
    public enum Compression {
        NONE("application/vnd.oci.image.layer.v1.tar"),
        GZIP("application/vnd.oci.image.layer.v1.tar+gzip"),
        ZSTD("application/vnd.oci.image.layer.v1.tar+zstd");

        private final String mediaType;

        Compression(String mediaType) {
            this.mediaType = mediaType;
        }

        public String mediaType() {
            return mediaType;
        }

        /** Compresses deterministically (gzip: no name, mtime 0; zstd: level 3, one thread). */
        public byte[] compress(byte[] tar) {
            try {
                ByteArrayOutputStream bos = new ByteArrayOutputStream(tar.length / 2 + 64);
                switch (this) {
                    case NONE -> bos.write(tar);
                    case GZIP -> {
                        try (OutputStream gz = new GZIPOutputStream(bos, 65536)) {
                            gz.write(tar);
                        }
                    }
                    case ZSTD -> {
                        try (ZstdOutputStream z = new ZstdOutputStream(bos, 3)) {
                            z.write(tar);
                        }
                    }
                    default -> throw new IllegalStateException();
                }
                return bos.toByteArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A content descriptor: media type, digest, size (and where the blob lies in the layout). */
    public record Descriptor(String mediaType, String digest, long size) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mediaType", mediaType);
            m.put("digest", digest);
            m.put("size", size);
            return m;
        }
    }

    /** A written layer: its blob descriptor, diffID and the uncompressed tar. */
    public record Layer(Descriptor descriptor, String diffId, Compression compression, TarLayer tar) {
        public String digest() {
            return descriptor.digest();
        }
    }

    /** A written image manifest with its config and layers; {@code tag} is null inside an index. */
    public record Image(String tag, String os, String architecture, String variant, Descriptor manifest,
            byte[] manifestBytes, Descriptor config, byte[] configBytes, List<Layer> layers) {
        public String digest() {
            return manifest.digest();
        }

        /** "os/arch" or "os/arch/variant". */
        public String platform() {
            return os + "/" + architecture + (variant == null ? "" : "/" + variant);
        }
    }

    /** A written image index and the images it lists, in order. */
    public record Index(String tag, Descriptor index, byte[] indexBytes, List<Image> images) {
        public String digest() {
            return index.digest();
        }
    }

    /** What one image consists of: platform, layers with their compression, annotations. */
    public static final class ImageSpec {
        private final String os;
        private final String architecture;
        private String variant;
        private final List<TarLayer> layers = new ArrayList<>();
        private final List<Compression> compressions = new ArrayList<>();
        private final Map<String, String> annotations = new LinkedHashMap<>();
        private final Map<String, String> descriptorAnnotations = new LinkedHashMap<>();
        private final List<String> env = new ArrayList<>();

        private ImageSpec(String os, String architecture) {
            this.os = Objects.requireNonNull(os);
            this.architecture = Objects.requireNonNull(architecture);
        }

        public static ImageSpec of(String os, String architecture) {
            return new ImageSpec(os, architecture);
        }

        public static ImageSpec linux(String architecture) {
            return new ImageSpec("linux", architecture);
        }

        public ImageSpec variant(String v) {
            this.variant = v;
            return this;
        }

        /** Appends a layer (bottom first). */
        public ImageSpec layer(TarLayer layer, Compression compression) {
            layers.add(Objects.requireNonNull(layer));
            compressions.add(Objects.requireNonNull(compression));
            return this;
        }

        /** A manifest annotation. */
        public ImageSpec annotation(String key, String value) {
            annotations.put(key, value);
            return this;
        }

        /**
         * An annotation on this image's entry in an index, e.g. BuildKit's
         * {@code vnd.docker.reference.type=attestation-manifest} on an {@code unknown/unknown} image.
         */
        public ImageSpec descriptorAnnotation(String key, String value) {
            descriptorAnnotations.put(key, value);
            return this;
        }

        /** An {@code Env} entry in the image config, e.g. "PATH=/bin". */
        public ImageSpec env(String keyEqualsValue) {
            env.add(keyEqualsValue);
            return this;
        }
    }

    private final Path dir;
    private final Path blobs;
    private final List<Map<String, Object>> indexEntries = new ArrayList<>();
    /** A layer shared by many images is compressed once; weak, so a layer used once can be collected. */
    private final Map<TarLayer, Map<Compression, WrittenBlob>> written = new java.util.WeakHashMap<>();

    /** What {@link #written} keeps of a layer: no reference back to the tar, or it would never be collected. */
    private record WrittenBlob(Descriptor descriptor, String diffId) {}

    /** Creates a layout directory (blobs already there are kept; index.json starts empty). */
    public OciLayoutBuilder(Path dir) {
        this.dir = dir;
        this.blobs = dir.resolve("blobs").resolve("sha256");
        try {
            Files.createDirectories(blobs);
            Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}", StandardCharsets.UTF_8);
            writeIndexJson();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** Where a blob with this digest lies in the layout. */
    public Path blobPath(String digest) {
        return blobs.resolve(Digests.hex(digest));
    }

    /** Writes one single-platform image and tags it in index.json. */
    public Image addImage(String tag, ImageSpec spec) {
        Image img = writeImage(tag, spec);
        tag(tag, img.manifest(), null);
        return img;
    }

    /** Writes the images, an image index listing them with their platforms, and tags the index. */
    public Index addIndex(String tag, ImageSpec... specs) {
        return addIndex(tag, Map.of(), specs);
    }

    /** Like {@link #addIndex(String, ImageSpec...)} with annotations on the index. */
    public Index addIndex(String tag, Map<String, String> annotations, ImageSpec... specs) {
        if (specs.length == 0) {
            throw new IllegalArgumentException("an index needs at least one image");
        }
        List<Image> images = new ArrayList<>();
        List<Object> manifests = new ArrayList<>();
        for (ImageSpec s : specs) {
            Image img = writeImage(null, s);
            images.add(img);
            Map<String, Object> d = img.manifest().json();
            Map<String, Object> platform = new LinkedHashMap<>();
            platform.put("architecture", s.architecture);
            platform.put("os", s.os);
            if (s.variant != null) {
                platform.put("variant", s.variant);
            }
            d.put("platform", platform);
            if (!s.descriptorAnnotations.isEmpty()) {
                d.put("annotations", new LinkedHashMap<>(s.descriptorAnnotations));
            }
            manifests.add(d);
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("schemaVersion", 2);
        index.put("mediaType", OCI_INDEX);
        index.put("manifests", manifests);
        if (!annotations.isEmpty()) {
            index.put("annotations", new LinkedHashMap<>(annotations));
        }
        byte[] bytes = JsonText.write(index).getBytes(StandardCharsets.UTF_8);
        Descriptor d = writeBlob(OCI_INDEX, bytes);
        tag(tag, d, null);
        return new Index(tag, d, bytes, List.copyOf(images));
    }

    /** Writes a blob (if absent) and returns its descriptor. */
    public Descriptor writeBlob(String mediaType, byte[] content) {
        String digest = Digests.sha256(content);
        Path p = blobPath(digest);
        try {
            if (!Files.exists(p)) {
                Path tmp = Files.createTempFile(blobs, ".tmp-", "");
                Files.write(tmp, content);
                Files.move(tmp, p, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Descriptor(mediaType, digest, content.length);
    }

    private synchronized Layer writeLayer(TarLayer t, Compression c) {
        WrittenBlob b = written.computeIfAbsent(t, k -> new java.util.EnumMap<>(Compression.class)).computeIfAbsent(c, k -> {
            byte[] tar = t.tar();
            return new WrittenBlob(writeBlob(c.mediaType(), c.compress(tar)), Digests.sha256(tar));
        });
        return new Layer(b.descriptor(), b.diffId(), c, t);
    }

    private Image writeImage(String tag, ImageSpec spec) {
        List<Layer> layers = new ArrayList<>();
        List<Object> diffIds = new ArrayList<>();
        List<Object> history = new ArrayList<>();
        for (int i = 0; i < spec.layers.size(); i++) {
            Layer layer = writeLayer(spec.layers.get(i), spec.compressions.get(i));
            layers.add(layer);
            diffIds.add(layer.diffId());
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("created", EPOCH);
            h.put("created_by", "testkit layer " + i);
            history.add(h);
        }
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("created", EPOCH);
        config.put("architecture", spec.architecture);
        if (spec.variant != null) {
            config.put("variant", spec.variant);
        }
        config.put("os", spec.os);
        Map<String, Object> runtime = new LinkedHashMap<>();
        if (!spec.env.isEmpty()) {
            runtime.put("Env", new ArrayList<Object>(spec.env));
        }
        config.put("config", runtime);
        Map<String, Object> rootfs = new LinkedHashMap<>();
        rootfs.put("type", "layers");
        rootfs.put("diff_ids", diffIds);
        config.put("rootfs", rootfs);
        config.put("history", history);
        byte[] configBytes = JsonText.write(config).getBytes(StandardCharsets.UTF_8);
        Descriptor configDesc = writeBlob(OCI_CONFIG, configBytes);

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", OCI_MANIFEST);
        manifest.put("config", configDesc.json());
        List<Object> layerDescs = new ArrayList<>();
        for (Layer l : layers) {
            layerDescs.add(l.descriptor().json());
        }
        manifest.put("layers", layerDescs);
        if (!spec.annotations.isEmpty()) {
            manifest.put("annotations", new LinkedHashMap<>(spec.annotations));
        }
        byte[] manifestBytes = JsonText.write(manifest).getBytes(StandardCharsets.UTF_8);
        Descriptor md = writeBlob(OCI_MANIFEST, manifestBytes);
        return new Image(tag, spec.os, spec.architecture, spec.variant, md, manifestBytes, configDesc, configBytes,
                List.copyOf(layers));
    }

    private synchronized void tag(String tag, Descriptor d, Map<String, Object> platform) {
        Objects.requireNonNull(tag, "tag");
        indexEntries.removeIf(e -> tag.equals(((Map<?, ?>) e.get("annotations")).get(REF_NAME)));
        Map<String, Object> entry = d.json();
        if (platform != null) {
            entry.put("platform", platform);
        }
        entry.put("annotations", new LinkedHashMap<>(Map.of(REF_NAME, tag)));
        indexEntries.add(entry);
        try {
            writeIndexJson();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void writeIndexJson() throws IOException {
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("schemaVersion", 2);
        index.put("mediaType", OCI_INDEX);
        index.put("manifests", new ArrayList<Object>(indexEntries));
        Files.writeString(dir.resolve("index.json"), JsonText.write(index), StandardCharsets.UTF_8);
    }
}

package dev.erofspipeline.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An OCI image layout directory (image-layout spec 1.1: {@code oci-layout}, {@code index.json}, {@code blobs/<alg>/<hex>})
 * used as a {@link RegistryTarget}. A layout is one repository: the {@code repository} arguments are ignored. Tags are
 * {@code org.opencontainers.image.ref.name} annotations of {@code index.json} entries.
 *
 * <p>Referrers: a referrer is a manifest in {@code blobs/} plus an untagged {@code index.json} entry carrying its
 * {@code artifactType} and annotations (so tools that walk {@code index.json}, such as oras, find it, and garbage
 * collectors keep it). {@link #referrers} scans the {@code index.json} entries whose manifest has the given
 * {@code subject}; no referrers tag index is written into a layout. A manifest put by digest alone only lands in
 * {@code blobs/} (it is normally reachable from an index).
 *
 * <p>Created on the first write when the directory does not exist. Blobs are written to a temporary file, verified and
 * moved into place atomically; {@code index.json} is replaced atomically. Writers within one process are serialized per
 * layout; concurrent writer processes on one layout are not supported.
 */
public final class OciLayout implements RegistryTarget {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();
    private static final byte[] LAYOUT_FILE = "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    private final Path dir;
    private final RegistryCounters counters = new RegistryCounters();

    public OciLayout(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    public Path directory() {
        return dir;
    }

    @Override
    public RegistryCounters counters() {
        return counters;
    }

    private ReentrantLock lock() {
        return LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
    }

    private void ensureLayout() throws IOException {
        if (Files.isRegularFile(dir.resolve("index.json")) && Files.isDirectory(dir.resolve("blobs").resolve("sha256"))) {
            return;
        }
        ReentrantLock lock = lock(); // reentrant: callers may hold it already
        lock.lock();
        try {
            createLayout();
        } finally {
            lock.unlock();
        }
    }

    private void createLayout() throws IOException {
        Files.createDirectories(dir.resolve("blobs").resolve("sha256"));
        Path layout = dir.resolve("oci-layout");
        if (!Files.exists(layout)) {
            writeAtomically(layout, LAYOUT_FILE);
        }
        if (!Files.exists(dir.resolve("index.json"))) {
            ObjectNode root = JsonNodeFactory.instance.objectNode();
            root.put("schemaVersion", 2);
            root.put("mediaType", MediaTypeNames.OCI_INDEX);
            root.putArray("manifests");
            writeAtomically(dir.resolve("index.json"), JSON.writeValueAsBytes(root));
        }
    }

    // ------------------------------------------------------------------------------------------------ index.json

    private ObjectNode readIndex() throws IOException {
        Path p = dir.resolve("index.json");
        if (!Files.exists(p)) {
            ObjectNode root = JsonNodeFactory.instance.objectNode();
            root.put("schemaVersion", 2);
            root.put("mediaType", MediaTypeNames.OCI_INDEX);
            root.putArray("manifests");
            return root;
        }
        JsonNode n;
        try {
            n = JSON.readTree(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new RegistryException("OCI layout " + dir + ": index.json is not valid JSON", 0, "MANIFEST_INVALID", false, e);
        }
        if (!(n instanceof ObjectNode o)) {
            throw new RegistryException("OCI layout " + dir + ": index.json is not a JSON object", 0, "MANIFEST_INVALID", false, null);
        }
        if (!o.path("manifests").isArray()) {
            o.putArray("manifests");
        }
        return o;
    }

    private static List<ObjectNode> entries(ObjectNode index) {
        List<ObjectNode> out = new ArrayList<>();
        for (JsonNode m : index.path("manifests")) {
            if (m instanceof ObjectNode o && o.hasNonNull("digest")) {
                out.add(o);
            }
        }
        return out;
    }

    private void writeIndex(ObjectNode index) throws IOException {
        writeAtomically(dir.resolve("index.json"), JSON.writeValueAsBytes(index));
    }

    private static String refName(JsonNode entry) {
        JsonNode n = entry.path("annotations").path(MediaTypeNames.REF_NAME);
        return n.isTextual() ? n.asText() : null;
    }

    private Optional<ObjectNode> entryFor(ObjectNode index, String reference) {
        ObjectNode found = null;
        boolean byDigest = Digests.isValid(reference);
        for (ObjectNode e : entries(index)) {
            if (byDigest ? reference.equals(e.get("digest").asText()) : reference.equals(refName(e))) {
                found = e;
            }
        }
        return Optional.ofNullable(found);
    }

    // ------------------------------------------------------------------------------------------------ manifests

    @Override
    public Optional<Descriptor> headManifest(String repository, String reference) throws IOException {
        Optional<ObjectNode> e = entryFor(readIndex(), reference);
        if (e.isPresent()) {
            ObjectNode n = e.get();
            return Optional.of(new Descriptor(n.path("mediaType").asText(MediaTypeNames.OCI_MANIFEST), n.get("digest").asText(),
                    n.path("size").asLong()));
        }
        if (Digests.isValid(reference) && Files.exists(blobPath(reference))) {
            return Optional.of(getManifest(repository, reference).descriptor());
        }
        return Optional.empty();
    }

    @Override
    public Manifest getManifest(String repository, String reference) throws IOException {
        Optional<ObjectNode> e = entryFor(readIndex(), reference);
        String digest;
        String type = null;
        if (e.isPresent()) {
            digest = e.get().get("digest").asText();
            type = e.get().path("mediaType").asText(null);
        } else if (Digests.isValid(reference)) {
            digest = reference;
        } else {
            throw new RegistryException("OCI layout " + dir + ": no manifest tagged " + reference, 404, "MANIFEST_UNKNOWN");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(blobPath(digest));
        } catch (NoSuchFileException ex) {
            throw new RegistryException("OCI layout " + dir + ": manifest " + digest + " not in blobs/", 404, "MANIFEST_UNKNOWN");
        }
        String actual = Digests.digestLike(digest, bytes);
        if (!actual.equals(digest)) {
            throw new RegistryException("OCI layout " + dir + ": blob " + digest + " has digest " + actual, 0, "DIGEST_INVALID", false,
                    null);
        }
        if (type == null) {
            JsonNode n = JSON.readTree(bytes);
            type = n.hasNonNull("mediaType") ? n.get("mediaType").asText()
                    : n.has("manifests") ? MediaTypeNames.OCI_INDEX : MediaTypeNames.OCI_MANIFEST;
        }
        return new Manifest(bytes, type, digest);
    }

    @Override
    public String putManifest(String repository, String reference, Manifest manifest) throws IOException {
        boolean byDigest = Digests.isValid(reference);
        if (byDigest && !reference.equals(manifest.digest())) {
            throw new IllegalArgumentException("manifest bytes do not match the digest " + reference);
        }
        if (!byDigest && !reference.matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")) {
            throw new IllegalArgumentException("not a tag or digest: " + reference);
        }
        ReentrantLock lock = lock();
        lock.lock();
        try {
            ensureLayout();
            writeBlob(manifest.digest(), manifest.bytes());
            if (!byDigest) {
                ObjectNode index = readIndex();
                ArrayNode kept = JsonNodeFactory.instance.arrayNode();
                for (JsonNode m : index.path("manifests")) {
                    if (!reference.equals(refName(m))) {
                        kept.add(m);
                    }
                }
                ObjectNode entry = ReferrersIndex.toNode(new Descriptor(manifest.mediaType(), manifest.digest(), manifest.bytes().length,
                        null, Map.of(MediaTypeNames.REF_NAME, reference)));
                kept.add(entry);
                index.set("manifests", kept);
                writeIndex(index);
            }
            return manifest.digest();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void deleteManifest(String repository, String digest) throws IOException {
        Digests.requireValid(digest);
        ReentrantLock lock = lock();
        lock.lock();
        try {
            ObjectNode index = readIndex();
            ArrayNode kept = JsonNodeFactory.instance.arrayNode();
            boolean removed = false;
            for (JsonNode m : index.path("manifests")) {
                if (digest.equals(m.path("digest").asText())) {
                    removed = true;
                } else {
                    kept.add(m);
                }
            }
            boolean deleted = Files.deleteIfExists(blobPath(digest));
            if (!removed && !deleted) {
                throw new RegistryException("OCI layout " + dir + ": no manifest " + digest, 404, "MANIFEST_UNKNOWN");
            }
            if (removed) {
                index.set("manifests", kept);
                writeIndex(index);
            }
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------------------------------------ blobs

    private Path blobPath(String digest) {
        return dir.resolve("blobs").resolve(Digests.algorithm(digest)).resolve(Digests.hex(digest));
    }

    @Override
    public Optional<Long> blobSize(String repository, String digest) throws IOException {
        Path p = blobPath(digest);
        return Files.isRegularFile(p) ? Optional.of(Files.size(p)) : Optional.empty();
    }

    @Override
    public InputStream openBlob(String repository, String digest) throws IOException {
        return openBlob(digest, true, -1);
    }

    @Override
    public InputStream openBlobUnverified(String repository, String digest, long expectedSize) throws IOException {
        return openBlob(digest, false, expectedSize);
    }

    private InputStream openBlob(String digest, boolean checkDigest, long expectedSize) throws IOException {
        Path p = blobPath(digest);
        InputStream in;
        long size;
        try {
            size = Files.size(p);
            if (expectedSize >= 0 && size != expectedSize) {
                throw new RegistryException("blob " + digest + " has " + size + " bytes, expected " + expectedSize, 200,
                        "SIZE_INVALID", false, null);
            }
            in = Files.newInputStream(p);
        } catch (NoSuchFileException e) {
            throw new RegistryException("OCI layout " + dir + ": no blob " + digest, 404, "BLOB_UNKNOWN");
        }
        return new BlobInputStream(in, digest, checkDigest, size, 0, offset -> {
            throw new IOException("cannot resume a file read");
        }, counters);
    }

    @Override
    public String pushBlob(String repository, BlobSource blob) throws IOException {
        if (blobExists(repository, blob.digest())) {
            return blob.digest();
        }
        ensureLayout();
        try (InputStream in = blob.open()) {
            String actual = writeBlob(blob.digest(), in);
            if (!actual.equals(blob.digest())) {
                throw new RegistryException("content to store has digest " + actual + ", expected " + blob.digest(), 0, "DIGEST_INVALID",
                        false, null);
            }
        }
        return blob.digest();
    }

    /** Stores a stream of unknown digest; returns its descriptor (octet-stream media type). */
    public Descriptor pushBlob(InputStream in) throws IOException {
        ensureLayout();
        Path tmp = Files.createTempFile(dir.resolve("blobs"), ".upload-", ".tmp");
        try {
            MessageDigest md = Digests.newSha256();
            long size = 0;
            try (OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                    out.write(buf, 0, n);
                    size += n;
                }
            }
            String digest = "sha256:" + HexFormat.of().formatHex(md.digest());
            moveIntoPlace(tmp, blobPath(digest));
            return new Descriptor(MediaTypeNames.OCTET_STREAM, digest, size);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private String writeBlob(String expectedDigest, InputStream in) throws IOException {
        Path tmp = Files.createTempFile(dir.resolve("blobs"), ".upload-", ".tmp");
        try {
            MessageDigest md = Digests.newMessageDigest(expectedDigest);
            try (OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            }
            String actual = Digests.format(Digests.algorithm(expectedDigest), md);
            if (actual.equals(expectedDigest)) {
                moveIntoPlace(tmp, blobPath(expectedDigest));
            }
            return actual;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void writeBlob(String digest, byte[] bytes) throws IOException {
        if (!Files.exists(blobPath(digest))) {
            writeBlob(digest, new java.io.ByteArrayInputStream(bytes));
        }
    }

    private static void moveIntoPlace(Path tmp, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            // same content already there
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Blobs of a layout are shared by everything in it: a "mount" succeeds when the blob is present. */
    @Override
    public boolean mountBlob(String repository, String digest, String fromRepository) throws IOException {
        return blobExists(repository, digest);
    }

    @Override
    public void deleteBlob(String repository, String digest) throws IOException {
        if (!Files.deleteIfExists(blobPath(digest))) {
            throw new RegistryException("OCI layout " + dir + ": no blob " + digest, 404, "BLOB_UNKNOWN");
        }
    }

    // ------------------------------------------------------------------------------------------------ tags, referrers

    @Override
    public List<String> listTags(String repository) throws IOException {
        LinkedHashSet<String> tags = new LinkedHashSet<>();
        for (ObjectNode e : entries(readIndex())) {
            String t = refName(e);
            if (t != null) {
                tags.add(t);
            }
        }
        return new ArrayList<>(tags);
    }

    @Override
    public List<Descriptor> referrers(String repository, String subjectDigest, String artifactType) throws IOException {
        Digests.requireValid(subjectDigest);
        List<Descriptor> out = new ArrayList<>();
        LinkedHashSet<String> seen = new LinkedHashSet<>();
        for (ObjectNode e : entries(readIndex())) {
            String type = e.path("mediaType").asText("");
            String digest = e.get("digest").asText();
            if (!(type.equals(MediaTypeNames.OCI_MANIFEST) || type.equals(MediaTypeNames.OCI_INDEX)) || !seen.add(digest)
                    || !Files.exists(blobPath(digest))) {
                continue;
            }
            JsonNode m = JSON.readTree(Files.readAllBytes(blobPath(digest)));
            if (!subjectDigest.equals(m.path("subject").path("digest").asText(null))) {
                continue;
            }
            String at = e.hasNonNull("artifactType") ? e.get("artifactType").asText()
                    : m.hasNonNull("artifactType") ? m.get("artifactType").asText()
                    : m.path("config").path("mediaType").asText(null);
            Map<String, String> annotations = new TreeMap<>();
            JsonNode ann = e.has("annotations") ? e.get("annotations") : m.path("annotations");
            for (Map.Entry<String, JsonNode> a : ann.properties()) {
                annotations.put(a.getKey(), a.getValue().asText());
            }
            if (artifactType == null || artifactType.equals(at)) {
                out.add(new Descriptor(type, digest, e.path("size").asLong(), at, annotations));
            }
        }
        return out;
    }

    @Override
    public void addReferrer(String repository, String subjectDigest, Descriptor referrer) throws IOException {
        Digests.requireValid(subjectDigest);
        if (!Files.exists(blobPath(referrer.digest()))) {
            throw new RegistryException("OCI layout " + dir + ": referrer manifest " + referrer.digest() + " is not in blobs/", 404,
                    "MANIFEST_UNKNOWN");
        }
        ReentrantLock lock = lock();
        lock.lock();
        try {
            ensureLayout();
            ObjectNode index = readIndex();
            for (ObjectNode e : entries(index)) {
                if (referrer.digest().equals(e.get("digest").asText()) && refName(e) == null) {
                    return;
                }
            }
            ((ArrayNode) index.get("manifests")).add(ReferrersIndex.toNode(referrer));
            writeIndex(index);
        } finally {
            lock.unlock();
        }
    }

    /** Drops the untagged {@code index.json} entry of the referrer; tagged entries of the same manifest stay. */
    @Override
    public void removeReferrer(String repository, String subjectDigest, String referrerDigest) throws IOException {
        Digests.requireValid(subjectDigest);
        ReentrantLock lock = lock();
        lock.lock();
        try {
            if (!Files.exists(dir.resolve("index.json"))) {
                return;
            }
            ObjectNode index = readIndex();
            ArrayNode manifests = (ArrayNode) index.get("manifests");
            for (int i = manifests.size() - 1; i >= 0; i--) {
                JsonNode e = manifests.get(i);
                if (referrerDigest.equals(e.path("digest").asText()) && refName(e) == null) {
                    manifests.remove(i);
                    writeIndex(index);
                    return;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "OciLayout[" + dir + "]";
    }
}

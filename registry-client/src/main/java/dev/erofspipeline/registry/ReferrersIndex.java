package dev.erofspipeline.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The referrers tag schema index (OCI distribution spec 1.1): an image index at tag {@code <alg>-<hex>} listing the
 * referrers of a subject. Written deterministically: entries sorted by digest (so the bytes do not depend on the order
 * in which referrers arrived), fixed key order ({@code mediaType, digest, size, artifactType, annotations}, then any
 * other field sorted by name), annotations sorted, no timestamps.
 */
final class ReferrersIndex {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> KEY_ORDER = List.of("mediaType", "digest", "size", "artifactType", "annotations");

    private ReferrersIndex() {
    }

    /** {@code sha256:abc...} becomes {@code sha256-abc...} (algorithm cut to 32, hex to 64 characters). */
    static String fallbackTag(String subjectDigest) {
        String alg = Digests.algorithm(subjectDigest);
        String hex = Digests.hex(subjectDigest);
        return (alg.length() > 32 ? alg.substring(0, 32) : alg) + "-" + (hex.length() > 64 ? hex.substring(0, 64) : hex);
    }

    /** The manifest entries of an index document (empty for null). */
    static List<ObjectNode> entries(byte[] index) throws IOException {
        List<ObjectNode> out = new ArrayList<>();
        if (index == null) {
            return out;
        }
        JsonNode root = JSON.readTree(index);
        for (JsonNode m : root.path("manifests")) {
            if (m.isObject() && m.hasNonNull("digest")) {
                out.add((ObjectNode) m);
            }
        }
        return out;
    }

    static boolean contains(List<ObjectNode> entries, String digest) {
        return entries.stream().anyMatch(e -> digest.equals(e.path("digest").asText()));
    }

    static ObjectNode toNode(Descriptor d) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("mediaType", d.mediaType());
        n.put("digest", d.digest());
        n.put("size", d.size());
        if (d.artifactType() != null) {
            n.put("artifactType", d.artifactType());
        }
        if (!d.annotations().isEmpty()) {
            ObjectNode a = n.putObject("annotations");
            d.annotations().forEach(a::put);
        }
        return n;
    }

    static Descriptor toDescriptor(JsonNode n) {
        Map<String, String> annotations = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : n.path("annotations").properties()) {
            annotations.put(e.getKey(), e.getValue().asText());
        }
        String at = n.hasNonNull("artifactType") ? n.get("artifactType").asText() : null;
        return new Descriptor(n.path("mediaType").asText(MediaTypeNames.OCI_MANIFEST), n.path("digest").asText(),
                n.path("size").asLong(), at, annotations);
    }

    /** Entries of {@code index} plus {@code add} (if its digest is new), as canonical index bytes. */
    static byte[] write(List<ObjectNode> existing, ObjectNode add) throws IOException {
        TreeMap<String, ObjectNode> byDigest = new TreeMap<>();
        for (ObjectNode e : existing) {
            byDigest.putIfAbsent(e.get("digest").asText(), e);
        }
        if (add != null) {
            byDigest.putIfAbsent(add.get("digest").asText(), add);
        }
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("schemaVersion", 2);
        root.put("mediaType", MediaTypeNames.OCI_INDEX);
        ArrayNode manifests = root.putArray("manifests");
        byDigest.values().stream().sorted(Comparator.comparing(e -> e.get("digest").asText()))
                .forEach(e -> manifests.add(canonical(e)));
        return JSON.writeValueAsBytes(root);
    }

    /** Fixed key order for known fields, then the rest sorted; nested objects with sorted keys. */
    static ObjectNode canonical(JsonNode e) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        for (String k : KEY_ORDER) {
            if (e.has(k)) {
                out.set(k, sorted(e.get(k)));
            }
        }
        TreeSet<String> rest = new TreeSet<>();
        e.fieldNames().forEachRemaining(rest::add);
        rest.removeAll(KEY_ORDER);
        for (String k : rest) {
            out.set(k, sorted(e.get(k)));
        }
        return out;
    }

    private static JsonNode sorted(JsonNode n) {
        if (n.isObject()) {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            TreeSet<String> keys = new TreeSet<>();
            n.fieldNames().forEachRemaining(keys::add);
            for (String k : keys) {
                o.set(k, sorted(n.get(k)));
            }
            return o;
        }
        if (n.isArray()) {
            ArrayNode a = JsonNodeFactory.instance.arrayNode();
            n.forEach(x -> a.add(sorted(x)));
            return a;
        }
        return n;
    }

    /** Descriptors of an index, filtered by artifact type (null: all). */
    static List<Descriptor> descriptors(byte[] index, String artifactType) throws IOException {
        List<Descriptor> out = new ArrayList<>();
        for (ObjectNode e : entries(index)) {
            Descriptor d = toDescriptor(e);
            if (artifactType == null || artifactType.equals(d.artifactType())) {
                out.add(d);
            }
        }
        return out;
    }
}

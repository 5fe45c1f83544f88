package dev.erofspipeline.publish;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryException;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * Removes an entry from a referrers tag-schema index ({@code sha256-<hex>}). The registry client only
 * adds entries, so this is the smallest piece that removal (bundle replacement) needs. It writes the
 * same canonical form as the client (entries sorted by digest, keys {@code mediaType, digest, size,
 * artifactType, annotations} then the rest sorted, nested keys sorted), so an index stays
 * byte-identical whichever side wrote it last. Callers hold the publisher's lock for the subject.
 */
final class FallbackIndex {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> KEY_ORDER = List.of("mediaType", "digest", "size", "artifactType", "annotations");

  private FallbackIndex() {}

  static String tag(String subjectDigest) {
    int colon = subjectDigest.indexOf(':');
    return subjectDigest.substring(0, colon) + "-" + subjectDigest.substring(colon + 1);
  }

  /** Drops {@code digest} from the index of {@code subjectDigest}; returns whether it was there. */
  static boolean remove(RegistryTarget target, String repository, String subjectDigest, String digest) throws IOException {
    Manifest current;
    try {
      current = target.getManifest(repository, tag(subjectDigest));
    } catch (RegistryException e) {
      if (e.isNotFound()) {
        return false;
      }
      throw e;
    }
    List<JsonNode> kept = new ArrayList<>();
    boolean found = false;
    for (JsonNode m : JSON.readTree(current.bytes()).path("manifests")) {
      if (digest.equals(m.path("digest").asText())) {
        found = true;
      } else {
        kept.add(m);
      }
    }
    if (!found) {
      return false;
    }
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("schemaVersion", 2);
    root.put("mediaType", MediaTypes.OCI_INDEX);
    ArrayNode manifests = root.putArray("manifests");
    kept.stream().sorted(Comparator.comparing(e -> e.path("digest").asText())).forEach(e -> manifests.add(canonical(e)));
    target.putManifest(repository, tag(subjectDigest), Manifest.of(JSON.writeValueAsBytes(root), MediaTypes.OCI_INDEX));
    return true;
  }

  private static JsonNode canonical(JsonNode e) {
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
}

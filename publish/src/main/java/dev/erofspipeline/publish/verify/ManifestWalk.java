package dev.erofspipeline.publish.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.IOException;
import java.util.List;
import java.util.function.Predicate;

/**
 * The way both verifiers go from a reference to its image manifests: an index is expanded to the
 * entries a verifier selects, an image manifest is taken as it is, anything else is a problem.
 */
final class ManifestWalk {

  /** What a verifier does with one image manifest. */
  interface Visitor {
    /** @param platform {@code os/arch[/variant]} of the index entry, or null for a manifest named directly */
    void manifest(Manifest manifest, String platform) throws IOException;
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private ManifestWalk() {}

  /** How reports name a reference: {@code repo:tag} or {@code repo@digest}. */
  static String label(String repository, String reference) {
    return repository == null ? reference : repository + (reference.startsWith("sha256:") ? "@" : ":") + reference;
  }

  /**
   * Visits the image manifests of {@code reference}; failures to read go to {@code problems}.
   *
   * @param select which index entries to visit
   * @return how many index entries were visited, or -1 when the reference named an image manifest
   */
  static int walk(RegistryTarget target, String repository, String reference, Predicate<JsonNode> select, Visitor visitor,
      List<String> problems) {
    String label = label(repository, reference);
    int visited = 0;
    try {
      Manifest top = target.getManifest(repository, reference);
      if (MediaTypes.isImageIndex(top.mediaType())) {
        for (JsonNode e : JSON.readTree(top.bytes()).path("manifests")) {
          if (!select.test(e)) {
            continue;
          }
          visited++;
          JsonNode p = e.path("platform");
          String platform = p.path("os").asText("") + "/" + p.path("architecture").asText("")
              + (p.hasNonNull("variant") ? "/" + p.get("variant").asText() : "");
          visitor.manifest(target.getManifest(repository, e.path("digest").asText()), platform);
        }
        return visited;
      } else if (MediaTypes.isImageManifest(top.mediaType())) {
        visitor.manifest(top, null);
        return -1;
      }
      problems.add(label + ": not an image or index (" + top.mediaType() + ")");
    } catch (IOException | RuntimeException e) {
      problems.add(label + ": " + e.getMessage());
    }
    return visited;
  }
}

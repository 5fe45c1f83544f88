package dev.erofspipeline.publish.verify;

import java.util.List;

/**
 * What {@link ImageVerifier} found for one reference.
 *
 * @param reference what was verified
 * @param profile the attachment profile checked
 * @param layers one row per layer per image manifest, in order
 * @param problems failures not tied to a layer (e.g. an unreadable manifest)
 */
public record VerifyReport(String reference, String profile, List<LayerCheck> layers, List<String> problems) {

  /** True when every layer passed and there was no other problem (and there was at least one layer). */
  public boolean ok() {
    return problems.isEmpty() && !layers.isEmpty() && layers.stream().allMatch(LayerCheck::ok);
  }

  /** The failed rows. */
  public List<LayerCheck> failures() {
    return layers.stream().filter(l -> !l.ok()).toList();
  }
}

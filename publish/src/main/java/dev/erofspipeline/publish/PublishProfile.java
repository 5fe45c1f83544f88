package dev.erofspipeline.publish;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The attachment profiles of ARCHITECTURE.md ("Attachment"). */
public enum PublishProfile {
  /** One referrer per image manifest, the containerd schema (consumer contract section 5). */
  IMAGE_BUNDLE("image-bundle"),
  /** A canonical wrapper manifest per layer with the tree, index and signature as its referrers. */
  LAYER("layer");

  private final String text;

  PublishProfile(String text) {
    this.text = text;
  }

  /** The command-line / configuration spelling. */
  public String text() {
    return text;
  }

  /** {@code image-bundle}, {@code layer} or {@code all}. */
  public static Set<PublishProfile> parse(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    if (v.equals("all")) {
      return EnumSet.allOf(PublishProfile.class);
    }
    for (PublishProfile p : values()) {
      if (p.text.equals(v)) {
        return EnumSet.of(p);
      }
    }
    throw new IllegalArgumentException("unknown profile '" + s + "' (image-bundle, layer or all)");
  }
}

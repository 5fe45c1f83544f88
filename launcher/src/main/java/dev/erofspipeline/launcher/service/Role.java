package dev.erofspipeline.launcher.service;

import java.util.Locale;

/** What one {@code run} process does. One process per role in Kubernetes; {@code all} for small installations. */
public enum Role {
  INGEST,
  WORKER,
  PUBLISH,
  ALL;

  public boolean includes(Role r) {
    return this == ALL || this == r;
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** {@code ingest}, {@code worker}, {@code publish} or {@code all}; anything else is refused with the choices. */
  public static Role parse(String s) {
    for (Role r : values()) {
      if (r.label().equals(s)) {
        return r;
      }
    }
    throw new IllegalArgumentException("--role must be ingest, worker, publish or all, got '" + s + "'");
  }
}

package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Scheduling hint of a request or job; absent in JSON means {@link #NORMAL}. */
public enum Priority {
  @JsonProperty("low") LOW,
  @JsonProperty("normal") NORMAL,
  @JsonProperty("high") HIGH
}

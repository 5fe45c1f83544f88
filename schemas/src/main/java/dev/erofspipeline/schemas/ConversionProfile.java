package dev.erofspipeline.schemas;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * A conversion profile: a name for people and the fingerprint of its parameters (lowercase hex, 16
 * to 64 characters). The fingerprint is part of every S3 key: a layer already converted under the
 * same fingerprint is not converted again.
 */
@JsonPropertyOrder({"name", "fingerprint"})
public record ConversionProfile(String name, String fingerprint) {}

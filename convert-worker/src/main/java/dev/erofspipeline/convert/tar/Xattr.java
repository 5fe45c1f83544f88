package dev.erofspipeline.convert.tar;

/** One extended attribute: full name (for example {@code user.foo}) and raw value, both as bytes. */
public record Xattr(byte[] name, byte[] value) {}

package dev.erofspipeline.launcher.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The effective settings: defaults, then a properties file, then {@code EROFS_*} environment
 * variables, then explicit overrides (command-line options), later ones winning.
 */
public final class Configuration {
  private final Map<ConfigKey, String> values;

  private Configuration(Map<ConfigKey, String> values) {
    this.values = values;
  }

  /**
   * @param file a properties file, or null for none; an unknown key in it is an error, so a typo
   *     does not silently fall back to a default
   * @param environment usually {@code System.getenv()}
   * @param overrides values from the command line
   */
  public static Configuration load(Path file, Map<String, String> environment, Map<ConfigKey, String> overrides)
      throws IOException {
    Map<ConfigKey, String> v = new EnumMap<>(ConfigKey.class);
    for (ConfigKey k : ConfigKey.values()) {
      v.put(k, k.defaultValue());
    }
    if (file != null) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      }
      for (String name : p.stringPropertyNames()) {
        ConfigKey k;
        try {
          k = ConfigKey.byKey(name);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(e.getMessage() + " in " + file, e);
        }
        v.put(k, p.getProperty(name).trim());
      }
    }
    for (ConfigKey k : ConfigKey.values()) {
      String env = environment.get(k.environmentVariable());
      if (env != null) {
        v.put(k, env.trim());
      }
    }
    v.putAll(overrides);
    return new Configuration(v);
  }

  public String get(ConfigKey key) {
    return values.get(key);
  }

  /** The value, or empty when it is the empty string (the "not set" of every key). */
  public Optional<String> optional(ConfigKey key) {
    String s = values.get(key);
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  public int getInt(ConfigKey key) {
    try {
      return Integer.parseInt(values.get(key));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key.key() + " must be an integer, got '" + values.get(key) + "'", e);
    }
  }

  public long getLong(ConfigKey key) {
    try {
      return Long.parseLong(values.get(key));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key.key() + " must be an integer, got '" + values.get(key) + "'", e);
    }
  }

  public boolean getBoolean(ConfigKey key) {
    String s = values.get(key);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new IllegalArgumentException(key.key() + " must be true or false, got '" + s + "'");
  }

  public List<String> getList(ConfigKey key) {
    return Stream.of(values.get(key).split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  /**
   * Reads the secret in the file a {@code …File} key names. The message of a failure names the key
   * and the file, never the content.
   */
  public Optional<String> secretFromFile(ConfigKey key) {
    if (!key.key().endsWith("File")) {
      throw new IllegalArgumentException(key.key() + " does not name a secret file");
    }
    return optional(key)
        .map(
            f -> {
              try {
                return Files.readString(Path.of(f), StandardCharsets.UTF_8).strip();
              } catch (IOException e) {
                throw new IllegalArgumentException(
                    "cannot read the file named by " + key.key() + " (" + f + "): " + e.getClass().getSimpleName(), e);
              }
            });
  }
}

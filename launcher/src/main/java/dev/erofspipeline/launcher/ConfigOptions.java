package dev.erofspipeline.launcher;

import dev.erofspipeline.launcher.config.ConfigKey;
import dev.erofspipeline.launcher.config.Configuration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The configuration options every service command shares: {@code --config FILE}, the registry
 * options of ARCHITECTURE.md, and {@code --set KEY=VALUE} for any other key. Command-line values
 * win over the environment, which wins over the file.
 */
final class ConfigOptions {
  @Option(names = "--config", paramLabel = "FILE", description = "Properties file of configuration keys (docs/configuration.md)")
  Path configFile;

  @Option(names = "--insecure-registry", paramLabel = "HOST:PORT",
      description = "Registry reached over plain HTTP (repeatable; loopback test registries only)")
  List<String> insecureRegistries = new ArrayList<>();

  @Option(names = "--registry-config", paramLabel = "FILE", description = "Docker config.json with registry credentials")
  Path registryConfig;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Any configuration key (repeatable), e.g. --set kafka.bootstrap=host:9092")
  List<String> settings = new ArrayList<>();

  /** Environment the configuration reads; tests replace it. */
  static volatile Map<String, String> environment = System.getenv();

  Configuration load() throws IOException {
    return load(Map.of());
  }

  /** With the command's own options, which win over {@code --set}. */
  Configuration load(Map<ConfigKey, String> commandOptions) throws IOException {
    if (configFile != null && !Files.isRegularFile(configFile)) {
      throw new IllegalArgumentException("--config: no such file " + configFile);
    }
    Map<ConfigKey, String> overrides = new EnumMap<>(ConfigKey.class);
    for (String s : settings) {
      int eq = s.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--set needs KEY=VALUE, got '" + s + "'");
      }
      overrides.put(ConfigKey.byKey(s.substring(0, eq).trim()), s.substring(eq + 1).trim());
    }
    if (!insecureRegistries.isEmpty()) {
      overrides.put(ConfigKey.REGISTRY_INSECURE, String.join(",", insecureRegistries));
    }
    if (registryConfig != null) {
      overrides.put(ConfigKey.REGISTRY_CONFIG, registryConfig.toString());
    }
    overrides.putAll(commandOptions);
    return Configuration.load(configFile, environment, overrides);
  }
}

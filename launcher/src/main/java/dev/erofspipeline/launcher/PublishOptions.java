package dev.erofspipeline.launcher;

import dev.erofspipeline.launcher.config.ConfigKey;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The publisher's options shared by {@code run} and {@code convert}; each is also a configuration key. */
final class PublishOptions {
  @Option(names = "--signing-key", paramLabel = "FILE", description = "PEM private key or PKCS#12 file (signing.keyFile)")
  Path signingKey;

  @Option(names = "--signing-cert", paramLabel = "FILE", description = "PEM certificate chain, signer first (signing.certFile)")
  Path signingCert;

  @Option(names = "--profile", paramLabel = "image-bundle|layer|all", description = "Attachment profile (profile)")
  String profile;

  @Option(names = "--native", description = "Also publish each image as an EROFS image, an index tagged <tag>-erofs (native.enabled)")
  boolean nativeImages;

  @Option(names = "--native-update-tag", description = "Tag the EROFS image index with the requested tag itself (native.updateTag)")
  boolean nativeUpdateTag;

  /** The keys these options set, for {@link ConfigOptions#load(Map)}. */
  Map<ConfigKey, String> asConfiguration() {
    Map<ConfigKey, String> own = new EnumMap<>(ConfigKey.class);
    if (signingKey != null) {
      own.put(ConfigKey.SIGNING_KEY_FILE, signingKey.toString());
    }
    if (signingCert != null) {
      own.put(ConfigKey.SIGNING_CERT_FILE, signingCert.toString());
    }
    if (profile != null) {
      own.put(ConfigKey.PROFILE, profile);
    }
    if (nativeImages) {
      own.put(ConfigKey.NATIVE_ENABLED, "true");
    }
    if (nativeUpdateTag) {
      own.put(ConfigKey.NATIVE_UPDATE_TAG, "true");
    }
    return own;
  }
}

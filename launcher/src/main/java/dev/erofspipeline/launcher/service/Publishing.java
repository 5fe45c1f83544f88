package dev.erofspipeline.launcher.service;

import dev.erofspipeline.launcher.config.ConfigKey;
import dev.erofspipeline.publish.PublishProfile;
import dev.erofspipeline.publish.Publisher;
import dev.erofspipeline.publish.S3ArtifactSource;
import dev.erofspipeline.publish.route.PublishRoute;
import dev.erofspipeline.publish.route.PublishService;
import dev.erofspipeline.publish.signing.CmsRootHashSigner;
import dev.erofspipeline.publish.signing.KeyPassword;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.publish.signing.SigningCredentials;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The publish role's settings, checked before anything starts (signing key and chain, the CA the
 * publisher checks its own signatures against, attachment profiles), and its Camel context.
 */
final class Publishing {
  private final SigningCredentials credentials;
  private final SignatureVerifier verifier;
  private final Set<PublishProfile> profiles;
  private final Duration retry;
  private final boolean nativeTagInPlace;
  private final Duration sessionTimeout;
  private final Duration rescan;
  private final int maxWaitingImages;

  private Publishing(SigningCredentials credentials, SignatureVerifier verifier, Set<PublishProfile> profiles, Duration retry,
      boolean nativeTagInPlace, Duration sessionTimeout, Duration rescan, int maxWaitingImages) {
    this.credentials = credentials;
    this.verifier = verifier;
    this.profiles = profiles;
    this.retry = retry;
    this.nativeTagInPlace = nativeTagInPlace;
    this.sessionTimeout = sessionTimeout;
    this.rescan = rescan;
    this.maxWaitingImages = maxWaitingImages;
  }

  static Publishing configure(Installation inst) {
    Set<PublishProfile> profiles;
    try {
      profiles = PublishProfile.parse(inst.config().get(ConfigKey.PROFILE));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(ConfigKey.PROFILE.key() + ": " + e.getMessage(), e);
    }
    Duration retry = Duration.ofSeconds(inst.positiveInt(ConfigKey.PUBLISH_RETRY_SECONDS, 1));
    Duration sessionTimeout = Duration.ofSeconds(inst.positiveInt(ConfigKey.PUBLISH_SESSION_TIMEOUT_SECONDS, 6));
    Duration rescan = Duration.ofSeconds(inst.positiveInt(ConfigKey.PUBLISH_RESCAN_SECONDS, 1));
    int maxWaitingImages = inst.positiveInt(ConfigKey.PUBLISH_MAX_WAITING_IMAGES, 1);
    Path key = existing(inst, ConfigKey.SIGNING_KEY_FILE).orElseThrow(() -> new IllegalArgumentException(
        ConfigKey.SIGNING_KEY_FILE.key() + " is empty: the publisher signs every root hash"));
    Path cert = existing(inst, ConfigKey.SIGNING_CERT_FILE).orElse(null);
    KeyPassword password = existing(inst, ConfigKey.SIGNING_PASSWORD_FILE).map(KeyPassword::fromFile).orElse(KeyPassword.none());
    SigningCredentials credentials;
    try {
      credentials = SigningCredentials.load(key, cert, password);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(ConfigKey.SIGNING_KEY_FILE.key() + "/" + ConfigKey.SIGNING_CERT_FILE.key()
          + ": " + e.getMessage(), e);
    }
    SignatureVerifier verifier;
    try {
      Path ca = existing(inst, ConfigKey.SIGNING_CA_FILE).orElse(null);
      if (ca != null) {
        verifier = SignatureVerifier.fromCaBundle(ca);
      } else {
        List<X509Certificate> chain = credentials.chain();
        verifier = SignatureVerifier.builder().trustAnchors(List.of(chain.get(chain.size() - 1))).build();
      }
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(ConfigKey.SIGNING_CA_FILE.key() + ": " + e.getMessage(), e);
    }
    return new Publishing(credentials, verifier, profiles, retry, inst.config().getBoolean(ConfigKey.NATIVE_UPDATE_TAG),
        sessionTimeout, rescan, maxWaitingImages);
  }

  private static java.util.Optional<Path> existing(Installation inst, ConfigKey key) {
    return inst.config().optional(key).map(f -> {
      Path p = Path.of(f);
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(key.key() + ": no such file " + p);
      }
      return p;
    });
  }

  Set<PublishProfile> profiles() {
    return profiles;
  }

  /** Starts the publish route; closing the returned context stops it. */
  AutoCloseable start(String bootstrap, String group, Topics topics, RegistryOptions registryOptions, S3Client s3,
      String bucket, String s3Prefix, MeterRegistry meters) throws Exception {
    RecordValidator validator = RecordValidator.defaults();
    Publisher publisher = Publisher.builder()
        .registryOptions(registryOptions)
        .artifacts(new S3ArtifactSource(s3))
        .signer(new CmsRootHashSigner(credentials))
        .verifier(verifier)
        .profiles(profiles)
        .nativeTagInPlace(nativeTagInPlace)
        .build();
    PublishService service = PublishService.create(publisher, s3, bucket, s3Prefix, validator, Clock.systemUTC())
        .withMaxWaitingImages(maxWaitingImages);
    Gauge.builder("erofs.publish.waiting.images", service, PublishService::waitingImages)
        .description("Images this publisher indexes while they wait for layer results (publish.maxWaitingImages at most)")
        .register(meters);
    CamelContext camel = new DefaultCamelContext();
    camel.getShutdownStrategy().setTimeout(30);
    camel.addRoutes(new PublishRoute(new PublishRoute.Settings(bootstrap, group, retry, false, sessionTimeout, rescan), topics, validator, service));
    camel.start();
    return camel;
  }
}

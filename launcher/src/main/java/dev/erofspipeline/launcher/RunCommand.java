package dev.erofspipeline.launcher;

import dev.erofspipeline.launcher.service.Installation;
import dev.erofspipeline.launcher.service.Role;
import dev.erofspipeline.launcher.service.RoleServices;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** The long-running services of one role, until SIGTERM (or SIGINT). */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the services of a role against the configured Kafka, S3 and registries until SIGTERM:",
      "ingest (image requests, webhook), worker (layer conversion), publish, or all of them.",
      "Metrics, /health/live and /health/ready on http.port."
    })
final class RunCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ConfigOptions options;

  @Option(names = "--role", paramLabel = "ROLE", defaultValue = "all",
      description = "ingest, worker, publish or all (default: ${DEFAULT-VALUE})")
  String role;

  @Option(names = "--signing-key", paramLabel = "FILE", description = "PEM private key or PKCS#12 file (signing.keyFile)")
  java.nio.file.Path signingKey;

  @Option(names = "--signing-cert", paramLabel = "FILE", description = "PEM certificate chain, signer first (signing.certFile)")
  java.nio.file.Path signingCert;

  @Option(names = "--profile", paramLabel = "image-bundle|layer|all", description = "Attachment profile (profile)")
  String profile;

  /** Told about the services once they run (tests stop them through it). */
  static volatile Consumer<RoleServices> onStarted = s -> { };

  @Override
  public Integer call() throws Exception {
    Role r = Role.parse(role);
    java.util.Map<dev.erofspipeline.launcher.config.ConfigKey, String> own = new java.util.EnumMap<>(
        dev.erofspipeline.launcher.config.ConfigKey.class);
    if (signingKey != null) {
      own.put(dev.erofspipeline.launcher.config.ConfigKey.SIGNING_KEY_FILE, signingKey.toString());
    }
    if (signingCert != null) {
      own.put(dev.erofspipeline.launcher.config.ConfigKey.SIGNING_CERT_FILE, signingCert.toString());
    }
    if (profile != null) {
      own.put(dev.erofspipeline.launcher.config.ConfigKey.PROFILE, profile);
    }
    Installation inst = new Installation(options.load(own));
    RoleServices services = RoleServices.start(inst, r, Main.projectVersion());
    Thread hook = new Thread(services::close, "erofs-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    spec.commandLine().getErr().println("erofs-pipeline: role " + r.label() + " running"
        + (services.httpPort() > 0 ? ", metrics and health on port " + services.httpPort() : ""));
    spec.commandLine().getErr().flush();
    onStarted.accept(services);
    services.awaitStopped();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // stopped by the hook itself
    }
    return 0;
  }
}

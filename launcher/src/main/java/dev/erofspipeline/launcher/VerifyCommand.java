package dev.erofspipeline.launcher;

import dev.erofspipeline.publish.PublishProfile;
import dev.erofspipeline.publish.verify.NativeImageVerifier;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.publish.verify.ImageVerifier;
import dev.erofspipeline.publish.verify.LayerCheck;
import dev.erofspipeline.publish.verify.VerifyReport;
import dev.erofspipeline.registry.DockerConfig;
import dev.erofspipeline.registry.ImageReference;
import dev.erofspipeline.registry.Registries;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.registry.RegistryTarget;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code verify REF --ca FILE}: does what a node would do with the published artifacts (see {@link
 * ImageVerifier}) and prints one row per layer; exits 1 naming the first failed layer and its reason.
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "Finds the referrers of an image (referrers API or tag-schema fallback; oci:DIR layouts too),",
      "downloads the tar index, Merkle tree and signature of every layer, recomputes the tree over",
      "index || tar, and checks root hash, signature (against the CA bundle) and UUID bindings."
    })
final class VerifyCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REF", description = "host[:port]/repo[:tag|@digest], docker://..., or oci:DIR[:tag]")
  String reference;

  @Option(names = "--ca", required = true, paramLabel = "FILE", description = "PEM bundle of trusted root (and intermediate) certificates.")
  Path ca;

  @Option(names = "--profile", paramLabel = "PROFILE", defaultValue = "image-bundle",
      description = "image-bundle (default), layer, all, or native (the EROFS image: REF is its index or tag, e.g. <tag>-erofs).")
  String profile;

  @Option(names = "--insecure-registry", paramLabel = "HOST:PORT",
      description = "Reach this registry over plain HTTP (loopback test registries only). Repeatable.")
  List<String> insecure = new ArrayList<>();

  @Option(names = "--registry-config", paramLabel = "FILE", description = "Docker config.json with credentials.")
  Path registryConfig;

  @Override
  public Integer call() throws Exception {
    boolean nativeImage = profile.trim().equals(NativeImageVerifier.PROFILE);
    Set<PublishProfile> profiles = nativeImage ? Set.of() : PublishProfile.parse(profile);
    ImageReference ref = ImageReference.parse(reference);
    if (ref.reference() == null) {
      throw new IllegalArgumentException("reference " + reference + " names no tag or digest");
    }
    RegistryOptions options = RegistryOptions.builder().insecureHosts(insecure)
        .dockerConfig(registryConfig != null ? DockerConfig.load(registryConfig) : DockerConfig.loadDefault()).build();
    SignatureVerifier signatures = SignatureVerifier.fromCaBundle(ca);
    PrintWriter out = spec.commandLine().getOut();
    String firstFailure = null;
    try (RegistryTarget target = Registries.open(ref, options)) {
      List<VerifyReport> reports = new ArrayList<>();
      if (nativeImage) {
        reports.add(new NativeImageVerifier(target, signatures).verify(ref.repository(), ref.reference()));
      }
      for (PublishProfile p : profiles) {
        reports.add(new ImageVerifier(target, signatures, p).verify(ref.repository(), ref.reference()));
      }
      for (VerifyReport report : reports) {
        out.printf("%-12s %-9s %-71s %-6s %s%n", "PROFILE", "PLATFORM", "LAYER", "RESULT", "REASON");
        for (LayerCheck c : report.layers()) {
          out.printf("%-12s %-9s %-71s %-6s %s%n", report.profile(), c.platform() == null ? "-" : c.platform(),
              c.layerDigest(), c.ok() ? "ok" : "FAIL", c.ok() ? "" : c.reason().text() + ": " + c.detail());
          if (!c.ok() && firstFailure == null) {
            firstFailure = "layer " + c.layerDigest() + ": " + c.reason().text() + " (" + report.profile() + ")";
          }
        }
        for (String problem : report.problems()) {
          out.println(report.profile() + ": " + problem);
          if (firstFailure == null) {
            firstFailure = problem;
          }
        }
        if (report.layers().isEmpty() && report.problems().isEmpty() && firstFailure == null) {
          firstFailure = "no layers found";
        }
      }
    }
    out.flush();
    if (firstFailure != null) {
      spec.commandLine().getErr().println("erofs-pipeline: verify failed: " + firstFailure);
      return 1;
    }
    out.println("verified: " + reference);
    return 0;
  }
}

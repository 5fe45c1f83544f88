package dev.erofspipeline.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.erofspipeline.launcher.service.Installation;
import dev.erofspipeline.launcher.status.StatusTopic;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.RecordValidator;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints the per-image status of a running installation from its compacted {@code erofs.status} topic. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Reads the installation's compacted erofs.status topic (kafka.bootstrap) to its current end and",
      "prints one line per image: reference, platform, subject digest and state (queued, converting n/m",
      "layers, publishing, published, failed with the reason)."
    })
final class StatusCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ConfigOptions options;

  @Parameters(arity = "0..1", paramLabel = "REF",
      description = "Only images with this reference (as submitted, or registry/repository) or subject digest (a prefix is enough)")
  String ref;

  @Option(names = "--all", description = "Every image (the default without REF)")
  boolean all;

  @Option(names = "--json", description = "A JSON array of the ImageStatus records instead of lines")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (all && ref != null) {
      throw new IllegalArgumentException("give either REF or --all, not both");
    }
    Installation inst = new Installation(options.load());
    String bootstrap = inst.kafkaBootstrap("status reads a running installation; set it with --set kafka.bootstrap=HOST:PORT or EROFS_KAFKA_BOOTSTRAP");
    List<ImageStatus> found = StatusTopic.snapshot(bootstrap, inst.topics().status(), Duration.ofSeconds(60))
        .values().stream().filter(this::matches).toList();
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      ObjectMapper m = RecordValidator.objectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      out.println(m.writeValueAsString(found));
    } else if (found.isEmpty()) {
      out.println(ref == null ? "no images in " + inst.topics().status() : "no image matches " + ref);
    } else {
      for (ImageStatus s : found) {
        out.printf(Locale.ROOT, "%-40s %-14s %-19s %s%n", StatusTopic.displayName(s),
            s.platform() == null ? "-" : s.platform(), shortDigest(s.subjectDigest()), StatusTopic.stateText(s));
      }
    }
    out.flush();
    return 0;
  }

  private boolean matches(ImageStatus s) {
    if (ref == null) {
      return true;
    }
    if (ref.equals(s.reference()) || ref.equals(s.registry() + "/" + s.repository())) {
      return true;
    }
    String d = s.subjectDigest();
    String hex = d.substring(d.indexOf(':') + 1);
    return ref.length() >= 8 && (d.startsWith(ref) || hex.startsWith(ref));
  }

  /** {@code sha256:} and the first 12 hex digits. */
  static String shortDigest(String digest) {
    int colon = digest.indexOf(':');
    return digest.length() > colon + 13 ? digest.substring(0, colon + 13) : digest;
  }
}

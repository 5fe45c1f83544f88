package dev.erofspipeline.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Builds a sample image, converts and publishes it with {@code convert}, then checks it with {@code verify}. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Builds a small two-platform sample image (real tar layers with files, links and whiteouts) in an",
      "OCI layout, runs convert on it with no external services, then verify, and shows both results."
    })
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ConfigOptions options;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".erofs-pipeline/demo-image",
      description = "Where the sample OCI layout is written (default: ${DEFAULT-VALUE})")
  Path dir;

  @Override
  public Integer call() throws Exception {
    Path layout = dir.toAbsolutePath();
    if (!Files.exists(layout.resolve("index.json"))) {
      DemoImage.write(layout, "demo");
    }
    String ref = "oci:" + layout + ":demo";
    spec.commandLine().getErr().println("erofs-pipeline: sample image written to " + layout + "; converting " + ref);
    List<String> shared = new ArrayList<>();
    if (options.configFile != null) {
      shared.add("--config=" + options.configFile);
    }
    options.settings.forEach(s -> shared.add("--set=" + s));

    List<String> convert = new ArrayList<>(List.of("convert", ref));
    convert.addAll(shared);
    int rc = spec.root().commandLine().execute(convert.toArray(String[]::new));
    if (rc != 0) {
      return rc;
    }
    Path ca = ConvertCommand.localKeyDir(options.load()).resolve("ca.pem");
    spec.commandLine().getErr().println("erofs-pipeline: verifying " + ref + " as a node would, against " + ca);
    return spec.root().commandLine().execute("verify", ref, "--ca", ca.toString());
  }
}

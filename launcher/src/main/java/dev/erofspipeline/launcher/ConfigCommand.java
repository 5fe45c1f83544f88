package dev.erofspipeline.launcher;

import dev.erofspipeline.launcher.config.ConfigKey;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints every configuration key with its environment variable and default. */
@Command(
    name = "config-keys",
    mixinStandardHelpOptions = true,
    description = "Lists every configuration key, its environment variable and its default (Markdown).")
final class ConfigCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().print(markdownTable());
    spec.commandLine().getOut().flush();
    return 0;
  }

  /** The table docs/configuration.md embeds; a test keeps the two equal. */
  static String markdownTable() {
    StringBuilder sb = new StringBuilder();
    sb.append("| key | environment variable | default | meaning |\n");
    sb.append("|---|---|---|---|\n");
    for (ConfigKey k : ConfigKey.values()) {
      String def = k.defaultValue().isEmpty() ? "(empty)" : "`" + k.defaultValue() + "`";
      sb.append("| `").append(k.key()).append("` | `").append(k.environmentVariable()).append("` | ")
          .append(def).append(" | ").append(k.description()).append(" |\n");
    }
    return sb.toString();
  }
}

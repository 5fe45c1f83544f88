package dev.erofspipeline.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./erofs-pipeline}: one executable jar, one subcommand per job. */
@Command(
    name = "erofs-pipeline",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
      "Converts container image layers to EROFS tar indexes with dm-verity trees and signed root hashes,",
      "and attaches them to the registry as OCI 1.1 referrers."
    },
    subcommands = {CommandLine.HelpCommand.class, ConfigCommand.class, ConvertLayerCommand.class, ConvertCommand.class, DemoCommand.class, VerifyCommand.class, RunCommand.class, SubmitCommand.class, StatusCommand.class, BackfillCommand.class})
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, shared by {@link #main} and the tests. */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          // One line on stderr, never a stack trace: messages are written to be read by operators.
          commandLine.getErr().println("erofs-pipeline: " + ex.getMessage());
          return 1;
        });
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Reads the version Maven filtered into the jar. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"erofs-pipeline " + projectVersion()};
    }
  }

  static String projectVersion() {
    Properties p = new Properties();
    try (InputStream in = Main.class.getResourceAsStream("/erofs-pipeline-version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p.getProperty("version", "unknown");
  }
}

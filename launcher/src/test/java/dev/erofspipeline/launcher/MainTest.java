package dev.erofspipeline.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

  private record Run(int exitCode, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int rc = cl.execute(args);
    return new Run(rc, out.toString(), err.toString());
  }

  @Test
  void versionPrintsTheProjectVersionFromTheBuild() {
    Run r = run("--version");
    assertEquals(0, r.exitCode());
    assertTrue(r.out().matches("erofs-pipeline \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R"), r.out());
  }

  @Test
  void helpListsTheCommands() {
    Run r = run("--help");
    assertEquals(0, r.exitCode());
    assertTrue(r.out().startsWith("Usage: erofs-pipeline"), r.out());
    assertTrue(r.out().contains("Commands:"), r.out());
  }

  @Test
  void anUnknownOptionIsRefusedWithANonZeroExitAndAReason() {
    Run r = run("--no-such-option");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("Unknown option: '--no-such-option'"), r.err());
  }
}

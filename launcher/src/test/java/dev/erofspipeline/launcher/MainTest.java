package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MainTest {

  @Test
  void versionPrintsTheProjectVersionFromTheBuild() {
    CommandRun r = run("--version");
    assertEquals(0, r.exitCode());
    assertTrue(r.out().matches("erofs-pipeline \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R"), r.out());
  }

  @Test
  void helpListsTheCommands() {
    CommandRun r = run("--help");
    assertEquals(0, r.exitCode());
    assertTrue(r.out().startsWith("Usage: erofs-pipeline"), r.out());
    assertTrue(r.out().contains("Commands:"), r.out());
  }

  @Test
  void anUnknownOptionIsRefusedWithANonZeroExitAndAReason() {
    CommandRun r = run("--no-such-option");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("Unknown option: '--no-such-option'"), r.err());
  }
}

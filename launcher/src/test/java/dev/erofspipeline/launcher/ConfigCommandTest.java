package dev.erofspipeline.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigCommandTest {

  /** Surefire runs in the module directory; the docs live at the repository root. */
  @Test
  void theDocumentedKeysAreExactlyTheKeysTheCodeReads() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "configuration.md"));
    assertTrue(
        doc.contains(ConfigCommand.markdownTable()),
        "docs/configuration.md is out of date: paste the output of ./erofs-pipeline config-keys");
  }
}

package dev.erofspipeline.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The converter core must stay testable and benchmarkable alone: no Kafka, Camel or S3 in it. Only
 * the {@code worker} package (the route around the core) may use them.
 */
class CoreIsPureJavaTest {
  private static final Pattern FORBIDDEN =
      Pattern.compile("^import\\s+(static\\s+)?(org\\.apache\\.kafka|org\\.apache\\.camel|software\\.amazon)\\.", Pattern.MULTILINE);

  @Test
  void coreSourcesImportNoKafkaCamelOrS3() throws IOException {
    Path root = Path.of("src", "main", "java", "dev", "erofspipeline", "convert");
    Path worker = root.resolve("worker");
    List<Path> core;
    try (Stream<Path> files = Files.walk(root)) {
      core = files.filter(p -> p.toString().endsWith(".java") && !p.startsWith(worker)).toList();
    }
    assertTrue(core.size() > 10, "core sources not found under " + root.toAbsolutePath());
    List<Path> offenders =
        core.stream()
            .filter(
                p -> {
                  try {
                    return FORBIDDEN.matcher(Files.readString(p)).find();
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                })
            .toList();
    assertEquals(List.of(), offenders);
  }
}

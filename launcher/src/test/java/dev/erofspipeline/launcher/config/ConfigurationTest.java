package dev.erofspipeline.launcher.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.launcher.service.Installation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigurationTest {
  @TempDir Path dir;

  @Test
  void theDefaultConversionLimitsAreTheConvertersAndABadOneNamesItsKey() throws Exception {
    Configuration defaults = Configuration.load(null, Map.of(), Map.of());
    assertEquals(ConversionLimits.DEFAULT, new Installation(defaults).conversionLimits());
    Configuration zero = Configuration.load(null, Map.of(), Map.of(ConfigKey.CONVERT_MAX_ENTRIES, "0"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Installation(zero).conversionLimits());
    assertEquals("convert.maxEntries must be at least 1, got 0", e.getMessage());
  }

  @Test
  void theWorkerTempDirIsJavaIoTmpdirByDefaultCreatedIfMissingAndRefusedIfUnusable() throws Exception {
    Configuration defaults = Configuration.load(null, Map.of(), Map.of());
    assertEquals(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath(), new Installation(defaults).workerTempDir());

    Path missing = dir.resolve("a/b/spool");
    Configuration created = Configuration.load(null, Map.of(), Map.of(ConfigKey.WORKER_TEMP_DIR, missing.toString()));
    assertEquals(missing, new Installation(created).workerTempDir());
    assertTrue(Files.isDirectory(missing));
    try (var left = Files.list(missing)) {
      assertEquals(List.of(), left.toList(), "the write check leaves nothing behind");
    }

    Path file = Files.writeString(dir.resolve("a-file"), "x");
    for (Path unusable : List.of(file, file.resolve("below"))) {
      Configuration c = Configuration.load(null, Map.of(), Map.of(ConfigKey.WORKER_TEMP_DIR, unusable.toString()));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Installation(c).workerTempDir());
      assertTrue(e.getMessage().startsWith("worker.tempDir: "), e.getMessage());
      assertTrue(e.getMessage().contains(unusable.toString()), e.getMessage());
    }
  }

  @Test
  void laterSourcesWinOverEarlierOnes() throws Exception {
    Path file = Files.writeString(dir.resolve("p.properties"), "s3.bucket=from-file\ns3.region=eu-west-1\nworker.concurrency=3\n");
    Configuration c =
        Configuration.load(
            file,
            Map.of("EROFS_S3_REGION", "from-env", "EROFS_WORKER_CONCURRENCY", "5"),
            Map.of(ConfigKey.WORKER_CONCURRENCY, "7"));
    assertEquals("from-file", c.get(ConfigKey.S3_BUCKET));
    assertEquals("from-env", c.get(ConfigKey.S3_REGION));
    assertEquals(7, c.getInt(ConfigKey.WORKER_CONCURRENCY));
    assertEquals("9400", c.get(ConfigKey.HTTP_PORT));
  }

  @Test
  void environmentVariableNamesFollowTheKey() {
    assertEquals("EROFS_S3_SECRET_KEY_FILE", ConfigKey.S3_SECRET_KEY_FILE.environmentVariable());
    assertEquals("EROFS_KAFKA_TOPIC_PREFIX", ConfigKey.KAFKA_TOPIC_PREFIX.environmentVariable());
    assertEquals("EROFS_HTTP_PORT", ConfigKey.HTTP_PORT.environmentVariable());
  }

  @Test
  void aTypoInTheFileIsRefusedNotIgnored() throws Exception {
    Path file = Files.writeString(dir.resolve("p.properties"), "s3.buckett=x\n");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Configuration.load(file, Map.of(), Map.of()));
    assertTrue(e.getMessage().contains("unknown configuration key 's3.buckett'"), e.getMessage());
  }

  @Test
  void listsAndBooleansParseAndBadValuesNameTheKey() throws Exception {
    Configuration c =
        Configuration.load(null, Map.of("EROFS_REGISTRY_INSECURE", " 127.0.0.1:5000, localhost:5001 ,", "EROFS_S3_PATH_STYLE", "yes"), Map.of());
    assertEquals(List.of("127.0.0.1:5000", "localhost:5001"), c.getList(ConfigKey.REGISTRY_INSECURE));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.getBoolean(ConfigKey.S3_PATH_STYLE));
    assertTrue(e.getMessage().startsWith("s3.pathStyle must be true or false"), e.getMessage());
    assertFalse(c.optional(ConfigKey.KAFKA_BOOTSTRAP).isPresent());
  }

  @Test
  void secretsAreReadFromFilesAndNeverQuotedInErrors() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "s3cr3t-value\n");
    Configuration c = Configuration.load(null, Map.of("EROFS_S3_SECRET_KEY_FILE", secret.toString()), Map.of());
    assertEquals("s3cr3t-value", c.secretFromFile(ConfigKey.S3_SECRET_KEY_FILE).orElseThrow());

    Configuration missing = Configuration.load(null, Map.of("EROFS_S3_SECRET_KEY_FILE", dir.resolve("nope").toString()), Map.of());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> missing.secretFromFile(ConfigKey.S3_SECRET_KEY_FILE));
    assertTrue(e.getMessage().contains("s3.secretKeyFile"), e.getMessage());
  }
}

package dev.erofspipeline.launcher;

import static java.nio.file.StandardOpenOption.CREATE_NEW;

import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A configuration file for the service tests, written as an operator would write one: the broker
 * and S3 fixtures (S3 credentials by file reference), every topic and S3 key under {@code prefix},
 * then the test's own settings. The files are named after the prefix and must be new, so two
 * configurations in one directory cannot overwrite each other.
 */
final class FixtureConfig {
  private FixtureConfig() {}

  static Path write(Path dir, String prefix, KafkaFixture kafka, S3Fixture s3, List<String> settings)
      throws IOException {
    Path access = Files.writeString(dir.resolve(prefix + "access"), s3.accessKey() + "\n", CREATE_NEW);
    Path secret = Files.writeString(dir.resolve(prefix + "secret"), s3.secretKey() + "\n", CREATE_NEW);
    List<String> lines = new ArrayList<>(List.of(
        "kafka.bootstrap=" + kafka.bootstrapServers(),
        "kafka.topicPrefix=" + prefix,
        "s3.endpoint=" + s3.endpoint(),
        "s3.bucket=" + s3.bucket(),
        "s3.prefix=" + prefix,
        "s3.accessKeyFile=" + access,
        "s3.secretKeyFile=" + secret));
    lines.addAll(settings);
    return Files.writeString(dir.resolve(prefix + "erofs.properties"), String.join("\n", lines) + "\n", CREATE_NEW);
  }
}

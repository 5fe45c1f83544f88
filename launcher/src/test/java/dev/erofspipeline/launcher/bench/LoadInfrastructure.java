package dev.erofspipeline.launcher.bench;

import dev.erofspipeline.embedded.EmbeddedKafka;
import dev.erofspipeline.embedded.EmbeddedS3;
import java.net.URI;
import java.nio.file.Path;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The shared Kafka broker and S3 server of the load test, in a JVM of their own so that their memory
 * and CPU are not counted against any role: starts both (S3 objects on disk under the given
 * directory, the bucket created), prints one line {@code READY <bootstrap> <s3 endpoint>} and runs
 * until its standard input closes or it gets SIGTERM.
 *
 * <p>Usage: {@code LoadInfrastructure DIR BUCKET}
 */
public final class LoadInfrastructure {
  private LoadInfrastructure() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    String bucket = args[1];
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().dataDir(dir.resolve("kafka")).start();
        EmbeddedS3 s3 = EmbeddedS3.builder().directory(dir.resolve("s3")).start()) {
      URI endpoint = s3.endpoint();
      try (S3Client client = S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1)
          .forcePathStyle(true)
          .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey())))
          .build()) {
        client.createBucket(b -> b.bucket(bucket));
      }
      System.out.println("READY " + kafka.bootstrapServers() + " " + endpoint);
      System.out.flush();
      // the parent holds our stdin; its end (normal or not) ends us
      while (System.in.read() >= 0) {
        // nothing is sent
      }
    }
  }
}

package dev.erofspipeline.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.S3Fixture;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code run} as its own JVM, stopped by SIGTERM like Kubernetes stops a pod. */
class RunProcessTest {
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final S3Fixture S3 = S3Fixture.create();

  @TempDir Path dir;

  @Test
  void sigtermStopsTheServicesAndTheProcess() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path access = Files.writeString(dir.resolve("access"), S3.accessKey());
    Path secret = Files.writeString(dir.resolve("secret"), S3.secretKey());
    Path config = Files.writeString(dir.resolve("erofs.properties"), String.join("\n",
        "kafka.bootstrap=" + KAFKA.bootstrapServers(),
        "kafka.topicPrefix=proc.",
        "kafka.topicPartitions=1",
        "s3.endpoint=" + S3.endpoint(),
        "s3.bucket=proc-bucket",
        "s3.createBucket=true",
        "s3.accessKeyFile=" + access,
        "s3.secretKeyFile=" + secret,
        "registry.allowlist=registry.example",
        "worker.concurrency=1",
        "worker.shutdownGraceSeconds=3",
        "http.bind=127.0.0.1",
        "http.port=" + port,
        ""));
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path log = dir.resolve("run.log");
    Process p = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-cp", classpath,
            Main.class.getName(), "run", "--role", "worker", "--config", config.toString()))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      int status = 0;
      while (status != 200 && System.nanoTime() < end && p.isAlive()) {
        try {
          status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
              .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException notYet) {
          Thread.sleep(200);
        }
      }
      assertEquals(200, status, Files.readString(log));
      S3.client().headBucket(b -> b.bucket("proc-bucket")); // s3.createBucket made it

      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "still running after SIGTERM:\n" + Files.readString(log));
      assertEquals(143, p.exitValue(), Files.readString(log));
      String out = Files.readString(log);
      assertTrue(out.contains("stopping role worker"), out);
      assertTrue(!out.contains("Exception in thread"), out);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void sigtermStopsRoleAllStagesTogetherAndTheEmbeddedServersLast() throws Exception {
    TestSigningKeys keys = TestSigningKeys.create(dir);
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path log = dir.resolve("all.log");
    Process p = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-cp", classpath,
            Main.class.getName(), "run", "--role", "all", "--signing-key", keys.key().toString(),
            "--signing-cert", keys.chain().toString(),
            "--set", "kafka.dataDir=" + dir.resolve("kafka"), "--set", "s3.dataDir=" + dir.resolve("s3"),
            "--set", "http.port=0", "--set", "worker.shutdownGraceSeconds=3", "--set", "registry.allowlist=*"))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    try {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!Files.readString(log).contains("role all running") && System.nanoTime() < end && p.isAlive()) {
        Thread.sleep(200);
      }
      assertTrue(Files.readString(log).contains("role all running"), Files.readString(log));

      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running after SIGTERM:\n" + Files.readString(log));
      assertEquals(143, p.exitValue(), Files.readString(log));
      String out = Files.readString(log);
      // the embedded servers have no exit hooks of their own: they stop after every stage, not during
      int kafka = out.indexOf("stopped embedded Kafka");
      int s3 = out.indexOf("stopped embedded S3");
      assertTrue(kafka > 0 && s3 > 0, out);
      for (String stage : List.of("ingest", "worker", "publisher")) {
        int stopped = out.indexOf("stopped " + stage + " in");
        assertTrue(stopped > 0 && stopped < Math.min(kafka, s3), stage + "\n" + out);
      }
      assertTrue(!out.contains("Exception in thread"), out);
    } finally {
      p.destroyForcibly();
    }
  }
}

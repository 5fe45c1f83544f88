package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.erofspipeline.embedded.EmbeddedS3;
import dev.erofspipeline.launcher.service.RoleServices;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.Topics;
import dev.erofspipeline.testkit.Digests;
import dev.erofspipeline.testkit.HostileCorpus;
import dev.erofspipeline.testkit.KafkaFixture;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.TarBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A planted secret: one random value is the registry password (docker config.json), the S3 secret
 * key (of an S3Proxy started with it), the webhook secret and the signing key's password. A batch
 * with a published image, a refused layer, a registry that refuses the credentials (a TEST DOUBLE:
 * docker-registry here has no auth) and a registry outside the allowlist runs through {@code run
 * --role all}; then every line the process printed, {@code /metrics}, {@code /status} and every
 * record (key, value, headers) of every topic must hold neither the secret, nor its Basic
 * encoding, nor a line of the signing key's PEM body.
 */
class SecretsStayOutOfOutputTest {
  @RegisterExtension static final KafkaFixture KAFKA = KafkaFixture.create();
  @RegisterExtension static final RegistryFixture REGISTRY = RegistryFixture.create();

  @TempDir static Path dir;

  private static final RecordValidator V = RecordValidator.defaults();
  private static final String SECRET = "planted-" + UUID.randomUUID().toString().replace("-", "");
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void theSecretAndTheKeyAppearInNoLogMetricStatusOrRecord() throws Exception {
    String prefix = "s" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Topics topics = Topics.withPrefix(prefix);
    String basic = "Basic " + Base64.getEncoder().encodeToString(("robot:" + SECRET).getBytes(StandardCharsets.UTF_8));
    AtomicBoolean credentialsSent = new AtomicBoolean();
    HttpServer refusingDouble = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    refusingDouble.createContext("/", ex -> {
      credentialsSent.compareAndSet(false, basic.equals(ex.getRequestHeaders().getFirst("Authorization")));
      ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"double\"");
      byte[] body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"credentials refused\"}]}".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(401, body.length);
      try (OutputStream o = ex.getResponseBody()) {
        o.write(body);
      }
    });
    refusingDouble.start();
    String refusing = "127.0.0.1:" + refusingDouble.getAddress().getPort();

    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(new Tee(captured, out), true));
    System.setErr(new PrintStream(new Tee(captured, err), true));
    StringBuilder seen = new StringBuilder();
    EmbeddedS3 s3 = EmbeddedS3.builder().credentials("planted-access", SECRET).build();
    try {
      s3.start();
      String good;
      String bad;
      try (RegistryClient registry = new RegistryClient(REGISTRY.host(),
          RegistryOptions.builder().insecureHost(REGISTRY.host()).build())) {
        byte[] tar = HostileCorpus.goodTar();
        HostilePipelineTest.Layer layer =
            new HostilePipelineTest.Layer(Compression.GZIP.compress(tar), Compression.GZIP.mediaType(), Digests.sha256(tar));
        good = HostilePipelineTest.push(registry, "good", List.of(layer), HostileCorpus.config(List.of(layer.diffId())), 0);
        byte[] broken = new TarBuilder().dir("a").file("a/f", new byte[10]).end().bytes();
        broken[512 + 148] = '7';
        HostilePipelineTest.Layer badLayer =
            new HostilePipelineTest.Layer(broken, Compression.NONE.mediaType(), Digests.sha256(broken));
        bad = HostilePipelineTest.push(registry, "bad", List.of(badLayer), HostileCorpus.config(List.of(badLayer.diffId())), 0);
      }
      int httpPort = freePort();
      int hookPort = freePort();
      Path config = configFile(prefix, s3, refusing, httpPort, hookPort);
      RoleServices services = CommandRun.startRun("run", "--role", "all", "--config", config.toString());
      try {
        CommandRun submitted = run("submit", "--config", config.toString(),
            REGISTRY.host() + "/hostile/corpus:good", REGISTRY.host() + "/hostile/corpus:bad",
            refusing + "/team/app:1", "not-listed.example/team/app:1");
        seen.append(submitted.out()).append(submitted.err());
        assertEquals(0, submitted.exitCode(), submitted.err());
        for (String auth : List.of("Bearer wrong-secret-of-some-length", "Bearer " + SECRET)) {
          HttpResponse<String> hook = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hookPort
              + "/webhooks/distribution")).header("Authorization", auth).header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{\"events\":[]}")).build(), HttpResponse.BodyHandlers.ofString());
          seen.append(hook.body());
        }

        Set<String> reasons = new HashSet<>();
        boolean published = false;
        try (KafkaConsumer<byte[], byte[]> watch = KAFKA.bytesConsumer("watch-" + prefix)) {
          watch.subscribe(List.of(topics.deadLetters(), topics.status()));
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120); // a guard against hangs only
          while (!(published && reasons.containsAll(List.of("tar.checksum", "access-denied", "registry-not-allowed")))) {
            if (System.nanoTime() > deadline) {
              throw new AssertionError("batch did not settle: published " + published + ", reasons " + reasons);
            }
            for (ConsumerRecord<byte[], byte[]> rec : watch.poll(Duration.ofMillis(500))) {
              if (rec.topic().equals(topics.deadLetters())) {
                reasons.add(V.read(DeadLetter.class, rec.value()).reasonCode());
              } else {
                ImageStatus s = V.read(ImageStatus.class, rec.value());
                published |= s.subjectDigest().equals(good) && s.state() == ImageStatus.State.PUBLISHED;
              }
            }
          }
        }
        for (String path : List.of("/metrics", "/status", "/status/" + bad)) {
          seen.append(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).build(),
              HttpResponse.BodyHandlers.ofString()).body());
        }
      } finally {
        services.close();
      }
      seen.append(allRecords(topics));
    } finally {
      System.setOut(out);
      System.setErr(err);
      s3.close();
      refusingDouble.stop(0);
    }
    String logs = captured.toString(StandardCharsets.UTF_8);
    seen.append(logs);

    // the secret was in play, and what the process printed was captured
    assertTrue(credentialsSent.get(), "the planted registry password was sent to the refusing registry");
    assertTrue(logs.contains("role all started") && logs.contains("layer job dead-lettered: tar.checksum"), logs);
    assertTrue(seen.toString().contains("access-denied"), "the refused credentials were reported");
    List<String> forbidden = new ArrayList<>(List.of(SECRET,
        Base64.getEncoder().encodeToString(("robot:" + SECRET).getBytes(StandardCharsets.UTF_8))));
    for (Path pem : List.of(dir.resolve("pki/signing-key.pem"), dir.resolve("pki/signing-key.enc.pem"))) {
      Files.readAllLines(pem).stream().filter(l -> !l.startsWith("-----") && l.length() > 20).forEach(forbidden::add);
    }
    String all = seen.toString();
    for (String f : forbidden) {
      int at = all.indexOf(f);
      assertTrue(at < 0, "a secret leaked: ..." + (at < 0 ? "" : all.substring(Math.max(0, at - 200), at)) + "[SECRET]");
    }
  }

  /** Every record (key, value, header values) of every topic of the installation, as text. */
  private static String allRecords(Topics topics) {
    StringBuilder sb = new StringBuilder();
    try (KafkaConsumer<byte[], byte[]> c = KAFKA.consumer("all-" + UUID.randomUUID(), new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String t : topics.all()) {
        c.partitionsFor(t).forEach(p -> partitions.add(new TopicPartition(t, p.partition())));
      }
      c.assign(partitions);
      c.seekToBeginning(partitions);
      var end = c.endOffsets(partitions);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (partitions.stream().anyMatch(p -> c.position(p) < end.get(p)) && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
          sb.append(r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8)).append(' ');
          sb.append(r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8)).append('\n');
          for (Header h : r.headers()) {
            sb.append(h.key()).append('=').append(h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8));
          }
        }
      }
      assertTrue(partitions.stream().allMatch(p -> c.position(p) >= end.get(p)), "read every record");
    }
    return sb.toString();
  }

  private static Path configFile(String prefix, EmbeddedS3 s3, String refusing, int httpPort, int hookPort)
      throws Exception {
    Path pki = Files.createDirectories(dir.resolve("pki"));
    TestSigningKeys keys = TestSigningKeys.create(pki);
    Path password = Files.writeString(pki.resolve("password"), SECRET + "\n");
    Path encrypted = pki.resolve("signing-key.enc.pem");
    Process openssl = new ProcessBuilder("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", keys.key().toString(),
        "-out", encrypted.toString(), "-passout", "file:" + password).redirectErrorStream(true).start();
    assertEquals(0, openssl.waitFor(), new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    Path access = Files.writeString(dir.resolve("access"), "planted-access\n");
    Path secret = Files.writeString(dir.resolve("secret"), SECRET + "\n");
    Path hook = Files.writeString(dir.resolve("hook"), SECRET + "\n");
    String auth = Base64.getEncoder().encodeToString(("robot:" + SECRET).getBytes(StandardCharsets.UTF_8));
    Path docker = Files.writeString(dir.resolve("config.json"), "{\"auths\":{\"" + refusing + "\":{\"auth\":\"" + auth
        + "\"},\"" + REGISTRY.host() + "\":{\"auth\":\"" + auth + "\"}}}");
    String props = String.join("\n",
        "kafka.bootstrap=" + KAFKA.bootstrapServers(),
        "kafka.topicPrefix=" + prefix,
        "kafka.topicPartitions=1",
        "s3.endpoint=" + s3.endpoint(),
        "s3.bucket=secrets",
        "s3.createBucket=true",
        "s3.accessKeyFile=" + access,
        "s3.secretKeyFile=" + secret,
        "registry.config=" + docker,
        "registry.insecure=" + REGISTRY.host() + "," + refusing,
        "registry.allowlist=" + REGISTRY.host() + "," + refusing,
        "ingest.webhookPort=" + hookPort,
        "ingest.webhookSecretFile=" + hook,
        "worker.concurrency=1",
        "worker.shutdownGraceSeconds=5",
        "signing.keyFile=" + encrypted,
        "signing.certFile=" + keys.chain(),
        "signing.passwordFile=" + password,
        "publish.retrySeconds=2",
        "http.bind=127.0.0.1",
        "http.port=" + httpPort,
        "metrics.lagIntervalSeconds=0",
        "");
    return Files.writeString(dir.resolve("erofs.properties"), props);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Writes to two streams. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int x) throws IOException {
      a.write(x);
      b.write(x);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }
}

package dev.erofspipeline.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.erofspipeline.launcher.config.ConfigKey;
import dev.erofspipeline.launcher.config.Configuration;
import dev.erofspipeline.launcher.service.RoleServices;
import dev.erofspipeline.schemas.Topics;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Kubernetes manifests under deploy/ agree with the configuration keys the code reads. */
class DeployManifestsTest {
  /** Surefire runs in the module directory; deploy/ lives at the repository root. */
  private static final Path DEPLOY = Path.of("..", "deploy");
  private static final Pattern ENV_NAME = Pattern.compile("\\bEROFS_[A-Z0-9_]+");
  private static final Set<String> ENV_NAMES =
      Stream.of(ConfigKey.values()).map(ConfigKey::environmentVariable).collect(Collectors.toSet());

  @TempDir static Path tmp;

  /** Every document of every YAML file, with the file it came from. */
  private record Doc(Path file, JsonNode node) {}

  private static final List<Doc> DOCS = new ArrayList<>();

  @BeforeAll
  static void parseAll() throws Exception {
    YAMLMapper yaml = new YAMLMapper();
    List<Path> files;
    try (Stream<Path> s = Files.walk(DEPLOY)) {
      files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
    }
    assertFalse(files.isEmpty(), "no YAML under " + DEPLOY.toAbsolutePath());
    for (Path f : files) {
      try (MappingIterator<JsonNode> it = yaml.readerFor(JsonNode.class).readValues(f.toFile())) {
        while (it.hasNext()) {
          JsonNode n = it.next();
          if (n != null && !n.isNull() && !n.isMissingNode()) {
            DOCS.add(new Doc(f, n));
          }
        }
      }
    }
  }

  private static List<JsonNode> ofKind(String kind) {
    return DOCS.stream().map(Doc::node).filter(n -> kind.equals(n.path("kind").asText())).toList();
  }

  private static JsonNode named(String kind, String name) {
    return ofKind(kind).stream().filter(n -> name.equals(n.path("metadata").path("name").asText())).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " under deploy/"));
  }

  private static String properties() {
    String p = named("ConfigMap", "erofs-pipeline").path("data").path("erofs.properties").asText(null);
    assertNotNull(p, "ConfigMap erofs-pipeline has no erofs.properties");
    return p;
  }

  /** The configuration a role's container sees: the ConfigMap's file plus the container's EROFS_* env. */
  private static Configuration configurationOf(String deployment) throws Exception {
    Path file = Files.writeString(tmp.resolve(deployment + ".properties"), properties());
    Map<String, String> env = new HashMap<>();
    for (JsonNode c : named("Deployment", deployment).path("spec").path("template").path("spec").path("containers")) {
      for (JsonNode e : c.path("env")) {
        env.put(e.path("name").asText(), e.path("value").asText());
      }
    }
    return Configuration.load(file, env, Map.of());
  }

  @Test
  void everyKeyAndVariableIsOneTheCodeKnows() throws Exception {
    Properties p = new Properties();
    p.load(new StringReader(properties()));
    for (String key : p.stringPropertyNames()) {
      ConfigKey.byKey(key); // throws on an unknown key
    }
    List<String> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(DEPLOY)) {
      s.filter(Files::isRegularFile).filter(f -> f.toString().matches(".*\\.(ya?ml|md)$")).forEach(f -> files.add(f.toString()));
    }
    files.add(Path.of("..", "docker-compose.yml").toString());
    for (String f : files) {
      Matcher m = ENV_NAME.matcher(Files.readString(Path.of(f)));
      while (m.find()) {
        assertTrue(ENV_NAMES.contains(m.group()), f + ": " + m.group() + " is not a configuration key's variable");
      }
    }
    for (String d : List.of("erofs-ingest", "erofs-worker", "erofs-publish")) {
      configurationOf(d); // loads: every key of the file is known
    }
  }

  @Test
  void oneDeploymentPerRoleWithProbesOnTheOpsPort() throws Exception {
    for (String role : List.of("ingest", "worker", "publish")) {
      JsonNode spec = named("Deployment", "erofs-" + role).path("spec").path("template").path("spec");
      JsonNode c = spec.path("containers").get(0);
      List<String> args = new ArrayList<>();
      c.path("args").forEach(a -> args.add(a.asText()));
      assertEquals(List.of("run", "--role", role), args.subList(0, 3), role);
      assertEquals("/health/live", c.path("livenessProbe").path("httpGet").path("path").asText(), role);
      assertEquals("/health/ready", c.path("readinessProbe").path("httpGet").path("path").asText(), role);
      int port = configurationOf("erofs-" + role).getInt(ConfigKey.HTTP_PORT);
      boolean opsPort = false;
      for (JsonNode p : c.path("ports")) {
        opsPort |= p.path("name").asText().equals("ops") && p.path("containerPort").asInt() == port;
      }
      assertTrue(opsPort, role + ": the probes' port 'ops' is not http.port " + port);
      assertTrue(c.path("resources").path("limits").has("memory"), role + " has no memory limit");
    }
  }

  @Test
  void workersStopWithinTheirGraceAndScaleNoWiderThanThePartitions() throws Exception {
    Configuration worker = configurationOf("erofs-worker");
    int grace = worker.getInt(ConfigKey.WORKER_SHUTDOWN_GRACE_SECONDS);
    int termination = named("Deployment", "erofs-worker").path("spec").path("template").path("spec")
        .path("terminationGracePeriodSeconds").asInt(30);
    assertTrue(termination > grace, "terminationGracePeriodSeconds " + termination
        + " must be longer than worker.shutdownGraceSeconds " + grace);

    JsonNode scaled = named("ScaledObject", "erofs-worker");
    assertEquals("erofs-worker", scaled.path("spec").path("scaleTargetRef").path("name").asText());
    int partitions = worker.getInt(ConfigKey.KAFKA_TOPIC_PARTITIONS);
    int max = scaled.path("spec").path("maxReplicaCount").asInt();
    assertTrue(max >= 1 && max <= partitions, "maxReplicaCount " + max + " > kafka.topicPartitions " + partitions
        + ": each worker pod is one consumer of the group, those beyond the partitions would sit idle");

    JsonNode kafka = null;
    for (JsonNode t : scaled.path("spec").path("triggers")) {
      if (t.path("type").asText().equals("kafka")) {
        kafka = t.path("metadata");
      }
    }
    assertNotNull(kafka, "the ScaledObject has no kafka trigger");
    Topics topics = Topics.withPrefix(worker.get(ConfigKey.KAFKA_TOPIC_PREFIX));
    assertEquals(worker.get(ConfigKey.KAFKA_BOOTSTRAP), kafka.path("bootstrapServers").asText());
    assertEquals(topics.prefix() + RoleServices.WORKER_GROUP, kafka.path("consumerGroup").asText());
    assertEquals(topics.layerJobs(), kafka.path("topic").asText());
    assertTrue(Integer.parseInt(kafka.path("lagThreshold").asText()) > 0, "lagThreshold");
  }
}

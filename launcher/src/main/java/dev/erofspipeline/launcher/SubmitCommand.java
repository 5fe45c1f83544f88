package dev.erofspipeline.launcher;

import dev.erofspipeline.launcher.service.Installation;
import dev.erofspipeline.registry.ImageReference;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.Priority;
import dev.erofspipeline.schemas.RecordValidator;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Queues image requests into a running installation's Kafka ({@code erofs.image-requests}). */
@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = {
      "Queues image requests on the installation's erofs.image-requests topic (kafka.bootstrap) and",
      "prints one line per reference with its correlation id once Kafka has acknowledged it."
    })
final class SubmitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ConfigOptions options;

  @Parameters(arity = "1..*", paramLabel = "REF", description = "host[:port]/repo[:tag|@digest] or oci:DIR[:tag]")
  List<String> references;

  @Option(names = "--force", description = "Convert again even if results exist")
  boolean force;

  @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]", description = "Only these platforms of an index (repeatable)")
  List<String> platforms = new ArrayList<>();

  @Option(names = "--priority", paramLabel = "low|normal|high", defaultValue = "normal", description = "Default: ${DEFAULT-VALUE}")
  String priority;

  @Override
  public Integer call() throws Exception {
    Installation inst = new Installation(options.load());
    String bootstrap = inst.kafkaBootstrap("submit queues into a running installation; set it with --set kafka.bootstrap=HOST:PORT or EROFS_KAFKA_BOOTSTRAP");
    Priority prio;
    try {
      prio = Priority.valueOf(priority.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--priority must be low, normal or high, got '" + priority + "'", e);
    }
    RecordValidator validator = RecordValidator.defaults();
    String batch = UUID.randomUUID().toString().substring(0, 8);
    List<ImageRequest> requests = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < references.size(); i++) {
      String ref = references.get(i);
      ImageReference.parse(ref); // every reference is checked before any is queued
      ImageRequest r = new ImageRequest(ref, platforms, prio, force, "submit-" + batch + "-" + (i + 1), Instant.now());
      values.add(validator.write(r));
      requests.add(r);
    }
    String topic = inst.topics().imageRequests();
    PrintWriter out = spec.commandLine().getOut();
    try (KafkaProducer<String, byte[]> producer = RequestProducer.create(bootstrap, "erofs-submit")) {
      for (int i = 0; i < requests.size(); i++) {
        ImageRequest r = requests.get(i);
        try {
          producer.send(new ProducerRecord<>(topic, r.reference(), values.get(i))).get(45, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
            | org.apache.kafka.common.KafkaException e) {
          throw RequestProducer.unreachable(bootstrap, topic, e);
        }
        out.println("queued " + r.reference() + " correlationId=" + r.correlationId());
        out.flush();
      }
    }
    return 0;
  }
}

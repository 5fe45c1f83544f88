package dev.erofspipeline.launcher;

import dev.erofspipeline.ingest.Backfill;
import dev.erofspipeline.ingest.KafkaRequestSink;
import dev.erofspipeline.launcher.service.Installation;
import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.RecordValidator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Walks a registry and queues an image request per matching tag (ingest's {@link Backfill}). */
@Command(
    name = "backfill",
    mixinStandardHelpOptions = true,
    description = {
      "Walks a registry (/v2/_catalog, /v2/<repo>/tags/list) and queues an image request for every",
      "matching repository and tag on the installation's erofs.image-requests topic. With --checkpoint,",
      "an interrupted run started again skips the repositories it finished."
    })
final class BackfillCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ConfigOptions options;

  @Option(names = "--registry", required = true, paramLabel = "HOST[:PORT]", description = "The registry to walk")
  String registry;

  @Option(names = "--repo", paramLabel = "GLOB", description = "Repositories to walk (repeatable; * within a path segment, ** across, ? one character; default: all)")
  List<String> repos = new ArrayList<>();

  @Option(names = "--tag", paramLabel = "GLOB", description = "Tags to queue (repeatable; default: all)")
  List<String> tags = new ArrayList<>();

  @Option(names = "--since", paramLabel = "DATE", description = "Only images created at or after DATE (2024-05-01 or 2024-05-01T12:00:00Z); costs a manifest and config read per tag")
  String since;

  @Option(names = "--rate", paramLabel = "N[/s]", defaultValue = "10/s", description = "Registry listings plus requests a second (0: unlimited; default: ${DEFAULT-VALUE})")
  String rate;

  @Option(names = "--force", description = "Requests with force: convert again even if results exist (nightly re-conversion)")
  boolean force;

  @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]", description = "Only these platforms of each index (repeatable)")
  List<String> platforms = new ArrayList<>();

  @Option(names = "--checkpoint", paramLabel = "FILE", description = "Checkpoint file: finished repositories are recorded and skipped when run again")
  Path checkpoint;

  @Option(names = "--page-size", paramLabel = "N", defaultValue = "0", description = "Catalog and tag page size (0: the registry's default)")
  int pageSize;

  /** Progress as a rewritten line on a terminal, plain lines otherwise; tests force either. */
  static volatile Boolean terminal;

  private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);

  @Override
  public Integer call() throws Exception {
    try {
      return backfill();
    } finally {
      done.countDown();
    }
  }

  private int backfill() throws Exception {
    Installation inst = new Installation(options.load());
    String bootstrap = inst.kafkaBootstrap("backfill queues into a running installation; set it with --set kafka.bootstrap=HOST:PORT or EROFS_KAFKA_BOOTSTRAP");
    double perSecond = parseRate(rate);
    Instant sinceInstant = since == null ? null : parseSince(since);
    if (pageSize < 0) {
      throw new IllegalArgumentException("--page-size must be >= 0");
    }
    Backfill.Options opts = new Backfill.Options(registry, repos, tags, perSecond, force, platforms, pageSize,
        checkpoint, sinceInstant);
    PrintWriter out = spec.commandLine().getOut();
    boolean tty = terminal != null ? terminal : System.console() != null;
    Progress progress = new Progress(out, tty);
    Backfill.Result result;
    try (RegistryClient client = new RegistryClient(registry, inst.registryOptions());
        KafkaProducer<String, byte[]> producer = RequestProducer.create(bootstrap, "erofs-backfill")) {
      Backfill backfill = new Backfill(client, opts,
          new KafkaRequestSink(producer, inst.topics(), RecordValidator.defaults()), progress::update);
      // SIGINT/SIGTERM: finish the current request, keep the checkpoint, then exit
      Thread hook = new Thread(() -> {
        backfill.stop();
        try {
          done.await(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException ignored) {
          // exiting anyway
        }
      }, "backfill-stop");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        result = backfill.run();
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
          | org.apache.kafka.common.KafkaException e) {
        throw RequestProducer.unreachable(bootstrap, inst.topics().imageRequests(), e);
      } finally {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // the hook is running
        }
      }
    }
    progress.finish();
    out.println("backfill of " + registry + ": " + result.reposDone() + "/" + result.reposTotal() + " repositories"
        + (result.reposResumed() > 0 ? " (" + result.reposResumed() + " from the checkpoint)" : "")
        + ", " + result.tags() + " tags, " + result.requests() + " requests queued"
        + (result.stopped() ? ", stopped (run again with the same --checkpoint to resume)" : ""));
    out.flush();
    if (!result.failedRepos().isEmpty()) {
      spec.commandLine().getErr().println("erofs-pipeline: the tags of " + result.failedRepos().size()
          + " repositories could not be listed: " + String.join(", ", result.failedRepos()));
      return 1;
    }
    return result.stopped() ? 130 : 0;
  }

  static double parseRate(String s) {
    String n = s.endsWith("/s") ? s.substring(0, s.length() - 2) : s;
    try {
      double d = Double.parseDouble(n);
      if (d >= 0 && !Double.isInfinite(d)) {
        return d;
      }
    } catch (NumberFormatException ignored) {
      // below
    }
    throw new IllegalArgumentException("--rate must be N or N/s with N >= 0, got '" + s + "'");
  }

  static Instant parseSince(String s) {
    try {
      return LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
    } catch (DateTimeParseException notADate) {
      try {
        return OffsetDateTime.parse(s).toInstant();
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("--since must be a date (2024-05-01) or an RFC 3339 time (2024-05-01T12:00:00Z), got '" + s + "'", e);
      }
    }
  }

  /** A progress line rewritten in place on a terminal (at most 10 a second); otherwise one line per repository. */
  static final class Progress {
    private final PrintWriter out;
    private final boolean tty;
    private long lastDraw;
    private int lastReposDone = -1;
    private boolean drawn;

    Progress(PrintWriter out, boolean tty) {
      this.out = out;
      this.tty = tty;
    }

    synchronized void update(Backfill.Progress p) {
      if (tty) {
        long now = System.nanoTime();
        if (now - lastDraw < 100_000_000L && p.reposDone() != p.reposTotal()) {
          return;
        }
        lastDraw = now;
        out.print("\r\u001b[2K" + p.line());
        drawn = true;
        out.flush();
      } else if (p.reposDone() != lastReposDone) {
        lastReposDone = p.reposDone();
        out.println(p.line());
        out.flush();
      }
    }

    synchronized void finish() {
      if (tty && drawn) {
        out.println();
        out.flush();
      }
    }
  }
}

package dev.erofspipeline.ingest;

import dev.erofspipeline.registry.RegistryClient;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.Priority;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Walks a registry ({@code /v2/_catalog}, then {@code /v2/<repo>/tags/list} of each repository, both with {@code Link}
 * pagination by the registry client) and turns every repository and tag matching the globs into an image request
 * {@code host/repo:tag}. At most {@code ratePerSecond} registry listings and requests a second. Repositories are walked
 * in catalog order, tags sorted; each finished repository is recorded in the {@link BackfillCheckpoint}, so an
 * interrupted run (crash, {@link #stop()}, a failing sink) started again with the same checkpoint skips them. Nightly re-conversion is a
 * backfill with {@code force} (or with a new profile fingerprint in ingest).
 */
public final class Backfill {
    private static final Logger LOG = LoggerFactory.getLogger(Backfill.class);

    /**
     * @param registry      {@code host[:port]}
     * @param repoGlobs     repositories to walk (empty: all)
     * @param tagGlobs      tags to queue (empty: all)
     * @param ratePerSecond registry listings plus requests a second (0: unlimited)
     * @param force         requests with {@code force}
     * @param platforms     platform filters of the requests (empty: all)
     * @param pageSize      {@code ?n=} of catalog and tags pages (0: the registry's default)
     * @param checkpoint    checkpoint file (null: not resumable)
     * @param since         only images whose config says they were {@code created} at or after this instant (null:
     *                      all); costs a manifest and a config read per tag (an index: its first image manifest);
     *                      an image without a readable {@code created} is queued
     */
    public record Options(String registry, List<String> repoGlobs, List<String> tagGlobs, double ratePerSecond,
                          boolean force, List<String> platforms, int pageSize, Path checkpoint, Instant since) {
        public Options {
            Objects.requireNonNull(registry, "registry");
            repoGlobs = repoGlobs == null ? List.of() : List.copyOf(repoGlobs);
            tagGlobs = tagGlobs == null ? List.of() : List.copyOf(tagGlobs);
            platforms = platforms == null ? List.of() : List.copyOf(platforms);
        }

        /** What a checkpoint must match to be resumed. */
        String scope() {
            return registry + " repos=" + repoGlobs + " tags=" + tagGlobs + " force=" + force + " platforms=" + platforms
                    + (since == null ? "" : " since=" + since);
        }
    }

    /** Where the requests go (e.g. {@link KafkaRequestSink}); must return only once the request is durable. */
    @FunctionalInterface
    public interface Sink {
        void send(ImageRequest request) throws Exception;
    }

    /** Counts for a progress display. */
    public record Progress(int reposTotal, int reposDone, int reposResumed, long tags, long requests,
                           double requestsPerSecond, String repository) {
        /** A one-line progress bar, e.g. {@code [#####.....] 5/10 repos, 40 tags, 38 requests, 7.9/s app/web}. */
        public String line() {
            int width = 20;
            int filled = reposTotal == 0 ? width : (int) ((long) width * reposDone / reposTotal);
            return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + reposDone + "/" + reposTotal
                    + " repos" + (reposResumed > 0 ? " (" + reposResumed + " from checkpoint)" : "") + ", " + tags
                    + " tags, " + requests + " requests, " + String.format(java.util.Locale.ROOT, "%.1f/s",
                    requestsPerSecond) + (repository == null ? "" : " " + repository);
        }
    }

    /** Final counts; {@code failedRepos} lists repositories whose tags could not be listed (not checkpointed). */
    public record Result(int reposTotal, int reposDone, int reposResumed, long tags, long requests,
                         List<String> failedRepos, boolean stopped) {
    }

    private final RegistryClient client;
    private final Options options;
    private final Sink sink;
    private final java.util.function.Consumer<Progress> progress;
    private final RateLimiter rate;
    private final AtomicBoolean stop = new AtomicBoolean();

    public Backfill(RegistryClient client, Options options, Sink sink, java.util.function.Consumer<Progress> progress) {
        this.client = client;
        this.options = options;
        this.sink = sink;
        this.progress = progress == null ? p -> { } : progress;
        this.rate = new RateLimiter(options.ratePerSecond());
    }

    /** Asks a running {@link #run()} to stop after the current request (the checkpoint keeps finished repositories). */
    public void stop() {
        stop.set(true);
    }

    /**
     * Runs (or resumes) the backfill.
     *
     * @throws Exception from the sink (the run stops there; finished repositories stay checkpointed)
     */
    public Result run() throws Exception {
        BackfillCheckpoint cp = BackfillCheckpoint.open(options.checkpoint(), options.scope());
        Globs repos = Globs.of(options.repoGlobs());
        Globs tags = Globs.of(options.tagGlobs());
        rate.acquire();
        List<String> all = client.catalog(options.pageSize()).stream().filter(repos::matches).toList();
        String runId = UUID.randomUUID().toString().substring(0, 8);
        long start = System.nanoTime();
        int done = 0;
        int resumed = 0;
        long tagCount = 0;
        long sent = 0;
        List<String> failed = new java.util.ArrayList<>();
        for (String repo : all) {
            if (stop.get()) {
                break;
            }
            if (cp.isDone(repo)) {
                done++;
                resumed++;
                continue;
            }
            List<String> repoTags;
            try {
                rate.acquire();
                repoTags = client.listTags(repo, options.pageSize()).stream().sorted().toList();
            } catch (IOException e) {
                LOG.warn("backfill: cannot list the tags of {}: {}", repo, e.getMessage());
                failed.add(repo);
                continue;
            }
            long repoSent = 0;
            for (String tag : repoTags) {
                if (stop.get()) {
                    break;
                }
                tagCount++;
                if (!tags.matches(tag) || !createdSince(repo, tag)) {
                    continue;
                }
                rate.acquire();
                sink.send(new ImageRequest(options.registry() + "/" + repo + ":" + tag, options.platforms(),
                        Priority.LOW, options.force(), "backfill-" + runId + "-" + (sent + 1), Instant.now()));
                sent++;
                repoSent++;
                double secs = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
                progress.accept(new Progress(all.size(), done, resumed, tagCount, sent, sent / secs, repo));
            }
            if (stop.get()) {
                break; // this repository is not finished: it is walked again on resume
            }
            cp.markDone(repo, repoSent);
            done++;
            double secs = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
            progress.accept(new Progress(all.size(), done, resumed, tagCount, sent, sent / secs, repo));
        }
        LOG.info("backfill of {}: {}/{} repositories ({} from the checkpoint), {} tags, {} requests{}",
                options.registry(), done, all.size(), resumed, tagCount, sent, stop.get() ? ", stopped" : "");
        return new Result(all.size(), done, resumed, tagCount, sent, failed, stop.get());
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** Whether the image at {@code repo:tag} was created at or after {@code since} (true when unknown). */
    private boolean createdSince(String repo, String tag) throws InterruptedException {
        if (options.since() == null) {
            return true;
        }
        try {
            rate.acquire();
            dev.erofspipeline.registry.Manifest m = client.getManifest(repo, tag);
            com.fasterxml.jackson.databind.JsonNode root = JSON.readTree(m.bytes());
            if (dev.erofspipeline.schemas.MediaTypes.isImageIndex(m.mediaType())) {
                String first = null;
                for (com.fasterxml.jackson.databind.JsonNode e : root.path("manifests")) {
                    if (dev.erofspipeline.schemas.MediaTypes.isImageManifest(e.path("mediaType").asText(null))
                            && !"unknown".equals(e.path("platform").path("os").asText(""))) {
                        first = e.path("digest").asText();
                        break;
                    }
                }
                if (first == null) {
                    return true;
                }
                rate.acquire();
                root = JSON.readTree(client.getManifest(repo, first).bytes());
            }
            String config = root.path("config").path("digest").asText(null);
            if (config == null) {
                return true;
            }
            rate.acquire();
            String created = JSON.readTree(client.getBlob(repo, config)).path("created").asText(null);
            return created == null || !java.time.OffsetDateTime.parse(created).toInstant().isBefore(options.since());
        } catch (IOException | RuntimeException e) {
            LOG.debug("backfill: no creation time for {}:{} ({}), queued", repo, tag, e.toString());
            return true;
        }
    }
}

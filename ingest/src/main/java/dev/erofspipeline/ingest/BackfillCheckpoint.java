package dev.erofspipeline.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The resumable state of a backfill, one JSON file: which registry and filters it is for, the repositories finished
 * (all their matching tags queued), and how many requests were sent. Rewritten atomically (temporary file + rename)
 * after every repository, so an interrupted run loses at most the repository it was in (whose requests are sent again:
 * ingest dedups them). A checkpoint of another registry or other filters is refused; delete the file to start over.
 */
public final class BackfillCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final String scope;
    private final Set<String> done = new LinkedHashSet<>();
    private long requests;

    private BackfillCheckpoint(Path file, String scope) {
        this.file = file;
        this.scope = scope;
    }

    /**
     * Loads {@code file} (or starts empty when it does not exist) for a backfill described by {@code scope}.
     *
     * @throws IllegalStateException when the file belongs to a backfill with another scope
     */
    public static BackfillCheckpoint open(Path file, String scope) throws IOException {
        BackfillCheckpoint c = new BackfillCheckpoint(file, scope);
        if (file != null && Files.exists(file)) {
            JsonNode n = JSON.readTree(file.toFile());
            String was = n.path("scope").asText("");
            if (!Objects.equals(was, scope)) {
                throw new IllegalStateException("checkpoint " + file + " belongs to another backfill (" + was
                        + "), not " + scope + ": delete it to start over");
            }
            n.path("done").forEach(r -> c.done.add(r.asText()));
            c.requests = n.path("requests").asLong(0);
        }
        return c;
    }

    public synchronized boolean isDone(String repository) {
        return done.contains(repository);
    }

    public synchronized List<String> done() {
        return new ArrayList<>(done);
    }

    public synchronized long requests() {
        return requests;
    }

    /** Records a finished repository and the requests it sent, and writes the file. */
    public synchronized void markDone(String repository, long sent) throws IOException {
        done.add(repository);
        requests += sent;
        save();
    }

    private void save() throws IOException {
        if (file == null) {
            return;
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("scope", scope);
        done.forEach(n.putArray("done")::add);
        n.put("requests", requests);
        n.put("updatedAt", Instant.now().toString());
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".checkpoint-", ".tmp");
        try {
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), n);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}

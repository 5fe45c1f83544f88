package dev.erofspipeline.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.Priority;

import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Registry push notifications to image requests (no I/O).
 *
 * <p>CNCF distribution (docker-registry) envelopes: {@code {"events":[{id, action, target:{mediaType, digest,
 * repository, url, tag}, request:{host}}]}}. Only {@code push} events of a manifest or index media type that carry a
 * tag are used: pushing an index also sends one event per platform manifest (by digest, without a tag), and the
 * index's own event covers them. Blob pushes, pulls, deletes and mounts are ignored.
 *
 * <p>Harbor webhooks: {@code {"type":"PUSH_ARTIFACT","event_data":{"resources":[{digest, tag, resource_url}],
 * "repository":{"repo_full_name"}}}}; other types are ignored.
 *
 * <p>The reference of a request is {@code host/repo:tag@digest}: what was pushed, pinned by digest, tag kept for people.
 */
public final class WebhookEvents {
    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");

    private WebhookEvents() {
    }

    /** What a payload turned into: the requests, and why each other event was left out. */
    public record Parsed(List<ImageRequest> requests, List<String> ignored) {
        public Parsed {
            requests = List.copyOf(requests);
            ignored = List.copyOf(ignored);
        }
    }

    /** A payload that is not an envelope of the expected kind (the reason goes into the 400 answer). */
    public static final class BadPayload extends Exception {
        public BadPayload(String message) {
            super(message);
        }
    }

    public static Parsed fromDistribution(JsonNode root) throws BadPayload {
        if (root == null || !root.isObject() || !root.path("events").isArray()) {
            throw new BadPayload("not a distribution notification envelope: no \"events\" array");
        }
        Map<String, ImageRequest> requests = new LinkedHashMap<>();
        List<String> ignored = new ArrayList<>();
        int i = 0;
        for (JsonNode e : root.get("events")) {
            String id = e.path("id").asText("event " + i);
            i++;
            String action = e.path("action").asText("");
            JsonNode t = e.path("target");
            String type = t.path("mediaType").asText("");
            if (!"push".equals(action)) {
                ignored.add(id + ": action " + action);
                continue;
            }
            if (!MediaTypes.isImageManifest(type) && !MediaTypes.isImageIndex(type)) {
                ignored.add(id + ": not a manifest push (" + type + ")");
                continue;
            }
            String tag = t.path("tag").asText("");
            if (tag.isEmpty()) {
                ignored.add(id + ": manifest pushed by digest only (part of an index push)");
                continue;
            }
            String digest = t.path("digest").asText("");
            String repo = t.path("repository").asText("");
            String host = hostOf(t.path("url").asText(""));
            if (host == null) {
                host = e.path("request").path("host").asText("");
            }
            if (host.isEmpty() || repo.isEmpty() || !SHA256.matcher(digest).matches()) {
                ignored.add(id + ": no registry host, repository or sha256 digest");
                continue;
            }
            String ref = host + "/" + repo + ":" + tag + "@" + digest;
            requests.putIfAbsent(ref, request(ref, "webhook-" + safeId(id)));
        }
        return new Parsed(new ArrayList<>(requests.values()), ignored);
    }

    public static Parsed fromHarbor(JsonNode root) throws BadPayload {
        if (root == null || !root.isObject() || !root.hasNonNull("type") || !root.path("event_data").isObject()) {
            throw new BadPayload("not a Harbor webhook payload: no \"type\" and \"event_data\"");
        }
        String type = root.get("type").asText();
        List<String> ignored = new ArrayList<>();
        Map<String, ImageRequest> requests = new LinkedHashMap<>();
        if (!"PUSH_ARTIFACT".equals(type)) {
            ignored.add("event type " + type);
            return new Parsed(List.of(), ignored);
        }
        String repo = root.path("event_data").path("repository").path("repo_full_name").asText("");
        for (JsonNode r : root.path("event_data").path("resources")) {
            String digest = r.path("digest").asText("");
            String tag = r.path("tag").asText("");
            String url = r.path("resource_url").asText("");
            int slash = url.indexOf('/');
            String host = slash > 0 ? url.substring(0, slash) : "";
            if (host.isEmpty() || repo.isEmpty() || !SHA256.matcher(digest).matches()) {
                ignored.add("resource " + url + ": no registry host, repository or sha256 digest");
                continue;
            }
            String ref = host + "/" + repo + (tag.isEmpty() ? "" : ":" + tag) + "@" + digest;
            requests.putIfAbsent(ref, request(ref, "harbor-" + UUID.randomUUID()));
        }
        return new Parsed(new ArrayList<>(requests.values()), ignored);
    }

    private static ImageRequest request(String ref, String correlationId) {
        return new ImageRequest(ref, List.of(), Priority.NORMAL, false, correlationId, Instant.now());
    }

    private static String hostOf(String url) {
        if (url.isEmpty()) {
            return null;
        }
        try {
            String authority = URI.create(url).getRawAuthority();
            if (authority == null) {
                return null;
            }
            int at = authority.lastIndexOf('@');
            return at >= 0 ? authority.substring(at + 1) : authority;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String safeId(String id) {
        String s = id.replaceAll("[^!-~]", "");
        if (s.isEmpty()) {
            s = UUID.randomUUID().toString();
        }
        return s.length() > 100 ? s.substring(0, 100) : s;
    }
}

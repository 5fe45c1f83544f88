package dev.erofspipeline.registry;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A parsed image reference: either a registry reference {@code [docker://]host[:port]/repo[:tag][@digest]} or an
 * OCI image layout on disk {@code oci:DIR[:tag]}.
 *
 * <p>Defaults as docker: no host (first component without {@code .}, {@code :} and not {@code localhost}) means
 * Docker Hub, whose API host is {@code registry-1.docker.io} and whose single-component repositories get the
 * {@code library/} prefix; no tag and no digest means {@code latest}.
 */
public final class ImageReference {
    public static final String DOCKER_HUB_HOST = "registry-1.docker.io";
    public static final String DEFAULT_TAG = "latest";

    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern HOST = Pattern.compile(
            "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?");

    private final String registry;   // null for a layout
    private final String repository; // null for a layout
    private final Path layoutDir;    // null for a registry reference
    private final String tag;        // may be null when a digest is given
    private final String digest;     // may be null

    private ImageReference(String registry, String repository, Path layoutDir, String tag, String digest) {
        this.registry = registry;
        this.repository = repository;
        this.layoutDir = layoutDir;
        this.tag = tag;
        this.digest = digest;
    }

    /** A registry reference built from its parts (tag or digest may be null, not both). */
    public static ImageReference of(String registry, String repository, String tag, String digest) {
        return parse(registry + "/" + repository + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : ""));
    }

    /** Parses a reference; throws {@link IllegalArgumentException} with the reason when it cannot. */
    public static ImageReference parse(String text) {
        if (text == null || text.isBlank()) {
            throw invalid(text, "empty");
        }
        String s = text.strip();
        if (s.startsWith("oci:")) {
            return parseLayout(text, s.substring(4));
        }
        if (s.startsWith("docker://")) {
            s = s.substring("docker://".length());
        } else if (s.contains("://")) {
            throw invalid(text, "unsupported transport (use docker://, oci: or host/repo)");
        }
        String digest = null;
        int at = s.indexOf('@');
        if (at >= 0) {
            digest = s.substring(at + 1);
            s = s.substring(0, at);
            if (!Digests.isValid(digest)) {
                throw invalid(text, "malformed digest '" + digest + "'");
            }
        }
        String tag = null;
        int slash = s.lastIndexOf('/');
        int colon = s.lastIndexOf(':');
        if (colon > slash) {
            tag = s.substring(colon + 1);
            s = s.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw invalid(text, "malformed tag '" + tag + "'");
            }
        }
        String registry;
        String repository;
        int first = s.indexOf('/');
        String head = first < 0 ? s : s.substring(0, first);
        if (first >= 0 && (head.contains(".") || head.contains(":") || head.equals("localhost") || head.startsWith("["))) {
            registry = head;
            repository = s.substring(first + 1);
            if (!HOST.matcher(registry).matches()) {
                throw invalid(text, "malformed registry host '" + registry + "'");
            }
        } else {
            registry = "docker.io";
            repository = s;
        }
        if (registry.equals("docker.io") || registry.equals("index.docker.io")) {
            registry = DOCKER_HUB_HOST;
        }
        if (registry.equals(DOCKER_HUB_HOST) && !repository.contains("/")) {
            repository = "library/" + repository;
        }
        if (repository.isEmpty()) {
            throw invalid(text, "no repository");
        }
        for (String component : repository.split("/", -1)) {
            if (!COMPONENT.matcher(component).matches()) {
                throw invalid(text, "malformed repository name '" + repository + "' (lowercase letters, digits, separators)");
            }
        }
        if (tag == null && digest == null) {
            tag = DEFAULT_TAG;
        }
        return new ImageReference(registry, repository, null, tag, digest);
    }

    private static ImageReference parseLayout(String text, String rest) {
        if (rest.isEmpty()) {
            throw invalid(text, "oci: needs a directory");
        }
        String dir = rest;
        String tag = null;
        int colon = rest.lastIndexOf(':');
        if (colon >= 0 && rest.indexOf('/', colon) < 0) {
            String candidate = rest.substring(colon + 1);
            if (!candidate.isEmpty() && !TAG.matcher(candidate).matches()) {
                throw invalid(text, "malformed tag '" + candidate + "'");
            }
            dir = rest.substring(0, colon);
            tag = candidate.isEmpty() ? null : candidate;
        }
        if (dir.isEmpty()) {
            throw invalid(text, "oci: needs a directory");
        }
        return new ImageReference(null, null, Path.of(dir), tag, null);
    }

    private static IllegalArgumentException invalid(String text, String why) {
        return new IllegalArgumentException("invalid image reference '" + text + "': " + why
                + " (expected host[:port]/repo[:tag|@sha256:...], docker://..., or oci:DIR[:tag])");
    }

    public boolean isLayout() {
        return layoutDir != null;
    }

    /** Registry host[:port] as used for the API ({@code registry-1.docker.io} for Docker Hub); null for a layout. */
    public String registry() {
        return registry;
    }

    /** Repository name; null for a layout. */
    public String repository() {
        return repository;
    }

    /** Layout directory; null for a registry reference. */
    public Path layoutDir() {
        return layoutDir;
    }

    /** Tag, or null (digest-only references, layouts without a tag). */
    public String tag() {
        return tag;
    }

    /** Digest, or null. */
    public String digest() {
        return digest;
    }

    /** What to put in {@code /manifests/<reference>}: the digest when present, else the tag. */
    public String reference() {
        return digest != null ? digest : tag;
    }

    /** The same repository at another digest (tag dropped). */
    public ImageReference withDigest(String newDigest) {
        Digests.requireValid(newDigest);
        return new ImageReference(registry, repository, layoutDir, isLayout() ? tag : null, newDigest);
    }

    @Override
    public String toString() {
        if (isLayout()) {
            return "oci:" + layoutDir + (tag != null ? ":" + tag : "");
        }
        return registry + "/" + repository + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageReference r && Objects.equals(r.registry, registry) && Objects.equals(r.repository, repository)
                && Objects.equals(r.layoutDir, layoutDir) && Objects.equals(r.tag, tag) && Objects.equals(r.digest, digest);
    }

    @Override
    public int hashCode() {
        return Objects.hash(registry, repository, layoutDir, tag, digest);
    }
}

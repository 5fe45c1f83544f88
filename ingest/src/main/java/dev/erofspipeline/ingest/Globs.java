package dev.erofspipeline.ingest;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Shell-like globs for repository and tag names: {@code *} matches within one path segment (no {@code /}),
 * {@code **} across segments, {@code ?} one character (not {@code /}); everything else literally. An empty list matches
 * everything.
 */
final class Globs {
    private final List<Pattern> patterns;
    private final List<String> sources;

    private Globs(List<String> globs) {
        this.sources = List.copyOf(globs);
        this.patterns = globs.stream().map(Globs::compile).toList();
    }

    static Globs of(List<String> globs) {
        return new Globs(globs == null ? List.of() : globs);
    }

    boolean matches(String name) {
        return patterns.isEmpty() || patterns.stream().anyMatch(p -> p.matcher(name).matches());
    }

    List<String> sources() {
        return sources;
    }

    static Pattern compile(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*') {
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                    re.append(".*");
                    i++;
                } else {
                    re.append("[^/]*");
                }
            } else if (c == '?') {
                re.append("[^/]");
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }
}

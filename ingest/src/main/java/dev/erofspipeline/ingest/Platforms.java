package dev.erofspipeline.ingest;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** Platform strings {@code os/arch[/variant]} as the records carry them, and the request's platform filters. */
final class Platforms {
    /** The schemas' platform pattern: a value not of this form is left out of a record. */
    private static final Pattern RECORD_FORM = Pattern.compile("[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?");

    private Platforms() {
    }

    /** {@code os/arch[/variant]}, or null when os or arch is missing. */
    static String format(String os, String arch, String variant) {
        if (os == null || os.isBlank() || arch == null || arch.isBlank()) {
            return null;
        }
        String s = os + "/" + arch + (variant == null || variant.isBlank() ? "" : "/" + variant);
        return s.toLowerCase(Locale.ROOT);
    }

    /** The platform if it has the records' form, else null. */
    static String forRecord(String platform) {
        return platform != null && RECORD_FORM.matcher(platform).matches() ? platform : null;
    }

    /**
     * Whether {@code platform} passes the filters: an empty filter list passes everything; a filter without a variant
     * matches every variant; {@code arm64/v8} also matches arm64 without a variant (the same thing).
     */
    static boolean matches(List<String> filters, String platform) {
        if (filters == null || filters.isEmpty()) {
            return true;
        }
        if (platform == null) {
            return false;
        }
        String[] p = split(platform);
        for (String f : filters) {
            String[] want = split(f);
            if (!want[0].equals(p[0]) || !want[1].equals(p[1])) {
                continue;
            }
            if (want[2] == null || want[2].equals(p[2])
                    || (p[2] == null && want[1].equals("arm64") && want[2].equals("v8"))) {
                return true;
            }
        }
        return false;
    }

    private static String[] split(String platform) {
        String[] parts = platform.toLowerCase(Locale.ROOT).split("/", 3);
        return new String[] {parts[0], parts.length > 1 ? parts[1] : "",
                parts.length > 2 && !parts[2].isEmpty() ? parts[2] : null};
    }
}

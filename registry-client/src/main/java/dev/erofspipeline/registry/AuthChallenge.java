package dev.erofspipeline.registry;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** A parsed {@code WWW-Authenticate} challenge: {@code Bearer realm="...",service="...",scope="..."} or {@code Basic ...}. */
record AuthChallenge(String scheme, Map<String, String> params) {

    static AuthChallenge parse(String header) {
        if (header == null || header.isBlank()) {
            return null;
        }
        String h = header.strip();
        int sp = h.indexOf(' ');
        String scheme = (sp < 0 ? h : h.substring(0, sp)).toLowerCase(Locale.ROOT);
        Map<String, String> params = new LinkedHashMap<>();
        if (sp > 0) {
            String rest = h.substring(sp + 1);
            int i = 0;
            int n = rest.length();
            while (i < n) {
                while (i < n && (rest.charAt(i) == ',' || rest.charAt(i) == ' ')) {
                    i++;
                }
                int eq = rest.indexOf('=', i);
                if (eq < 0) {
                    break;
                }
                String key = rest.substring(i, eq).strip().toLowerCase(Locale.ROOT);
                i = eq + 1;
                StringBuilder value = new StringBuilder();
                if (i < n && rest.charAt(i) == '"') {
                    i++;
                    while (i < n && rest.charAt(i) != '"') {
                        char c = rest.charAt(i);
                        if (c == '\\' && i + 1 < n) {
                            c = rest.charAt(++i);
                        }
                        value.append(c);
                        i++;
                    }
                    i++; // closing quote
                } else {
                    while (i < n && rest.charAt(i) != ',') {
                        value.append(rest.charAt(i++));
                    }
                }
                params.put(key, value.toString().strip());
            }
        }
        return new AuthChallenge(scheme, params);
    }

    boolean isBearer() {
        return scheme.equals("bearer");
    }

    boolean isBasic() {
        return scheme.equals("basic");
    }

    String realm() {
        return params.get("realm");
    }

    String service() {
        return params.get("service");
    }

    String scope() {
        return params.get("scope");
    }
}

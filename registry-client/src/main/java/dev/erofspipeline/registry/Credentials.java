package dev.erofspipeline.registry;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;

/**
 * A username and password (or identity token). {@link #toString()} never shows either; nothing in this module logs
 * or puts them in exception messages.
 */
public final class Credentials {
    private final String username;
    private final String password;
    private final boolean identityToken;

    public Credentials(String username, String password) {
        this(username, password, false);
    }

    private Credentials(String username, String password, boolean identityToken) {
        this.username = Objects.requireNonNull(username, "username");
        this.password = Objects.requireNonNull(password, "password");
        this.identityToken = identityToken;
    }

    /**
     * An identity (refresh) token from {@code config.json}'s {@code identitytoken}: exchanged at the token realm with
     * an OAuth2 {@code grant_type=refresh_token} POST, never sent to the registry.
     */
    public static Credentials identityToken(String token) {
        return new Credentials("<token>", token, true);
    }

    public boolean isIdentityToken() {
        return identityToken;
    }

    public String username() {
        return username;
    }

    public String password() {
        return password;
    }

    /** The value of an {@code Authorization: Basic ...} header. */
    String basicHeader() {
        return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "Credentials[redacted]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Credentials c && c.username.equals(username) && c.password.equals(password)
                && c.identityToken == identityToken;
    }

    @Override
    public int hashCode() {
        return username.hashCode();
    }
}

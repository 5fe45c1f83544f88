package dev.erofspipeline.registry;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/** Exponential backoff with jitter, and {@code Retry-After} parsing; also used by the worker's job retries. */
public final class Backoff {
    private Backoff() {
    }

    /** Delay before retry number {@code attempt} (0-based) with the client's options. */
    static Duration delay(RegistryOptions o, int attempt) {
        return delay(o.initialBackoff(), o.maxBackoff(), attempt);
    }

    /**
     * Delay before retry number {@code attempt} (0-based): {@code initial * 2^attempt} capped at {@code max}, half of it
     * fixed and half random, so clients that failed together do not retry together.
     */
    public static Duration delay(Duration initial, Duration max, int attempt) {
        long base = initial.toMillis();
        long cap = max.toMillis();
        long exp = attempt >= 30 ? cap : Math.min(cap, base << attempt);
        long half = exp / 2;
        return Duration.ofMillis(half + (exp - half > 0 ? ThreadLocalRandom.current().nextLong(exp - half + 1) : 0));
    }

    /** {@code Retry-After}: delta-seconds or an HTTP date; empty when absent or unparseable; capped at {@code max}. */
    static Optional<Duration> retryAfter(String value, Duration max, Instant now) {
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        String v = value.strip();
        Duration d;
        if (v.chars().allMatch(Character::isDigit)) {
            try {
                d = Duration.ofSeconds(Long.parseLong(v));
            } catch (NumberFormatException e) {
                d = max;
            }
        } else {
            try {
                Instant when = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                d = Duration.between(now, when);
                if (d.isNegative()) {
                    d = Duration.ZERO;
                }
            } catch (DateTimeParseException e) {
                return Optional.empty();
            }
        }
        return Optional.of(d.compareTo(max) > 0 ? max : d);
    }
}

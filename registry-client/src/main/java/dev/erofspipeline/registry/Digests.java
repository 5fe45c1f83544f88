package dev.erofspipeline.registry;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Content digests ({@code sha256:<64 hex>}, {@code sha512:<128 hex>}). */
public final class Digests {
    private static final Pattern SHA256 = Pattern.compile("sha256:[a-f0-9]{64}");
    private static final Pattern SHA512 = Pattern.compile("sha512:[a-f0-9]{128}");

    private Digests() {
    }

    /** True when {@code digest} is a well-formed sha256 or sha512 digest. */
    public static boolean isValid(String digest) {
        return digest != null && (SHA256.matcher(digest).matches() || SHA512.matcher(digest).matches());
    }

    /** Returns {@code digest} or throws {@link IllegalArgumentException} when it is malformed. */
    public static String requireValid(String digest) {
        if (!isValid(digest)) {
            throw new IllegalArgumentException("not a sha256/sha512 digest: " + digest);
        }
        return digest;
    }

    public static String algorithm(String digest) {
        return requireValid(digest).substring(0, digest.indexOf(':'));
    }

    public static String hex(String digest) {
        return requireValid(digest).substring(digest.indexOf(':') + 1);
    }

    /** A fresh MessageDigest for the algorithm of {@code digest}. */
    public static MessageDigest newMessageDigest(String digest) {
        return messageDigest(algorithm(digest));
    }

    static MessageDigest messageDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(switch (algorithm) {
                case "sha256" -> "SHA-256";
                case "sha512" -> "SHA-512";
                default -> throw new IllegalArgumentException("unsupported digest algorithm " + algorithm);
            });
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static MessageDigest newSha256() {
        return messageDigest("sha256");
    }

    public static String sha256(byte[] data) {
        return "sha256:" + HexFormat.of().formatHex(newSha256().digest(data));
    }

    /** Formats a finished MessageDigest as {@code algorithm:hex}. */
    static String format(String algorithm, MessageDigest md) {
        return algorithm + ":" + HexFormat.of().formatHex(md.digest());
    }

    /** The digest of {@code data} computed with the algorithm of {@code expected}. */
    static String digestLike(String expected, byte[] data) {
        String alg = algorithm(expected);
        return alg + ":" + HexFormat.of().formatHex(messageDigest(alg).digest(data));
    }
}

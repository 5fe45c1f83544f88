package dev.erofspipeline.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** {@code sha256:<hex>} digests of bytes, streams and files. */
public final class Digests {

    private Digests() {
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code sha256:<64 hex>} of the bytes. */
    public static String sha256(byte[] data) {
        return "sha256:" + HexFormat.of().formatHex(newSha256().digest(data));
    }

    /** {@code sha256:<64 hex>} of everything the stream yields (the stream is not closed). */
    public static String sha256(InputStream in) throws IOException {
        MessageDigest md = newSha256();
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    /** {@code sha256:<64 hex>} of a file's content. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The hex part of {@code sha256:<hex>}. */
    public static String hex(String digest) {
        int i = digest.indexOf(':');
        return i < 0 ? digest : digest.substring(i + 1);
    }
}

package dev.erofspipeline.registry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.security.MessageDigest;

/**
 * Content to upload whose digest and size are known up front and which can be re-opened (so a failed
 * upload can be retried from the start).
 */
public interface BlobSource {
    String digest();

    long size();

    /** A fresh stream over the whole content; called once per attempt. */
    InputStream open() throws IOException;

    static BlobSource of(byte[] data) {
        String digest = Digests.sha256(data);
        return new BlobSource() {
            public String digest() {
                return digest;
            }

            public long size() {
                return data.length;
            }

            public InputStream open() {
                return new ByteArrayInputStream(data);
            }
        };
    }

    /** A file; its sha256 is computed once here. */
    static BlobSource of(Path file) throws IOException {
        MessageDigest md = Digests.newSha256();
        long size = 0;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                size += n;
            }
        }
        String digest = "sha256:" + HexFormat.of().formatHex(md.digest());
        long total = size;
        return new BlobSource() {
            public String digest() {
                return digest;
            }

            public long size() {
                return total;
            }

            public InputStream open() throws IOException {
                return Files.newInputStream(file);
            }
        };
    }

    default Descriptor descriptor(String mediaType) {
        return new Descriptor(mediaType, digest(), size());
    }
}

package dev.erofspipeline.registry;

import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.security.MessageDigest;

/**
 * A blob download that resumes after a broken connection (a new request from the current offset, at most
 * {@code maxResumes} times) and checks size and (unless the reader hashes the bytes itself) digest when the content ends.
 */
final class BlobInputStream extends InputStream {
    private static final System.Logger LOG = System.getLogger(BlobInputStream.class.getName());

    @FunctionalInterface
    interface Reopener {
        InputStream openAt(long offset) throws IOException;
    }

    private final String digest;
    private final long expectedSize;
    private final Reopener reopener;
    private final RegistryCounters counters;
    private final MessageDigest md; // null: the digest is not checked
    private InputStream current;
    private int resumesLeft;
    private long position;
    private boolean finished;
    private volatile boolean closed; // also by another thread, to abandon the download

    BlobInputStream(InputStream first, String digest, boolean checkDigest, long expectedSize, int maxResumes, Reopener reopener,
            RegistryCounters counters) {
        this.current = first;
        this.digest = digest;
        this.expectedSize = expectedSize;
        this.resumesLeft = maxResumes;
        this.reopener = reopener;
        this.counters = counters;
        this.md = checkDigest ? Digests.newMessageDigest(digest) : null;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        if (finished) {
            return -1;
        }
        if (len == 0) {
            return 0;
        }
        while (true) {
            int n;
            try {
                n = current.read(b, off, len);
            } catch (IOException e) {
                resume(e);
                continue;
            }
            if (n < 0) {
                if (expectedSize >= 0 && position < expectedSize) {
                    resume(new IOException("premature end of content at " + position + " of " + expectedSize));
                    continue;
                }
                finish();
                return -1;
            }
            if (md != null) {
                md.update(b, off, n);
            }
            position += n;
            if (expectedSize >= 0 && position > expectedSize) {
                throw new RegistryException("blob " + digest + " is longer than " + expectedSize + " bytes", 200, "SIZE_INVALID", false,
                        null);
            }
            return n;
        }
    }

    /** Re-opens at the current position; a failing re-open (or skip) uses up another attempt. */
    private void resume(IOException cause) throws IOException {
        if (closed) {
            throw new IOException("stream closed", cause); // abandoned: no new request
        }
        IOException last = cause;
        while (true) {
            if (last instanceof RegistryException re && !re.isTransient()) {
                throw re;
            }
            closeQuietly();
            if (resumesLeft <= 0) {
                throw new RegistryException("download of blob " + digest + " broke at byte " + position + " and could not be resumed: "
                        + last.getMessage(), 0, "CONNECTION", true, last);
            }
            resumesLeft--;
            counters.resume();
            LOG.log(Level.INFO, "blob {0}: download broke at byte {1} ({2}); resuming", digest, position, last.getMessage());
            try {
                current = reopener.openAt(position);
                return;
            } catch (IOException e) {
                current = InputStream.nullInputStream();
                last = e;
            }
        }
    }

    private void finish() throws IOException {
        finished = true;
        if (md == null) {
            return;
        }
        String actual = Digests.algorithm(digest) + ":" + java.util.HexFormat.of().formatHex(md.digest());
        if (!actual.equals(digest)) {
            throw new RegistryException("blob " + digest + " received with digest " + actual, 200, "DIGEST_INVALID", false, null);
        }
    }

    /** Bytes delivered so far. */
    long position() {
        return position;
    }

    private void closeQuietly() {
        try {
            current.close();
        } catch (IOException ignored) {
            // broken anyway
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            closeQuietly();
        }
    }
}

package dev.erofspipeline.convert;

import dev.erofspipeline.convert.LayerConverter.Compression;
import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The uncompressed tar as the parser reads it. Every chunk goes into the diffID (in order, under
 * {@link #diffLock}) and, when the tar is part of the verity data device (the tar-index profile),
 * the verity leaves before it is served by {@code read}; in the threaded feed the decoding thread
 * takes part of that work when it is ahead.
 */
abstract class Feed extends InputStream implements AutoCloseable {
  final MessageDigest diffId = Sha256.newDigest();
  final ReentrantLock diffLock = new ReentrantLock();
  /** Null when the tar is not hashed into a verity tree (the native profile hashes its image). */
  final VerityTreeBuilder verity;
  final LayerDecoder decoder;
  private final VerityTreeBuilder.LeafHasher hasher;
  volatile Throwable failure;
  private Chunk cur;
  private int pos;
  private int len;
  private boolean ended;
  private boolean discard;

  /** Thrown through the parser's reads when the feed fails; carries the real failure. */
  private static final class FeedFailure extends IOException {
    private static final long serialVersionUID = 1L;

    FeedFailure(Throwable cause) {
      super(cause.getMessage(), cause);
    }
  }

  Feed(LayerDecoder decoder, VerityTreeBuilder verity) {
    this.decoder = decoder;
    this.verity = verity;
    this.hasher = verity == null ? null : verity.leafHasher();
  }

  /** Bytes of verity leaf digests a chunk of the tar needs room for (0 without a tree). */
  static int leafEntrySize(VerityTreeBuilder verity) {
    return verity == null ? 0 : verity.leafEntrySize();
  }

  /** The next chunk, or null at the end; throws the failure of decoding. */
  abstract Chunk next() throws Exception;

  abstract void recycle(Chunk c);

  /** Stops decoding; reads the rest of the raw blob (for its digest) if that can be done. */
  abstract void abandon();

  /** A plain tar is its own diffID: the blob digest serves, no second hash. */
  boolean hashesDiffId() {
    return decoder.compression() != Compression.NONE;
  }

  /** Adds the chunk to the diffID unless that was done already; chunks come in order. */
  final void diff(Chunk c) {
    diffLock.lock();
    try {
      if (!c.diffDone) {
        if (hashesDiffId()) {
          diffId.update(c.buf, 0, c.len);
        }
        c.diffDone = true;
      }
    } finally {
      diffLock.unlock();
    }
  }

  private void process(Chunk c) throws IOException {
    diff(c);
    if (verity == null) {
      return;
    }
    if (c.wholeBlocks() && !verity.partialBlockPending()) {
      if (c.leavesClaimed.compareAndSet(false, true)) {
        hasher.hash(c.buf, 0, c.len, c.leaves, 0);
        c.leavesDone();
      } else {
        c.awaitLeaves(); // the decoding thread is on it
      }
      verity.appendLeaves(c.leaves, 0, c.len / VerityTreeBuilder.CONTRACT_BLOCK_SIZE);
    } else {
      verity.update(c.buf, 0, c.len);
    }
  }

  private boolean advance() throws IOException {
    if (failure != null) {
      throw new FeedFailure(failure);
    }
    if (ended) {
      return false;
    }
    if (cur != null) {
      recycle(cur);
      cur = null;
    }
    Chunk c;
    try {
      c = next();
    } catch (Exception e) {
      failure = e;
      throw new FeedFailure(e);
    }
    if (c == null) {
      ended = true;
      return false;
    }
    if (!discard) {
      process(c);
    }
    cur = c;
    pos = 0;
    len = c.len;
    return true;
  }

  @Override
  public int read() throws IOException {
    while (pos >= len) {
      if (!advance()) {
        return -1;
      }
    }
    return cur.buf[pos++] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int n) throws IOException {
    Objects.checkFromIndexSize(off, n, b.length);
    if (n == 0) {
      return 0;
    }
    while (pos >= len) {
      if (!advance()) {
        return -1;
      }
    }
    int k = Math.min(n, len - pos);
    System.arraycopy(cur.buf, pos, b, off, k);
    pos += k;
    return k;
  }

  /** Hashes everything after what the parser read. */
  void drain() throws IOException {
    pos = len;
    while (advance()) {
      pos = len;
    }
  }

  /** Decodes the rest without hashing it; returns the failure of the feed, if any. */
  Throwable decodeRest() {
    discard = true;
    try {
      drain();
    } catch (IOException e) {
      // recorded in failure
    }
    return failure;
  }

  @Override
  public void close() {}
}

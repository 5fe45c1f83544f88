package dev.erofspipeline.convert;

import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.InterruptedIOException;
import java.util.concurrent.atomic.AtomicBoolean;

/** One buffer of uncompressed bytes on its way from decoding to hashing and parsing. */
final class Chunk {
  final byte[] buf;
  final byte[] leaves;
  int len;
  /** Set (under the feed's diffID lock) once the bytes are in the diffID. */
  boolean diffDone;
  /** Whoever sets this computes the verity leaves of the chunk. */
  final AtomicBoolean leavesClaimed = new AtomicBoolean();
  private boolean leavesDone;

  Chunk(int size, int leafEntrySize) {
    buf = new byte[size];
    leaves = new byte[size / 512 * leafEntrySize];
  }

  void reset(int n) {
    len = n;
    diffDone = false;
    leavesClaimed.set(false);
    synchronized (this) {
      leavesDone = false;
    }
  }

  synchronized void leavesDone() {
    leavesDone = true;
    notifyAll();
  }

  synchronized void awaitLeaves() throws InterruptedIOException {
    while (!leavesDone) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted");
      }
    }
  }

  /** Whether its leaves may be hashed apart from the builder (whole blocks only). */
  boolean wholeBlocks() {
    return len % VerityTreeBuilder.CONTRACT_BLOCK_SIZE == 0;
  }
}

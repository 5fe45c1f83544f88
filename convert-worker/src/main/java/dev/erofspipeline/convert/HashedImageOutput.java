package dev.erofspipeline.convert;

import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The native image on its way to the caller: every byte goes into the verity tree (as data) and
 * through the blob digest to the output. With {@code parallel}, the tree's leaf digests of each
 * chunk are computed on a second thread while this one digests and writes the same chunk, so the
 * image's two hashes take about the time of one.
 */
final class HashedImageOutput extends OutputStream {
  private static final int CHUNK = 1 << 20;

  private final VerityTreeBuilder verity;
  private final int dataBlockSize;
  private final HashingOutputStream blobOut;
  private final VerityTreeBuilder.LeafHasher hasher;
  /** Null when hashing on the calling thread only. */
  private final ExecutorService leafThread;
  private final byte[] chunk = new byte[CHUNK];
  private final byte[] leaves;
  private int len;

  HashedImageOutput(VerityTreeBuilder verity, int dataBlockSize, HashingOutputStream blobOut, boolean parallel) {
    this.verity = verity;
    this.dataBlockSize = dataBlockSize;
    this.blobOut = blobOut;
    this.hasher = verity.leafHasher();
    this.leaves = new byte[CHUNK / dataBlockSize * verity.leafEntrySize()];
    this.leafThread = parallel
        ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "image-verity-leaves");
            t.setDaemon(true);
            return t;
          })
        : null;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int n) throws IOException {
    for (int k; n > 0; off += k, n -= k) {
      k = Math.min(n, CHUNK - len);
      System.arraycopy(b, off, chunk, len, k);
      if ((len += k) == CHUNK) {
        writeChunk();
      }
    }
  }

  /** Hashes and writes what is buffered; the image has ended (it is whole data blocks). */
  void finish() throws IOException {
    if (len % dataBlockSize != 0) {
      throw new IllegalStateException("the image is not whole data blocks: " + len + " bytes left");
    }
    writeChunk();
  }

  private void writeChunk() throws IOException {
    if (leafThread == null) {
      verity.update(chunk, 0, len);
      blobOut.write(chunk, 0, len);
    } else {
      int n = len;
      Future<Integer> digests = leafThread.submit(() -> hasher.hash(chunk, 0, n, leaves, 0));
      blobOut.write(chunk, 0, n);
      try {
        verity.appendLeaves(leaves, 0, digests.get());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while hashing the image");
      } catch (ExecutionException e) {
        throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
      }
    }
    len = 0;
  }

  /** Stops the second thread; does not close the output. */
  @Override
  public void close() {
    if (leafThread != null) {
      leafThread.shutdownNow();
    }
  }
}

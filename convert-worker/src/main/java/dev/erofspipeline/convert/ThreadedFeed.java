package dev.erofspipeline.convert;

import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Iterator;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;

/**
 * Decoding on a second thread, handing full chunks over a bounded queue. When every chunk is
 * full (the hashing and parsing side is behind), the decoding thread hashes queued chunks itself
 * (their diffID in order, their verity leaves in any order) instead of waiting.
 */
final class ThreadedFeed extends Feed {
  private static final Chunk END = new Chunk(0, 0);

  private record Item(Chunk chunk, Throwable error) {}

  private final BlockingQueue<Chunk> free;
  private final BlockingQueue<Item> full;
  /** Chunks handed over and not yet recycled, oldest first. */
  private final ConcurrentLinkedDeque<Chunk> inflight = new ConcurrentLinkedDeque<>();
  private final VerityTreeBuilder.LeafHasher helperHasher;
  private final Thread thread;
  private volatile boolean abandoned;
  private volatile boolean cancelled;

  ThreadedFeed(LayerDecoder decoder, VerityTreeBuilder verity, int chunks) {
    super(decoder, verity);
    this.free = new ArrayBlockingQueue<>(chunks);
    this.full = new ArrayBlockingQueue<>(chunks + 1);
    for (int i = 0; i < chunks; i++) {
      free.add(new Chunk(decoder.bufferSize(), leafEntrySize(verity)));
    }
    this.helperHasher = verity == null ? null : verity.leafHasher();
    this.thread = new Thread(this::produce, "layer-decode");
    thread.setDaemon(true);
    thread.start();
  }

  private void produce() {
    Item last;
    try {
      while (true) {
        if (abandoned) {
          decoder.source().drainUnlessFailed();
          last = new Item(END, null);
          break;
        }
        Chunk c = free.poll();
        if (c == null && !help()) {
          c = free.poll(100, TimeUnit.MILLISECONDS);
        }
        if (cancelled) {
          return;
        }
        if (c == null) {
          continue;
        }
        int n = decoder.fill(c.buf);
        if (n < 0) {
          free.add(c);
          last = new Item(END, null);
          break;
        }
        c.reset(n);
        inflight.add(c);
        if (!put(new Item(c, null))) {
          return;
        }
      }
    } catch (Throwable e) {
      // read the rest of the blob so that the digest can still be checked
      decoder.source().drainUnlessFailed();
      last = new Item(null, e);
    } finally {
      decoder.close();
    }
    put(last);
  }

  /**
   * One unit of the other side's hashing work; false if there was none to take. Verity leaves
   * first, of the newest chunk (the one the parsing side will reach last, so that it does not
   * wait for them); then the diffID, which has to go in order.
   */
  private boolean help() {
    for (Iterator<Chunk> it = inflight.descendingIterator(); helperHasher != null && it.hasNext(); ) {
      Chunk c = it.next();
      if (c.wholeBlocks() && c.leavesClaimed.compareAndSet(false, true)) {
        helperHasher.hash(c.buf, 0, c.len, c.leaves, 0);
        c.leavesDone();
        return true;
      }
    }
    if (diffLock.tryLock()) {
      try {
        for (Chunk c : inflight) {
          if (!c.diffDone) {
            diff(c);
            return true;
          }
        }
      } finally {
        diffLock.unlock();
      }
    }
    return false;
  }

  private boolean put(Item item) {
    try {
      while (!full.offer(item, 100, TimeUnit.MILLISECONDS)) {
        if (cancelled) {
          return false;
        }
      }
      return true;
    } catch (InterruptedException e) {
      return false;
    }
  }

  @Override
  Chunk next() throws Exception {
    Item item = full.take();
    if (item.error != null) {
      throw item.error instanceof Exception ex ? ex : new IOException(item.error);
    }
    return item.chunk == END ? null : item.chunk;
  }

  @Override
  void recycle(Chunk c) {
    // a chunk whose leaves the decoding thread claimed is only reused once they are written
    if (c.leavesClaimed.get()) {
      try {
        c.awaitLeaves();
      } catch (InterruptedIOException e) {
        return; // dropped: the conversion is being abandoned
      }
    }
    inflight.remove(c);
    free.offer(c);
  }

  @Override
  void abandon() {
    abandoned = true;
    // let the producer finish: hand its chunks back until it reports the end
    try {
      while (thread.isAlive() || !full.isEmpty()) {
        Item item = full.poll(100, TimeUnit.MILLISECONDS);
        if (item != null) {
          if (item.chunk != null && item.chunk != END) {
            recycle(item.chunk);
          } else {
            break;
          }
        }
      }
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    cancelled = true;
    try {
      // normally it has finished; if it is blocked reading the blob it ends when that read does
      // (it owns the decoder and frees it itself)
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

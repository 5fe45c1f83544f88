package dev.erofspipeline.convert;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.erofspipeline.convert.erofs.TarIndex;
import dev.erofspipeline.convert.erofs.TarIndexWriter;
import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Converts one layer blob (tar, tar+gzip or tar+zstd, detected from its first bytes) in a single
 * pass: sha256 of the blob, decompression, sha256 of the whole uncompressed stream (the diffID), the
 * EROFS tar index ({@link TarIndexWriter}) and the dm-verity tree over {@code index || tar} (contract
 * parameters). Nothing is written to the outputs unless every check passed; on failure the caller
 * discards whatever it passed in.
 *
 * <p>With {@link Options#parallel()} decompression (and the blob digest) runs on a second thread
 * that hands full buffers to the calling thread through a bounded queue; the calling thread hashes
 * them (diffID and verity leaves) and feeds the tar parser.
 *
 * <p>Failure reasons: {@code digest.mismatch}, {@code diffid.mismatch}, {@code compression.corrupt},
 * {@code compression.truncated}, {@code compression.unsupported}, {@code limit.uncompressed-bytes},
 * and whatever the tar index writer reports. When the blob's digest does not match, that is the
 * reason reported even if decompression or parsing failed first (the blob is simply not the layer).
 * A failing source stream is an {@link IOException} (transient, worth retrying).
 */
public final class LayerConverter {

  /** The erofs-utils version whose mkfs.erofs output the index reproduces (contract section 2). */
  public static final String EROFS_UTILS_VERSION = "1.9.3";

  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final byte[] CONTRACT_SALT = new byte[32];

  /**
   * @param parallel decompress on a second thread (worth it when one layer is in flight per core
   *     pair; turn off when converting many layers at once)
   * @param chunkSize bytes per buffer handed from decompression to hashing and parsing
   * @param chunks buffers in flight between the two threads
   * @param verityMemoryBound heap for verity digests per tree level before spilling to a file
   * @param tempDir where verity spill files go (null: the default temporary directory)
   */
  public record Options(
      boolean parallel, int chunkSize, int chunks, long verityMemoryBound, Path tempDir) {
    public static final Options DEFAULT =
        new Options(true, 256 << 10, 16, VerityTreeBuilder.DEFAULT_MEMORY_BOUND, null);

    public Options {
      if (chunkSize < 512 || chunks < 2) {
        throw new IllegalArgumentException("chunkSize >= 512 and chunks >= 2 required");
      }
    }

    public Options withParallel(boolean p) {
      return new Options(p, chunkSize, chunks, verityMemoryBound, tempDir);
    }
  }

  /** How a blob is compressed, from its magic bytes. */
  public enum Compression {
    NONE,
    GZIP,
    ZSTD
  }

  private final ConversionLimits limits;
  private final Options options;

  public LayerConverter(ConversionLimits limits) {
    this(limits, Options.DEFAULT);
  }

  public LayerConverter(ConversionLimits limits, Options options) {
    this.limits = Objects.requireNonNull(limits);
    this.options = Objects.requireNonNull(options);
  }

  /**
   * Converts one layer.
   *
   * @param blob the layer blob as stored in the registry; read to its end, not closed
   * @param layerDigest D ({@code sha256:<hex>}) as in the image manifest: names both UUIDs
   * @param verifyLayerDigest whether the blob's sha256 must equal D ({@code digest.mismatch}
   *     otherwise); false only when converting a re-encoding of the layer D names (tests, tools)
   * @param expectedDiffId the diffID from the image config, or null to skip that check
   * @param indexOut receives the tar index, only once everything passed
   * @param treeOut receives the hash device (verity superblock and tree), likewise
   */
  public ConversionResult convert(
      InputStream blob,
      String layerDigest,
      boolean verifyLayerDigest,
      String expectedDiffId,
      OutputStream indexOut,
      OutputStream treeOut)
      throws IOException, InvalidLayerException {
    checkDigest("layer digest", layerDigest);
    if (expectedDiffId != null) {
      checkDigest("diffID", expectedDiffId);
    }
    UUID erofsUuid = LayerUuids.erofs(layerDigest);
    UUID verityUuid = LayerUuids.verity(layerDigest);

    Source source = new Source(blob);
    Decoder decoder = new Decoder(source, limits.maxUncompressedBytes(), options.chunkSize());
    try (VerityTreeBuilder verity =
            new VerityTreeBuilder(
                "sha256",
                VerityTreeBuilder.CONTRACT_BLOCK_SIZE,
                VerityTreeBuilder.CONTRACT_BLOCK_SIZE,
                CONTRACT_SALT,
                options.verityMemoryBound(),
                options.tempDir());
        Feed feed =
            options.parallel()
                ? new ThreadedFeed(decoder, verity, options.chunks())
                : new DirectFeed(decoder, verity)) {
      TarIndex index;
      try {
        index = TarIndexWriter.write(feed, erofsUuid, limits);
        feed.drain();
      } catch (InvalidLayerException | IOException | RuntimeException e) {
        throw failure(feed, source, verifyLayerDigest ? layerDigest : null, e);
      }
      String blobDigest = "sha256:" + source.hex();
      if (verifyLayerDigest && !blobDigest.equals(layerDigest)) {
        throw digestMismatch(layerDigest, blobDigest, null);
      }
      String diffId =
          feed.hashesDiffId() ? "sha256:" + HexFormat.of().formatHex(feed.diffId.digest()) : blobDigest;
      if (expectedDiffId != null && !expectedDiffId.equals(diffId)) {
        throw new InvalidLayerException(
            "diffid.mismatch",
            "the uncompressed layer has diffID " + diffId + ", the image config says " + expectedDiffId);
      }
      byte[] image = index.image();
      if (image.length % VerityTreeBuilder.CONTRACT_BLOCK_SIZE != 0) {
        throw new IllegalStateException("tar index is not a multiple of 512 bytes: " + image.length);
      }

      MessageDigest indexSha = sha256();
      indexOut.write(image);
      indexSha.update(image);
      HashingOutputStream tree = new HashingOutputStream(treeOut);
      VerityTreeBuilder.Result vr = verity.finish(image, verityUuid, tree);
      tree.flush();
      return new ConversionResult(
          layerDigest,
          diffId,
          vr.rootHashHex(),
          erofsUuid.toString(),
          verityUuid.toString(),
          image.length,
          HexFormat.of().formatHex(indexSha.digest()),
          tree.count,
          HexFormat.of().formatHex(tree.md.digest()),
          vr.dataBlocks(),
          HexFormat.of().formatHex(CONTRACT_SALT),
          EROFS_UTILS_VERSION);
    }
  }

  /**
   * The exception to throw after a failure while parsing or feeding: a failure of the feed itself
   * (decompression, limit, source), even one found after the parser failed, wins over what the
   * parser made of it; then, if the blob can be read to its end and its digest is not {@code
   * layerDigest} (null: not checked), the mismatch is the reason. An interrupt ends at once.
   */
  private static InvalidLayerException failure(
      Feed feed, Source source, String layerDigest, Exception e) throws IOException {
    Throwable cause = feed.failure != null ? feed.failure : e;
    if (cause instanceof InterruptedException || cause instanceof InterruptedIOException) {
      Thread.currentThread().interrupt();
      InterruptedIOException ie = new InterruptedIOException("layer conversion interrupted");
      ie.initCause(cause);
      throw ie;
    }
    if (feed.failure == null && e instanceof InvalidLayerException) {
      // the parser gave up; if the stream itself is corrupt (a zstd or gzip checksum further on),
      // that is the better reason
      Throwable f = feed.decodeRest();
      if (f != null) {
        cause = f;
      }
    }
    if (cause instanceof IOException && !(cause instanceof CompressionException) && source.failed) {
      throw (IOException) cause; // the blob could not be read: transient
    }
    if (cause instanceof CompressionException ce) {
      cause = ce.toInvalidLayer();
    }
    feed.abandon();
    if (layerDigest != null && source.drainedToEnd) {
      String blobDigest = "sha256:" + source.hex();
      if (!blobDigest.equals(layerDigest)) {
        return digestMismatch(layerDigest, blobDigest, cause);
      }
    }
    if (cause instanceof InvalidLayerException ile) {
      return ile;
    }
    if (cause instanceof IOException ioe) {
      throw ioe;
    }
    if (cause instanceof RuntimeException re) {
      throw re;
    }
    if (cause instanceof Error err) {
      throw err;
    }
    throw new IOException(cause);
  }

  private static InvalidLayerException digestMismatch(String expected, String actual, Throwable also) {
    String msg = "the blob has digest " + actual + ", expected " + expected;
    if (also != null) {
      msg += " (and it fails to convert: " + also.getMessage() + ")";
    }
    return new InvalidLayerException("digest.mismatch", msg, also);
  }

  private static void checkDigest(String what, String d) {
    if (d == null || !DIGEST.matcher(d).matches()) {
      throw new IllegalArgumentException(what + " must be sha256:<64 lowercase hex>, got " + d);
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Detects the compression of a blob from its first bytes. */
  public static Compression detect(byte[] head, int len) throws InvalidLayerException {
    int b0 = len > 0 ? head[0] & 0xff : -1;
    int b1 = len > 1 ? head[1] & 0xff : -1;
    if (b0 == 0x1f && b1 == 0x8b) {
      return Compression.GZIP;
    }
    if (len >= 4 && b1 == 0xb5 && b0 == 0x28 && (head[2] & 0xff) == 0x2f && (head[3] & 0xff) == 0xfd) {
      return Compression.ZSTD;
    }
    // a zstd skippable frame (magic 0x184D2A5?) may come first
    if (len >= 4 && (b0 & 0xf0) == 0x50 && b1 == 0x2a && (head[2] & 0xff) == 0x4d && (head[3] & 0xff) == 0x18) {
      return Compression.ZSTD;
    }
    if (len >= 3 && b0 == 'B' && b1 == 'Z' && head[2] == 'h') {
      throw new InvalidLayerException("compression.unsupported", "the blob is bzip2-compressed; only gzip and zstd are supported");
    }
    if (len >= 6 && b0 == 0xfd && b1 == '7' && head[2] == 'z' && head[3] == 'X' && head[4] == 'Z' && head[5] == 0) {
      throw new InvalidLayerException("compression.unsupported", "the blob is xz-compressed; only gzip and zstd are supported");
    }
    return Compression.NONE;
  }

  // ---------------------------------------------------------------------------------------------

  /** The blob as received: hashed and counted as it is read; remembers whether reading failed. */
  private static final class Source extends InputStream {
    private final InputStream in;
    private final MessageDigest md = sha256();
    volatile boolean failed;
    volatile boolean drainedToEnd;
    long count;

    Source(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n;
      try {
        n = in.read(b, off, len);
      } catch (IOException | RuntimeException e) {
        failed = true;
        throw e;
      }
      if (n > 0) {
        md.update(b, off, n);
        count += n;
      } else if (n < 0) {
        drainedToEnd = true;
      }
      return n;
    }

    /** Reads (and hashes) whatever is left; false if reading failed. */
    boolean drain() {
      byte[] buf = new byte[1 << 16];
      try {
        while (read(buf, 0, buf.length) >= 0) {}
        return true;
      } catch (IOException | RuntimeException e) {
        return false;
      }
    }

    String hex() {
      return HexFormat.of().formatHex(md.digest());
    }
  }

  /** Decompression: fills buffers with uncompressed bytes, enforcing the size limit. */
  private static final class Decoder {
    private final Source source;
    private final long maxBytes;
    private final int bufferSize;
    private InputStream data;
    private Compression compression;
    long total;

    Decoder(Source source, long maxBytes, int bufferSize) {
      this.source = source;
      this.maxBytes = maxBytes;
      this.bufferSize = bufferSize;
    }

    private void open() throws IOException, InvalidLayerException {
      byte[] head = new byte[6];
      int n = source.readNBytes(head, 0, head.length);
      compression = detect(head, n);
      InputStream all = new SequenceInputStream(new ByteArrayInputStream(head, 0, n), source);
      switch (compression) {
        case GZIP -> data = new GzipDecoder(all, Math.max(1 << 16, bufferSize / 4));
        case ZSTD -> data = new ZstdInputStreamNoFinalizer(all);
        default -> data = all;
      }
    }

    /**
     * Fills {@code buf} as far as the data goes; returns the bytes put there, -1 at the end. Errors
     * from the bytes of the blob come out as {@link CompressionException} or {@link
     * InvalidLayerException}; a failing source as its own {@link IOException}.
     */
    int fill(byte[] buf) throws IOException, InvalidLayerException {
      if (data == null) {
        open();
      }
      int n = 0;
      try {
        while (n < buf.length) {
          int r = data.read(buf, n, buf.length - n);
          if (r < 0) {
            break;
          }
          n += r;
        }
      } catch (CompressionException e) {
        throw e;
      } catch (IOException e) {
        if (source.failed) {
          throw e;
        }
        throw classify(e);
      }
      if (n == 0) {
        finish();
        return -1;
      }
      total += n;
      if (total > maxBytes) {
        throw new InvalidLayerException(
            "limit.uncompressed-bytes",
            "the uncompressed layer is larger than the limit of " + maxBytes + " bytes");
      }
      return n;
    }

    private CompressionException classify(IOException e) {
      String m = String.valueOf(e.getMessage());
      if (e instanceof EOFException || m.toLowerCase(java.util.Locale.ROOT).contains("truncated")) {
        return new CompressionException(
            "compression.truncated", compression.name().toLowerCase(java.util.Locale.ROOT) + " stream truncated: " + m, e);
      }
      return new CompressionException(
          "compression.corrupt", compression.name().toLowerCase(java.util.Locale.ROOT) + " data corrupt: " + m, e);
    }

    /** At the end of the uncompressed data: nothing of the blob may be left over. */
    private void finish() throws IOException {
      if (compression == Compression.ZSTD) {
        byte[] probe = new byte[1];
        if (source.read(probe, 0, 1) > 0) {
          throw new CompressionException("compression.corrupt", "zstd stream has trailing data");
        }
      }
      if (!source.drainedToEnd && source.read(new byte[1], 0, 1) > 0) {
        throw new IllegalStateException("decoder ended before the blob");
      }
      source.drainedToEnd = true;
    }

    void close() {
      if (data != null && compression != Compression.NONE) {
        try {
          data.close();
        } catch (IOException ignored) {
          // the source is the caller's; native decoder state is freed either way
        }
      }
    }
  }

  /** Thrown through the parser's reads when the feed fails; carries the real failure. */
  private static final class FeedFailure extends IOException {
    private static final long serialVersionUID = 1L;

    FeedFailure(Throwable cause) {
      super(cause.getMessage(), cause);
    }
  }

  /** One buffer of uncompressed bytes on its way from decoding to hashing and parsing. */
  private static final class Chunk {
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

  /**
   * The uncompressed tar as the parser reads it. Every chunk goes into the diffID (in order, under
   * {@link #diffLock}) and the verity leaves before it is served by {@code read}; in the threaded
   * feed the decoding thread takes part of that work when it is ahead.
   */
  private abstract static class Feed extends InputStream implements AutoCloseable {
    final MessageDigest diffId = sha256();
    final ReentrantLock diffLock = new ReentrantLock();
    final VerityTreeBuilder verity;
    final Decoder decoder;
    private final VerityTreeBuilder.LeafHasher hasher;
    volatile Throwable failure;
    private Chunk cur;
    private int pos;
    private int len;
    private boolean ended;
    private boolean discard;

    Feed(Decoder decoder, VerityTreeBuilder verity) {
      this.decoder = decoder;
      this.verity = verity;
      this.hasher = verity.leafHasher();
    }

    /** The next chunk, or null at the end; throws the failure of decoding. */
    abstract Chunk next() throws Exception;

    abstract void recycle(Chunk c);

    /** Stops decoding; reads the rest of the raw blob (for its digest) if that can be done. */
    abstract void abandon();

    /** A plain tar is its own diffID: the blob digest serves, no second hash. */
    boolean hashesDiffId() {
      return decoder.compression != Compression.NONE;
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

  /** Single thread: decode straight into one chunk. */
  private static final class DirectFeed extends Feed {
    private final Chunk chunk;

    DirectFeed(Decoder decoder, VerityTreeBuilder verity) {
      super(decoder, verity);
      this.chunk = new Chunk(decoder.bufferSize, verity.leafEntrySize());
    }

    @Override
    Chunk next() throws Exception {
      int n = decoder.fill(chunk.buf);
      if (n < 0) {
        return null;
      }
      chunk.reset(n);
      return chunk;
    }

    @Override
    void recycle(Chunk c) {}

    @Override
    void abandon() {
      if (!decoder.source.failed) {
        decoder.source.drain();
      }
    }

    @Override
    public void close() {
      decoder.close();
    }
  }

  /**
   * Decoding on a second thread, handing full chunks over a bounded queue. When every chunk is
   * full (the hashing and parsing side is behind), the decoding thread hashes queued chunks itself
   * (their diffID in order, their verity leaves in any order) instead of waiting.
   */
  private static final class ThreadedFeed extends Feed {
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

    ThreadedFeed(Decoder decoder, VerityTreeBuilder verity, int chunks) {
      super(decoder, verity);
      this.free = new ArrayBlockingQueue<>(chunks);
      this.full = new ArrayBlockingQueue<>(chunks + 1);
      for (int i = 0; i < chunks; i++) {
        free.add(new Chunk(decoder.bufferSize, verity.leafEntrySize()));
      }
      this.helperHasher = verity.leafHasher();
      this.thread = new Thread(this::produce, "layer-decode");
      thread.setDaemon(true);
      thread.start();
    }

    private void produce() {
      Item last;
      try {
        while (true) {
          if (abandoned) {
            if (!decoder.source.failed) {
              decoder.source.drain();
            }
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
        if (!decoder.source.failed) {
          decoder.source.drain();
        }
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
      for (Iterator<Chunk> it = inflight.descendingIterator(); it.hasNext(); ) {
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

  /** Counts and hashes what passes through. */
  private static final class HashingOutputStream extends FilterOutputStream {
    final MessageDigest md = sha256();
    long count;

    HashingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      md.update((byte) b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      md.update(b, off, len);
      count += len;
    }
  }
}

package dev.erofspipeline.convert.verity;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Streaming dm-verity hash tree builder (hash type 1, superblock mode), producing the bytes {@code
 * veritysetup format DATA HASHFILE --format=1 --hash=ALG --data-block-size=D --hash-block-size=H
 * --salt=S --uuid=V} writes into an empty hash file (see {@code spec/dm-verity.md}).
 *
 * <p>The data device is {@code head || tail}, but the tail (the tar) is streamed first through
 * {@link #update} and the head (the EROFS index) is only given to {@link #finish}. Both are whole
 * data blocks apart (head length is a multiple of the data block size), so the digests of tail
 * blocks are computed while streaming and the head's are prepended at the end. Leaf digests are kept
 * in memory up to a bound and spilled to a temporary file beyond it; upper levels are built the same
 * way, so memory stays flat whatever the layer size.
 *
 * <p>Like veritysetup, a trailing partial data block is not hashed (data blocks = floor(size / D)).
 * Not thread-safe.
 */
public final class VerityTreeBuilder implements Closeable {

  /** Block sizes of the consumer contract (section 3). */
  public static final int CONTRACT_BLOCK_SIZE = 512;

  /** Heap kept for digests of one level before spilling to a temporary file. */
  public static final long DEFAULT_MEMORY_BOUND = 32L << 20;

  private static final int SUPERBLOCK_SIZE = 512;

  private final String algorithm;
  private final int dataBlockSize;
  private final int hashBlockSize;
  private final byte[] salt;
  private final long memoryBound;
  private final Path tempDir;

  private final MessageDigest md;
  private final int digestSize;
  private final int entrySize;
  private final byte[] partial;
  private int partialLen;
  private final byte[] scratch;
  private int scratchLen;
  private long tailBlocks;
  private final SpillBuffer tailDigests;
  private final List<SpillBuffer> open = new ArrayList<>();
  private boolean finished;

  /** The contract parameters: sha256, 512-byte data and hash blocks, 32 zero bytes of salt. */
  public static VerityTreeBuilder contract() {
    return new VerityTreeBuilder(
        "sha256", CONTRACT_BLOCK_SIZE, CONTRACT_BLOCK_SIZE, new byte[32], DEFAULT_MEMORY_BOUND, null);
  }

  /** Contract parameters with a given memory bound per level and temp directory (null: default). */
  public static VerityTreeBuilder contract(long memoryBound, Path tempDir) {
    return new VerityTreeBuilder(
        "sha256", CONTRACT_BLOCK_SIZE, CONTRACT_BLOCK_SIZE, new byte[32], memoryBound, tempDir);
  }

  /**
   * @param algorithm veritysetup's name of the hash: {@code sha256}, {@code sha1}, {@code sha512}
   * @param dataBlockSize power of two in [512, 512 KiB]
   * @param hashBlockSize power of two in [512, 512 KiB]
   * @param salt up to 256 bytes, may be empty
   * @param memoryBound bytes of digests one level keeps on the heap before spilling to a file
   * @param tempDir where spill files go; null for the default temporary directory
   */
  public VerityTreeBuilder(
      String algorithm,
      int dataBlockSize,
      int hashBlockSize,
      byte[] salt,
      long memoryBound,
      Path tempDir) {
    this.algorithm = Objects.requireNonNull(algorithm);
    checkBlockSize("data", dataBlockSize);
    checkBlockSize("hash", hashBlockSize);
    if (salt.length > 256) {
      throw new IllegalArgumentException("salt longer than 256 bytes");
    }
    this.dataBlockSize = dataBlockSize;
    this.hashBlockSize = hashBlockSize;
    this.salt = salt.clone();
    this.memoryBound = memoryBound;
    this.tempDir = tempDir;
    try {
      this.md = MessageDigest.getInstance(javaName(algorithm));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalArgumentException("unsupported hash " + algorithm, e);
    }
    this.digestSize = md.getDigestLength();
    // hash type 1 pads every digest to the next power of two
    this.entrySize = Integer.highestOneBit(digestSize - 1) << 1;
    if (entrySize > hashBlockSize) {
      throw new IllegalArgumentException("hash block smaller than a digest");
    }
    this.partial = new byte[dataBlockSize];
    this.scratch = new byte[Math.max(entrySize, (1 << 16) / entrySize * entrySize)];
    this.tailDigests = newBuffer();
  }

  private static void checkBlockSize(String what, int size) {
    if (size < 512 || size > (512 << 10) || Integer.bitCount(size) != 1) {
      throw new IllegalArgumentException(what + " block size must be a power of two in [512, 512K]");
    }
  }

  private static String javaName(String alg) {
    String a = alg.toLowerCase(java.util.Locale.ROOT);
    if (a.startsWith("sha") && a.length() > 3 && Character.isDigit(a.charAt(3))) {
      return "SHA-" + a.substring(3);
    }
    return alg;
  }

  private SpillBuffer newBuffer() {
    SpillBuffer b = new SpillBuffer(memoryBound, tempDir);
    open.add(b);
    return b;
  }

  /** Data blocks of the tail hashed so far. */
  public long tailBlocks() {
    return tailBlocks;
  }

  /** Whether leaf digests went beyond the memory bound into a temporary file. */
  public boolean spilled() {
    return tailDigests.spilled();
  }

  /** Feeds the next bytes of the tail (the part of the data device after the head). */
  public void update(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (finished) {
      throw new IllegalStateException("finished");
    }
    if (partialLen > 0) {
      int n = Math.min(len, dataBlockSize - partialLen);
      System.arraycopy(b, off, partial, partialLen, n);
      partialLen += n;
      off += n;
      len -= n;
      if (partialLen < dataBlockSize) {
        return;
      }
      leaf(partial, 0);
      partialLen = 0;
    }
    while (len >= dataBlockSize) {
      leaf(b, off);
      off += dataBlockSize;
      len -= dataBlockSize;
    }
    if (len > 0) {
      System.arraycopy(b, off, partial, 0, len);
      partialLen = len;
    }
  }

  /**
   * Computes leaf digests on another thread: one hasher per thread, its output handed (in order) to
   * {@link #appendLeaves}. Lets a caller spread the leaf hashing of a stream over several cores.
   */
  public final class LeafHasher {
    private final MessageDigest own;

    private LeafHasher() {
      try {
        own = MessageDigest.getInstance(md.getAlgorithm());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    /**
     * Hashes the whole data blocks of {@code b[off, off+len)} ({@code len} a multiple of the data
     * block size) into {@code out} from {@code outOff}, {@link #leafEntrySize()} bytes each;
     * returns the number of blocks.
     */
    public int hash(byte[] b, int off, int len, byte[] out, int outOff) {
      if (len % dataBlockSize != 0) {
        throw new IllegalArgumentException("not whole data blocks");
      }
      int n = len / dataBlockSize;
      for (int i = 0; i < n; i++, off += dataBlockSize, outOff += entrySize) {
        own.update(salt);
        own.update(b, off, dataBlockSize);
        try {
          own.digest(out, outOff, digestSize);
        } catch (DigestException e) {
          throw new IllegalStateException(e);
        }
      }
      return n;
    }
  }

  public LeafHasher leafHasher() {
    return new LeafHasher();
  }

  /** Bytes per leaf digest as stored in the tree (the digest padded to a power of two). */
  public int leafEntrySize() {
    return entrySize;
  }

  /**
   * Appends the leaf digests of the next {@code count} whole data blocks of the tail, computed by a
   * {@link LeafHasher}; only allowed while no partial block is pending from {@link #update}.
   */
  public void appendLeaves(byte[] digests, int off, int count) throws IOException {
    if (finished || partialLen != 0) {
      throw new IllegalStateException(finished ? "finished" : "a partial block is pending");
    }
    int bytes = count * entrySize;
    Objects.checkFromIndexSize(off, bytes, digests.length);
    while (bytes > 0) {
      int n = Math.min(bytes, scratch.length - scratchLen);
      System.arraycopy(digests, off, scratch, scratchLen, n);
      scratchLen += n;
      off += n;
      bytes -= n;
      if (scratchLen == scratch.length) {
        tailDigests.append(scratch, 0, scratchLen);
        scratchLen = 0;
      }
    }
    tailBlocks += count;
  }

  /** Whether {@link #update} left part of a data block pending. */
  public boolean partialBlockPending() {
    return partialLen != 0;
  }

  private void leaf(byte[] b, int off) throws IOException {
    digestInto(b, off, dataBlockSize, scratch, scratchLen);
    scratchLen += entrySize;
    tailBlocks++;
    if (scratchLen == scratch.length) {
      tailDigests.append(scratch, 0, scratchLen);
      scratchLen = 0;
    }
  }

  /** H(salt || block) into out[pos..pos+digestSize); the padding up to entrySize is left alone. */
  private void digestInto(byte[] b, int off, int len, byte[] out, int pos) {
    md.update(salt);
    md.update(b, off, len);
    try {
      md.digest(out, pos, digestSize);
    } catch (DigestException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The outcome of {@link #finish}. */
  public record Result(byte[] rootHash, long dataBlocks, long hashFileSize, int levels) {
    public String rootHashHex() {
      return java.util.HexFormat.of().formatHex(rootHash);
    }
  }

  /**
   * Completes the tree with the head of the data device and writes the hash file (superblock then
   * levels, top first) to {@code out}.
   *
   * @param head the first bytes of the data device; its length must be a multiple of the data block
   *     size
   * @param uuid the superblock UUID
   */
  public Result finish(byte[] head, UUID uuid, OutputStream out) throws IOException {
    if (finished) {
      throw new IllegalStateException("finished");
    }
    finished = true;
    if (head.length % dataBlockSize != 0) {
      throw new IllegalArgumentException("head is not a multiple of the data block size");
    }
    tailDigests.append(scratch, 0, scratchLen);
    scratchLen = 0;
    long n = head.length / dataBlockSize + tailBlocks;
    if (n == 0) {
      throw new IllegalArgumentException("no data blocks");
    }
    byte[] headDigests = new byte[(int) (head.length / dataBlockSize) * entrySize];
    for (int i = 0, p = 0; i < head.length; i += dataBlockSize, p += entrySize) {
      digestInto(head, i, dataBlockSize, headDigests, p);
    }

    // upper.get(i - 1) holds the entries of level i (level 0 = head digests + tailDigests)
    List<SpillBuffer> upper = new ArrayList<>();
    byte[] root = new byte[digestSize];
    if (n == 1) {
      // zero levels: the root is the digest of the single data block
      if (head.length > 0) {
        System.arraycopy(headDigests, 0, root, 0, digestSize);
      } else {
        try (InputStream in = tailDigests.read()) {
          in.readNBytes(root, 0, digestSize);
        }
      }
    } else {
      long entries = n;
      InputStream lower = level0(headDigests);
      while (true) {
        long blocks = ceilDiv(entries * entrySize, hashBlockSize);
        if (blocks == 1) {
          byte[] top = new byte[hashBlockSize];
          lower.readNBytes(top, 0, (int) (entries * entrySize));
          lower.close();
          digestInto(top, 0, hashBlockSize, root, 0);
          break;
        }
        SpillBuffer next = newBuffer();
        hashLevel(lower, entries, next);
        lower.close();
        upper.add(next);
        entries = blocks;
        lower = next.read();
      }
    }
    int levels = n == 1 ? 0 : upper.size() + 1;

    long written = writeSuperblock(out, uuid, n);
    // levels top first: the top (the one above all of upper, or level 0) ... level 0 last
    if (levels > 0) {
      long[] entriesPerLevel = new long[levels];
      entriesPerLevel[0] = n;
      for (int i = 1; i < levels; i++) {
        entriesPerLevel[i] = ceilDiv(entriesPerLevel[i - 1] * entrySize, hashBlockSize);
      }
      for (int i = levels - 1; i >= 1; i--) {
        try (InputStream in = upper.get(i - 1).read()) {
          written += copyLevel(in, entriesPerLevel[i] * entrySize, out);
        }
      }
      try (InputStream in = level0(headDigests)) {
        written += copyLevel(in, n * entrySize, out);
      }
    }
    for (SpillBuffer b : upper) {
      b.close();
    }
    return new Result(root, n, written, levels);
  }

  private InputStream level0(byte[] headDigests) throws IOException {
    return new java.io.SequenceInputStream(
        new java.io.ByteArrayInputStream(headDigests), tailDigests.read());
  }

  /** Hashes {@code entries} entries of a level, block by block, into the next level's entries. */
  private void hashLevel(InputStream lower, long entries, SpillBuffer next) throws IOException {
    byte[] block = new byte[hashBlockSize];
    byte[] entry = new byte[entrySize];
    long remaining = entries * entrySize;
    while (remaining > 0) {
      int want = (int) Math.min(hashBlockSize, remaining);
      int got = lower.readNBytes(block, 0, want);
      if (got != want) {
        throw new IOException("digest store ended early");
      }
      if (want < hashBlockSize) {
        java.util.Arrays.fill(block, want, hashBlockSize, (byte) 0);
      }
      remaining -= want;
      digestInto(block, 0, hashBlockSize, entry, 0);
      next.append(entry, 0, entrySize);
    }
  }

  /** Copies a level's entries and zero-pads to a whole hash block; returns the bytes written. */
  private long copyLevel(InputStream in, long bytes, OutputStream out) throws IOException {
    byte[] buf = new byte[1 << 16];
    long left = bytes;
    while (left > 0) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new IOException("digest store ended early");
      }
      out.write(buf, 0, n);
      left -= n;
    }
    long padded = ceilDiv(bytes, hashBlockSize) * hashBlockSize;
    writeZeros(out, padded - bytes);
    return padded;
  }

  private static void writeZeros(OutputStream out, long count) throws IOException {
    byte[] zeros = new byte[(int) Math.min(count, 1 << 16)];
    while (count > 0) {
      int n = (int) Math.min(count, zeros.length);
      out.write(zeros, 0, n);
      count -= n;
    }
  }

  private long writeSuperblock(OutputStream out, UUID uuid, long dataBlocks) throws IOException {
    ByteBuffer sb = ByteBuffer.allocate(SUPERBLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    sb.put("verity".getBytes(StandardCharsets.US_ASCII)).put(new byte[2]);
    sb.putInt(1); // version
    sb.putInt(1); // hash type
    sb.order(ByteOrder.BIG_ENDIAN)
        .putLong(uuid.getMostSignificantBits())
        .putLong(uuid.getLeastSignificantBits())
        .order(ByteOrder.LITTLE_ENDIAN);
    byte[] alg = algorithm.toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
    if (alg.length >= 32) {
      throw new IllegalArgumentException("algorithm name too long");
    }
    sb.put(alg).position(64);
    sb.putInt(dataBlockSize);
    sb.putInt(hashBlockSize);
    sb.putLong(dataBlocks);
    sb.putShort((short) salt.length);
    sb.position(88);
    sb.put(salt);
    out.write(sb.array());
    // the tree starts at the first hash block after the superblock
    long h0 = ceilDiv(SUPERBLOCK_SIZE, hashBlockSize) * hashBlockSize;
    writeZeros(out, h0 - SUPERBLOCK_SIZE);
    return h0;
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (SpillBuffer b : open) {
      try {
        b.close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    open.clear();
    if (first != null) {
      throw first;
    }
  }
}

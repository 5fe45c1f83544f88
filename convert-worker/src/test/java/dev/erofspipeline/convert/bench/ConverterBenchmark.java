package dev.erofspipeline.convert.bench;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.NativeConversionResult;
import dev.erofspipeline.convert.NativeLayerConverter;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Not a test: measures the layer converter on a synthetic, realistic layer (thousands of files, a
 * few hundred MB, gzip -6) against the floor "decompress + one sha256 of the stream", and prints
 * outside references ({@code pigz -dc | sha256sum}, {@code veritysetup format} 512/512) timed on
 * the same data. The same layer recompressed with {@code zstd -3} is measured too (there
 * decompression is cheap and hashing dominates). Run through {@code scripts/bench-converter.sh}.
 *
 * <p>The native profile ({@link NativeLayerConverter}: a full EROFS image with its tree) is measured
 * on the same blobs in the same runs, against the tar-index profile: throughput, peak heap and the
 * temporary disk it uses (its tar spool), sampled every 5 ms among the files open in the converters'
 * temporary directory.
 *
 * <p>Wall-clock times are best of N runs; on a shared machine the process CPU time printed next to
 * them tells the cost apart from waiting for a core.
 *
 * <p>Arguments: {@code [workDir] [targetMegabytes] [runs]} (defaults /tmp/erofs-bench 400 3), or
 * {@code --bounded GB [workDir]} (see {@link #bounded}).
 */
public final class ConverterBenchmark {

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--bounded")) {
      bounded(Integer.parseInt(args[1]), Path.of(args.length > 2 ? args[2] : "/tmp/erofs-bench"));
      return;
    }
    Path dir = Path.of(args.length > 0 ? args[0] : "/tmp/erofs-bench");
    int targetMb = args.length > 1 ? Integer.parseInt(args[1]) : 400;
    int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    Files.createDirectories(dir);
    Path tar = dir.resolve("layer-" + targetMb + ".tar");
    Path gz = dir.resolve("layer-" + targetMb + ".tar.gz");
    if (!Files.exists(gz)) {
      long files = buildTar(tar, targetMb * (1L << 20));
      System.out.printf("built %s: %d files%n", tar, files);
      sh("pigz -6 -n -k -c '" + tar + "' > '" + gz + "'");
    } else if (!Files.exists(tar)) {
      sh("pigz -dc '" + gz + "' > '" + tar + "'");
    }
    long tarBytes = Files.size(tar);
    long gzBytes = Files.size(gz);
    System.out.printf(Locale.ROOT, "layer: %.1f MB tar, %.1f MB tar.gz (%s), %d cores%n",
        tarBytes / 1e6, gzBytes / 1e6, gz.getFileName(), Runtime.getRuntime().availableProcessors());

    Path zst = dir.resolve("layer-" + targetMb + ".tar.zst");
    if (!Files.exists(zst)) {
      sh("zstd -q -3 -T1 -c '" + tar + "' > '" + zst + "'");
    }
    double mb = tarBytes / 1e6;
    LayerConverter parallel = new LayerConverter(ConversionLimits.DEFAULT);
    ConversionResult result = null;
    for (Path blob : new Path[] {gz, zst}) {
      result = measure(blob, tarBytes, runs);
    }

    // outside references on the same data
    double pigz = time("pigz -dc '" + gz + "' | sha256sum > /dev/null");
    System.out.printf(Locale.ROOT, "pigz -dc | sha256sum:                      %6.2f s  %7.1f MB/s%n", pigz, mb / pigz);
    double gunzip = time("gzip -dc '" + gz + "' | sha256sum > /dev/null");
    System.out.printf(Locale.ROOT, "gzip -dc | sha256sum:                      %6.2f s  %7.1f MB/s%n", gunzip, mb / gunzip);
    double unzstd = time("zstd -dc '" + zst + "' | sha256sum > /dev/null");
    System.out.printf(Locale.ROOT, "zstd -dc | sha256sum:                      %6.2f s  %7.1f MB/s%n", unzstd, mb / unzstd);
    Path data = dir.resolve("data.img");
    Path hash = dir.resolve("hash.img");
    try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(data), 1 << 20)) {
      ByteArrayOutputStream index = new ByteArrayOutputStream();
      parallel.convert(Files.newInputStream(gz), result.layerDigest(), false, null, index, OutputStream.nullOutputStream());
      index.writeTo(o);
      Files.copy(tar, o);
    }
    Files.deleteIfExists(hash);
    double vs = time("veritysetup format '" + data + "' '" + hash + "' --hash=sha256 --format=1"
        + " --data-block-size=512 --hash-block-size=512 --salt=" + "0".repeat(64)
        + " --uuid=" + result.verityUuid() + " > /dev/null");
    System.out.printf(Locale.ROOT, "veritysetup format 512/512 (index||tar):   %6.2f s  %7.1f MB/s%n", vs, mb / vs);
    boolean same = sha256(hash).equals(result.treeSha256());
    System.out.printf("veritysetup tree identical to ours: %s%n", same);
    Files.delete(data);
    Files.delete(hash);
  }


  /** Floor and converter (both modes) on one blob; prints one block of lines; returns the result. */
  private static ConversionResult measure(Path blob, long tarBytes, int runs) throws Exception {
    String d = "sha256:" + sha256(blob);
    Path temp = Files.createDirectories(blob.resolveSibling("converter-tmp"));
    LayerConverter.Options inTemp = new LayerConverter.Options(true, LayerConverter.Options.DEFAULT.chunkSize(),
        LayerConverter.Options.DEFAULT.chunks(), LayerConverter.Options.DEFAULT.verityMemoryBound(), temp);
    LayerConverter parallel = new LayerConverter(ConversionLimits.DEFAULT, inTemp);
    LayerConverter direct =
        new LayerConverter(ConversionLimits.DEFAULT, inTemp.withParallel(false));
    NativeLayerConverter nativeParallel = new NativeLayerConverter(ConversionLimits.DEFAULT, inTemp);
    // warm up the JIT on every path and the floor
    floor(blob);
    convert(parallel, blob, d);
    convert(direct, blob, d);
    convertNative(nativeParallel, blob, d);
    double natS = Double.MAX_VALUE;
    double natCpu = Double.MAX_VALUE;
    long natPeakHeap = 0;
    long natTempDisk = 0;
    long tarIndexTempDisk = 0;
    NativeConversionResult nativeResult = null;
    double floorS = Double.MAX_VALUE;
    double parS = Double.MAX_VALUE;
    double dirS = Double.MAX_VALUE;
    double floorCpu = Double.MAX_VALUE;
    double parCpu = Double.MAX_VALUE;
    double dirCpu = Double.MAX_VALUE;
    ConversionResult result = null;
    long peakHeap = 0;
    for (int i = 0; i < runs; i++) {
      long c0 = cpu();
      long t0 = System.nanoTime();
      floor(blob);
      floorS = Math.min(floorS, (System.nanoTime() - t0) / 1e9);
      floorCpu = Math.min(floorCpu, (cpu() - c0) / 1e9);
      System.gc();
      resetPeaks();
      c0 = cpu();
      t0 = System.nanoTime();
      try (DiskSampler disk = new DiskSampler(temp)) {
        result = convert(parallel, blob, d);
        parS = Math.min(parS, (System.nanoTime() - t0) / 1e9);
        parCpu = Math.min(parCpu, (cpu() - c0) / 1e9);
        tarIndexTempDisk = Math.max(tarIndexTempDisk, disk.peak());
      }
      peakHeap = Math.max(peakHeap, peakHeapUsed());
      System.gc();
      resetPeaks();
      c0 = cpu();
      t0 = System.nanoTime();
      try (DiskSampler disk = new DiskSampler(temp)) {
        nativeResult = convertNative(nativeParallel, blob, d);
        natS = Math.min(natS, (System.nanoTime() - t0) / 1e9);
        natCpu = Math.min(natCpu, (cpu() - c0) / 1e9);
        natTempDisk = Math.max(natTempDisk, disk.peak());
      }
      natPeakHeap = Math.max(natPeakHeap, peakHeapUsed());
      c0 = cpu();
      t0 = System.nanoTime();
      convert(direct, blob, d);
      dirS = Math.min(dirS, (System.nanoTime() - t0) / 1e9);
      dirCpu = Math.min(dirCpu, (cpu() - c0) / 1e9);
    }
    double mb = tarBytes / 1e6;
    String f = blob.getFileName().toString();
    System.out.printf(Locale.ROOT, "%s (%.1f MB), best of %d:%n", f, Files.size(blob) / 1e6, runs);
    System.out.printf(Locale.ROOT, "  floor (decompress + one sha256, 1 thread): %6.2f s  %7.1f MB/s              cpu %5.2f s%n", floorS, mb / floorS, floorCpu);
    System.out.printf(Locale.ROOT, "  converter, two threads:                    %6.2f s  %7.1f MB/s  ratio %.2f  cpu %5.2f s%n", parS, mb / parS, parS / floorS, parCpu);
    System.out.printf(Locale.ROOT, "  converter, one thread:                     %6.2f s  %7.1f MB/s  ratio %.2f  cpu %5.2f s%n", dirS, mb / dirS, dirS / floorS, dirCpu);
    System.out.printf(Locale.ROOT, "  peak heap during a conversion: %.1f MB (max heap %.0f MB)%n",
        peakHeap / 1e6, Runtime.getRuntime().maxMemory() / 1e6);
    System.out.printf(Locale.ROOT, "  result: root %s, index %d B, tree %d B, %d data blocks%n",
        result.rootHash(), result.indexSize(), result.treeSize(), result.dataBlocks());
    System.out.printf(Locale.ROOT, "  native profile, two threads:               %6.2f s  %7.1f MB/s  native/tar-index %.2f  cpu %5.2f s%n",
        natS, mb / natS, natS / parS, natCpu);
    System.out.printf(Locale.ROOT, "  peak heap: native %.1f MB, tar-index %.1f MB; temporary disk: native %.1f MB, tar-index %.1f MB%n",
        natPeakHeap / 1e6, peakHeap / 1e6, natTempDisk / 1e6, tarIndexTempDisk / 1e6);
    System.out.printf(Locale.ROOT, "  native result: root %s, image %d B, blob %d B (index+tree of the tar index: %d B)%n",
        nativeResult.rootHash(), nativeResult.imageSize(), nativeResult.blobSize(), result.indexSize() + result.treeSize());
    return result;
  }

  private static NativeConversionResult convertNative(NativeLayerConverter c, Path blob, String d) throws Exception {
    try (InputStream in = Files.newInputStream(blob)) {
      return c.convert(in, d, true, null, OutputStream.nullOutputStream());
    }
  }

  /**
   * Samples every 5 ms, on a daemon thread, the bytes of the files this process has open in a
   * directory, deleted ones included (the tar spool is unlinked as soon as it is open); keeps the
   * peak. Linux only (/proc/self/fd).
   */
  private static final class DiskSampler implements AutoCloseable {
    private final Path dir;
    private final Thread thread;
    private volatile boolean stop;
    private volatile long peak;

    DiskSampler(Path dir) {
      this.dir = dir;
      this.thread = new Thread(this::sample, "disk-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    private void sample() {
      Path fds = Path.of("/proc/self/fd");
      while (!stop) {
        long sum = 0;
        try (var open = Files.list(fds)) {
          for (Path fd : (Iterable<Path>) open::iterator) {
            try {
              if (Files.readSymbolicLink(fd).startsWith(dir)) {
                sum += Files.size(fd);
              }
            } catch (IOException gone) {
              // closed between list and read
            }
          }
        } catch (IOException e) {
          return;
        }
        peak = Math.max(peak, sum);
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    long peak() {
      return peak;
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join();
    }
  }

  private static ConversionResult convert(LayerConverter c, Path blob, String d) throws Exception {
    try (InputStream in = Files.newInputStream(blob)) {
      return c.convert(in, d, true, null, OutputStream.nullOutputStream(), OutputStream.nullOutputStream());
    }
  }

  /** Decompress (JDK gunzip or zstd-jni, one thread) and one sha256 of the stream. */
  private static String floor(Path blob) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[1 << 20];
    InputStream raw = new BufferedInputStream(Files.newInputStream(blob), 1 << 18);
    try (InputStream in = blob.toString().endsWith(".zst")
        ? new ZstdInputStreamNoFinalizer(raw)
        : new GZIPInputStream(raw, 1 << 16)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** CPU time of this process (all threads, GC and JIT included), ns. */
  private static long cpu() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static void resetPeaks() {
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        p.resetPeakUsage();
      }
    }
  }

  private static long peakHeapUsed() {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        sum += p.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  /**
   * Mode {@code --bounded GB [workDir]}: a plain tar of that many GB, generated on the fly (never
   * stored), through each profile; prints time, peak heap and temporary disk, to show what stays
   * bounded under a small {@code -Xmx} (run with {@code BENCH_XMX=256m}).
   */
  private static void bounded(int gigabytes, Path dir) throws Exception {
    Path temp = Files.createDirectories(dir.resolve("converter-tmp"));
    LayerConverter.Options o = new LayerConverter.Options(true, LayerConverter.Options.DEFAULT.chunkSize(),
        LayerConverter.Options.DEFAULT.chunks(), LayerConverter.Options.DEFAULT.verityMemoryBound(), temp);
    String d = "sha256:" + "0".repeat(64);
    for (String profile : new String[] {"tar-index", "native"}) {
      System.gc();
      resetPeaks();
      long t0 = System.nanoTime();
      long disk;
      try (InputStream tar = generatedTar(gigabytes * (1L << 30)); DiskSampler sampler = new DiskSampler(temp)) {
        if (profile.equals("native")) {
          new NativeLayerConverter(ConversionLimits.DEFAULT, o).convert(tar, d, false, null, OutputStream.nullOutputStream());
        } else {
          new LayerConverter(ConversionLimits.DEFAULT, o)
              .convert(tar, d, false, null, OutputStream.nullOutputStream(), OutputStream.nullOutputStream());
        }
        disk = sampler.peak();
      }
      System.out.printf(Locale.ROOT, "%d GB tar generated on the fly, %s: %.1f s, peak heap %.1f MB (max heap %.0f MB), temporary disk %.1f MB%n",
          gigabytes, profile, (System.nanoTime() - t0) / 1e9, peakHeapUsed() / 1e6,
          Runtime.getRuntime().maxMemory() / 1e6, disk / 1e6);
    }
  }

  /** {@link #buildTar} written by a second thread into a pipe. */
  private static InputStream generatedTar(long target) throws IOException {
    PipedInputStream in = new PipedInputStream(1 << 20);
    PipedOutputStream out = new PipedOutputStream(in);
    Thread t = new Thread(() -> {
      try (out) {
        buildTar(out, target);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, "tar-generator");
    t.setDaemon(true);
    t.start();
    return in;
  }

  private static long buildTar(Path tar, long target) throws IOException {
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tar), 1 << 20)) {
      return buildTar(out, target);
    }
  }

  /** A layer that looks like a distribution rootfs: many small text-like files, some binaries. */
  private static long buildTar(OutputStream sink, long target) throws IOException {
    Random r = new Random(42);
    String[] words = new String[4000];
    for (int i = 0; i < words.length; i++) {
      StringBuilder w = new StringBuilder();
      int len = 2 + r.nextInt(9);
      for (int k = 0; k < len; k++) {
        w.append((char) ('a' + r.nextInt(26)));
      }
      words[i] = w.toString();
    }
    long total = 0;
    long files = 0;
    try (TarArchiveOutputStream out = new TarArchiveOutputStream(sink)) {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      int dirNo = 0;
      while (total < target) {
        String dirName = "usr/share/pkg" + dirNo++ + "/";
        TarArchiveEntry de = new TarArchiveEntry(dirName);
        de.setModTime(1_700_000_000_000L);
        out.putArchiveEntry(de);
        out.closeArchiveEntry();
        int n = 20 + r.nextInt(60);
        for (int f = 0; f < n && total < target; f++) {
          // sizes: mostly small (log-uniform 64 B .. 256 KiB), a few large binaries
          int size = r.nextInt(100) < 2
              ? (1 << 20) + r.nextInt(8 << 20)
              : (int) Math.exp(Math.log(64) + r.nextDouble() * (Math.log(256 << 10) - Math.log(64)));
          byte[] data = new byte[size];
          if (r.nextInt(100) < 30) {
            r.nextBytes(data); // compressed or binary content
            for (int i = 0; i < size; i += 64) {
              data[i] = 0; // a little structure
            }
          } else {
            int p = 0;
            while (p < size) {
              byte[] w = (words[(int) Math.abs(r.nextGaussian() * 600) % words.length]
                      + (r.nextInt(12) == 0 ? "\n" : " ")).getBytes(StandardCharsets.US_ASCII);
              int k = Math.min(w.length, size - p);
              System.arraycopy(w, 0, data, p, k);
              p += k;
            }
          }
          TarArchiveEntry e = new TarArchiveEntry(dirName + "file-" + f + (f % 3 == 0 ? ".txt" : ".bin"));
          e.setSize(size);
          e.setMode(0644);
          e.setModTime(1_700_000_000_000L);
          out.putArchiveEntry(e);
          out.write(data);
          out.closeArchiveEntry();
          total += size + 512;
          files++;
        }
      }
    }
    return files;
  }

  private static String sha256(Path p) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(p)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void sh(String cmd) throws Exception {
    Process p = new ProcessBuilder("bash", "-c", "set -o pipefail; " + cmd).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IOException("failed: " + cmd);
    }
  }

  private static double time(String cmd) throws Exception {
    // best of two, page cache warm
    double best = Double.MAX_VALUE;
    for (int i = 0; i < 2; i++) {
      long t0 = System.nanoTime();
      sh(cmd);
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
    }
    return best;
  }
}

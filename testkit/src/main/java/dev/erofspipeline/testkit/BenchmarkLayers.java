package dev.erofspipeline.testkit;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/**
 * Synthetic tar+gzip layers for benchmarks, written once to a directory and reused by later runs
 * with the same parameters (generating a few GB takes minutes). Sizes are log-uniform between the
 * smallest and the largest, so most layers are small and a few are large, as in real images; each
 * layer's files are half random bytes (incompressible) and half text. Deterministic per seed.
 */
public final class BenchmarkLayers {

    /** One layer: its blob file and what a manifest and an image config say about it. */
    public record Layer(Path blob, String digest, String diffId, long tarSize, long blobSize) {
    }

    /** Reads one layer's blob (e.g. converts it). */
    @FunctionalInterface
    public interface BlobTask {
        void run(InputStream blob, Layer layer) throws Exception;
    }

    private BenchmarkLayers() {
    }

    /** Runs {@code task} on every layer's blob, read from its file, {@code parallelism} at a time; returns MB/s of tar. */
    public static double tarThroughput(List<Layer> layers, int parallelism, BlobTask task) throws Exception {
        double seconds = Benchmarks.parallelSeconds(layers, parallelism, l -> {
            try (InputStream in = Files.newInputStream(l.blob())) {
                task.run(in, l);
            }
        });
        return layers.stream().mapToLong(Layer::tarSize).sum() / 1e6 / seconds;
    }

    /** {@code count} layers of {@code minMiB}..{@code maxMiB} MiB of tar under {@code dir}, generated if missing. */
    public static List<Layer> generate(Path dir, int count, int minMiB, int maxMiB, long seed) {
        if (minMiB < 1 || maxMiB < minMiB) {
            throw new IllegalArgumentException("need 1 <= minMiB <= maxMiB");
        }
        Random sizes = new Random(seed);
        List<Layer> out = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < count; i++) {
                double log = Math.log(minMiB) + sizes.nextDouble() * (Math.log(maxMiB) - Math.log(minMiB));
                int mib = (int) Math.round(Math.exp(log));
                out.add(layer(dir, "layer-" + seed + "-" + i + "-" + mib + "MiB", mib, seed * 1_000_003 + i));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static Layer layer(Path dir, String name, int mib, long seed) throws IOException {
        Path blob = dir.resolve(name + ".tar.gz");
        Path facts = dir.resolve(name + ".properties");
        Properties p = new Properties();
        if (Files.exists(facts) && Files.exists(blob)) {
            try (var in = Files.newInputStream(facts)) {
                p.load(in);
            }
        } else {
            MessageDigest tarSha = Digests.newSha256();
            TarLayer tar = build(name, mib, seed);
            long[] tarSize = new long[1];
            Path partial = dir.resolve(name + ".tar.gz.partial");
            try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 20);
                    GZIPOutputStream gz = new GZIPOutputStream(file, 1 << 16);
                    OutputStream counted = new DigestOutputStream(gz, tarSha) {
                        @Override
                        public void write(byte[] b, int off, int len) throws IOException {
                            super.write(b, off, len);
                            tarSize[0] += len;
                        }
                    }) {
                tar.writeTo(counted);
            }
            Files.move(partial, blob);
            p.setProperty("digest", Digests.sha256(blob));
            p.setProperty("diffId", "sha256:" + HexFormat.of().formatHex(tarSha.digest()));
            p.setProperty("tarSize", Long.toString(tarSize[0]));
            try (var o = Files.newOutputStream(facts)) {
                p.store(o, null);
            }
        }
        return new Layer(blob, p.getProperty("digest"), p.getProperty("diffId"), Long.parseLong(p.getProperty("tarSize")),
                Files.size(blob));
    }

    private static TarLayer build(String name, int mib, long seed) {
        Random rnd = new Random(seed);
        TarLayer.Builder b = TarLayer.builder().dir(name);
        int files = 20 + rnd.nextInt(200);
        int perFile = (int) ((long) mib * 1048576 / files);
        for (int f = 0; f < files; f++) {
            if (f % 2 == 0) {
                b.randomFile(name + "/bin" + f, perFile, rnd.nextLong());
            } else {
                StringBuilder text = new StringBuilder(perFile + 64);
                while (text.length() < perFile) {
                    text.append("line ").append(rnd.nextInt(1000)).append(" of ").append(name).append(" file ").append(f)
                            .append('\n');
                }
                b.file(name + "/text" + f + ".txt", text.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
        return b.build();
    }
}

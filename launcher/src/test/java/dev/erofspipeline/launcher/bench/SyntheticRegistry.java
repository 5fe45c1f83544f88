package dev.erofspipeline.launcher.bench;

import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.TarLayer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The load test's images, generated deterministically: {@code repos} repositories of {@code
 * images/repos} tags each. Every image is a base layer (one of a few, shared across repositories),
 * a runtime layer (one of a pool, shared across repositories), on every third tag a dependencies
 * layer (two per repository, shared by its tags), and an application layer of its own. Files are
 * half text (compresses like source and configuration) and half random bytes (like binaries).
 * Layer sizes scale with {@code scale}; at 1.0 the unique layers hold about 0.5 GB of tar.
 */
final class SyntheticRegistry {
  static final int BASES = 6;
  static final int RUNTIMES = 20;
  static final int DEPS_PER_REPO = 2;

  /** One pushed image: where it is, its manifest digest, and its layers (digest and tar size). */
  record PushedImage(String repository, String tag, String digest, List<String> layerDigests, List<Long> tarSizes) {}

  private final int images;
  private final int repos;
  private final double scale;

  SyntheticRegistry(int images, int repos, double scale) {
    if (images < repos || repos < 1) {
      throw new IllegalArgumentException("need at least one image per repository: " + images + " images, " + repos + " repos");
    }
    this.images = images;
    this.repos = repos;
    this.scale = scale;
  }

  /** A layer of {@code files} files of about {@code bytes} in all, under {@code root}. */
  private TarLayer layer(String root, int files, long bytes, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    TarLayer.Builder b = TarLayer.builder().dir(root);
    int dirs = Math.max(1, files / 25);
    for (int d = 0; d < dirs; d++) {
      b.dir(root + "/d" + d);
    }
    long per = Math.max(64, (long) (bytes * scale) / files);
    for (int f = 0; f < files; f++) {
      String path = root + "/d" + (f % dirs) + "/f" + f;
      int size = (int) Math.max(16, per / 2 + r.nextLong(per + 1));
      if (f % 2 == 0) {
        b.randomFile(path + ".bin", size, r.nextLong());
      } else {
        b.file(path + ".txt", text(size, r));
      }
    }
    return b.build();
  }

  /** Configuration-like text: compresses about 4:1 with gzip. */
  private static byte[] text(int size, SplittableRandom r) {
    StringBuilder s = new StringBuilder(size + 64);
    while (s.length() < size) {
      s.append("option_").append(r.nextInt(500)).append(" = \"value ").append(r.nextInt(10_000)).append("\"\n");
    }
    return s.substring(0, size).getBytes(StandardCharsets.UTF_8);
  }

  private static String layoutTag(int repo, int tag) {
    return String.format("r%02d-t%02d", repo, tag);
  }

  /**
   * Writes every image into one OCI layout under {@code dir} (a shared layer is compressed once) and
   * pushes each with skopeo to {@code load/appNN:vNN}, {@code threads} at a time.
   */
  List<PushedImage> build(Path dir, RegistryFixture registry, int threads) throws Exception {
    List<TarLayer> bases = new ArrayList<>();
    for (int i = 0; i < BASES; i++) {
      bases.add(layer("usr/base" + i, 400, 12_000_000, 1000 + i));
    }
    List<TarLayer> runtimes = new ArrayList<>();
    for (int i = 0; i < RUNTIMES; i++) {
      runtimes.add(layer("opt/runtime" + i, 120, 4_000_000, 2000 + i));
    }
    OciLayoutBuilder layout = new OciLayoutBuilder(dir);
    List<PushedImage> planned = new ArrayList<>();
    Map<String, TarLayer> deps = new HashMap<>();
    for (int i = 0; i < images; i++) {
      int repo = i % repos;
      int tag = i / repos;
      ImageSpec spec = ImageSpec.linux("amd64")
          .layer(bases.get(repo % BASES), Compression.GZIP)
          .layer(runtimes.get((repo * 7 + tag / 4) % RUNTIMES), Compression.GZIP);
      if (tag % 3 == 2) {
        String key = repo + "/" + (tag / 3) % DEPS_PER_REPO;
        spec.layer(deps.computeIfAbsent(key, k -> layer("srv/deps", 60, 2_000_000, 3000L + k.hashCode())), Compression.GZIP);
      }
      TarLayer app = layer("app", 24, 800_000, 4000L + i);
      spec.layer(TarLayer.builder().file("app/image-id", "image " + i + "\n").build(), Compression.GZIP);
      spec.layer(app, Compression.GZIP);
      // keep digests and sizes only: the image would hold every tar in memory
      OciLayoutBuilder.Image image = layout.addImage(layoutTag(repo, tag), spec);
      planned.add(new PushedImage(String.format("load/app%02d", repo), String.format("v%02d", tag), image.digest(),
          image.layers().stream().map(OciLayoutBuilder.Layer::digest).toList(),
          image.layers().stream().map(l -> (long) l.tar().tar().length).toList()));
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<PushedImage>> pushed = new ArrayList<>();
      for (int i = 0; i < planned.size(); i++) {
        PushedImage p = planned.get(i);
        String ref = layoutTag(i % repos, i / repos);
        pushed.add(pool.submit(() -> {
          String digest = registry.seed(dir, ref, p.repository() + ":" + p.tag());
          if (!digest.equals(p.digest())) {
            throw new IllegalStateException(p.repository() + ":" + p.tag() + " pushed as " + digest + ", built as " + p.digest());
          }
          return p;
        }));
      }
      List<PushedImage> out = new ArrayList<>();
      for (Future<PushedImage> f : pushed) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }
}

package dev.erofspipeline.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.NativeLayerConverter;
import dev.erofspipeline.launcher.service.Installation;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code convert-layer}: converts one layer blob file with either profile (the tar index and its
 * tree, or a native image with its tree appended, see docs/native-layers.md) and prints the result
 * as one JSON object. Outputs are written to temporary siblings and renamed into place only when
 * the conversion succeeded, so a failure leaves no output file behind.
 */
@Command(
    name = "convert-layer",
    mixinStandardHelpOptions = true,
    description = {
      "Converts one layer blob (tar, tar+gzip or tar+zstd, detected from its content) into an EROFS",
      "tar index and a dm-verity hash tree (--profile tar-index), or into a full EROFS image with its",
      "dm-verity tree appended (--profile native), and prints the result as one JSON object.",
      "Limits on hostile layers are the convert.* configuration keys (--config, --set)."
    })
final class ConvertLayerCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Mixin ConfigOptions options;

  @Option(names = "--input", required = true, paramLabel = "FILE", description = "The layer blob.")
  Path input;

  @Option(
      names = "--layer-digest",
      paramLabel = "sha256:HEX",
      description = {
        "The layer digest D as in the image manifest: names the UUIDs and is checked against the",
        "blob. Default: the sha256 of the input file."
      })
  String layerDigest;

  @Option(
      names = "--diff-id",
      paramLabel = "sha256:HEX",
      description = "The diffID from the image config, checked against the uncompressed tar.")
  String diffId;

  /** The conversion profiles, by their command-line names. */
  enum Profile {
    TAR_INDEX("tar-index"),
    NATIVE("native");

    final String name;

    Profile(String name) {
      this.name = name;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  @Option(
      names = "--profile",
      paramLabel = "tar-index|native",
      converter = ProfileConverter.class,
      description = "tar-index (default): --index-out and --tree-out; native: --image-out.")
  Profile profile = Profile.TAR_INDEX;

  static final class ProfileConverter implements ITypeConverter<Profile> {
    @Override
    public Profile convert(String value) {
      for (Profile p : Profile.values()) {
        if (p.name.equals(value)) {
          return p;
        }
      }
      throw new TypeConversionException("expected tar-index or native, got " + value);
    }
  }

  @Option(names = "--index-out", paramLabel = "FILE", description = "tar-index: where the tar index goes.")
  Path indexOut;

  @Option(names = "--tree-out", paramLabel = "FILE", description = "tar-index: where the hash device (verity superblock and tree) goes.")
  Path treeOut;

  @Option(
      names = "--image-out",
      paramLabel = "FILE",
      description = "native: where [EROFS image][verity superblock][tree] goes.")
  Path imageOut;

  /** One profile's conversion of the input into its outputs (in the order of their targets). */
  private interface Conversion {
    Object run(InputStream in, String layerDigest, List<OutputStream> outs)
        throws IOException, InvalidLayerException;
  }

  @Override
  public Integer call() throws Exception {
    ConversionLimits limits = new Installation(options.load()).conversionLimits();
    if (profile == Profile.NATIVE) {
      requireOutputs(Arrays.asList(imageOut), "--image-out", indexOut != null || treeOut != null);
      NativeLayerConverter converter = new NativeLayerConverter(limits);
      return convert(List.of(imageOut),
          (in, d, outs) -> converter.convert(in, d, true, diffId, outs.get(0)));
    }
    requireOutputs(Arrays.asList(indexOut, treeOut), "--index-out and --tree-out", imageOut != null);
    LayerConverter converter = new LayerConverter(limits);
    return convert(List.of(indexOut, treeOut),
        (in, d, outs) -> converter.convert(in, d, true, diffId, outs.get(0), outs.get(1)));
  }

  private void requireOutputs(List<Path> outputs, String names, boolean otherProfilesGiven) {
    if (outputs.contains(null) || otherProfilesGiven) {
      throw new ParameterException(
          spec.commandLine(), "--profile " + profile + " writes " + names + " (and only those)");
    }
  }

  private Integer convert(List<Path> targets, Conversion conversion) throws Exception {
    String d = layerDigest != null ? layerDigest : "sha256:" + sha256(input);
    List<Path> temps = new ArrayList<>();
    List<Path> placed = new ArrayList<>();
    boolean ok = false;
    try {
      List<Path> tmps = new ArrayList<>();
      for (Path t : targets) {
        tmps.add(tempSibling(t, temps));
      }
      Object result;
      List<OutputStream> outs = new ArrayList<>();
      try (InputStream in = Files.newInputStream(input)) {
        for (Path t : tmps) {
          outs.add(new BufferedOutputStream(Files.newOutputStream(t), 1 << 16));
        }
        result = conversion.run(in, d, outs);
      } catch (InvalidLayerException e) {
        throw new IllegalStateException("layer refused (" + e.reason() + "): " + e.getMessage(), e);
      } finally {
        for (OutputStream o : outs) {
          o.close();
        }
      }
      for (int i = 0; i < targets.size(); i++) {
        move(tmps.get(i), targets.get(i));
        placed.add(targets.get(i));
      }
      spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(result));
      spec.commandLine().getOut().flush();
      ok = true;
      return 0;
    } catch (NoSuchFileException e) {
      throw new IllegalStateException("no such file or directory: " + e.getFile(), e);
    } finally {
      if (!ok) {
        for (Path p : temps) {
          Files.deleteIfExists(p);
        }
        for (Path p : placed) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static Path tempSibling(Path target, List<Path> temps) throws IOException {
    Path abs = target.toAbsolutePath();
    Path t = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".part");
    temps.add(t);
    return t;
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static String sha256(Path file) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    } catch (NoSuchFileException e) {
      throw new IllegalStateException("no such file: " + e.getFile(), e);
    }
    return HexFormat.of().formatHex(md.digest());
  }
}

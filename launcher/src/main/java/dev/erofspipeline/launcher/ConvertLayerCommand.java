package dev.erofspipeline.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.LayerConverter;
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
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code convert-layer}: converts one layer blob file and prints the result as one JSON object.
 * Outputs are written to temporary siblings and renamed into place only when the conversion
 * succeeded, so a failure leaves no output file behind.
 */
@Command(
    name = "convert-layer",
    mixinStandardHelpOptions = true,
    description = {
      "Converts one layer blob (tar, tar+gzip or tar+zstd, detected from its content) into an EROFS",
      "tar index and a dm-verity hash tree, and prints the result as one JSON object.",
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

  @Option(names = "--index-out", required = true, paramLabel = "FILE", description = "Where the tar index goes.")
  Path indexOut;

  @Option(names = "--tree-out", required = true, paramLabel = "FILE", description = "Where the hash device (verity superblock and tree) goes.")
  Path treeOut;

  @Override
  public Integer call() throws Exception {
    LayerConverter converter = new LayerConverter(new Installation(options.load()).conversionLimits());
    String d = layerDigest != null ? layerDigest : "sha256:" + sha256(input);
    List<Path> temps = new ArrayList<>();
    List<Path> placed = new ArrayList<>();
    boolean ok = false;
    try {
      Path indexTmp = tempSibling(indexOut, temps);
      Path treeTmp = tempSibling(treeOut, temps);
      ConversionResult result;
      try (InputStream in = Files.newInputStream(input);
          OutputStream index = new BufferedOutputStream(Files.newOutputStream(indexTmp), 1 << 16);
          OutputStream tree = new BufferedOutputStream(Files.newOutputStream(treeTmp), 1 << 16)) {
        result = converter.convert(in, d, true, diffId, index, tree);
      } catch (InvalidLayerException e) {
        throw new IllegalStateException("layer refused (" + e.reason() + "): " + e.getMessage(), e);
      }
      move(indexTmp, indexOut);
      placed.add(indexOut);
      move(treeTmp, treeOut);
      placed.add(treeOut);
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

package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.TarLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convert} as a newcomer runs it: no Kafka, no S3, no signing key configured. The embedded
 * broker and S3 server start on directories of their own, a local test key signs, and {@code
 * verify} with that key's CA accepts the published image.
 */
class ConvertCommandTest {
  @TempDir Path dir;

  @Test
  void convertsAnOciLayoutOnEmbeddedDefaultsAndVerifyAcceptsTheResult() throws Exception {
    ConfigOptions.environment = Map.of(); // no EROFS_* from the machine running the tests
    try {
      Path layout = dir.resolve("layout");
      OciLayoutBuilder b = new OciLayoutBuilder(layout);
      TarLayer base = TarLayer.builder().dir("etc").file("etc/hostname", "demo\n").randomFile("usr/bin/tool", 2_000_000, 3)
          .symlink("usr/bin/t", "tool").build();
      TarLayer top = TarLayer.builder().dir("etc").whiteout("etc/hostname").file("etc/motd", "hi\n").build();
      OciLayoutBuilder.Image image =
          b.addImage("v1", ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(top, Compression.ZSTD));
      Path state = dir.resolve("state");
      String[] common = {
        "--set", "kafka.dataDir=" + state.resolve("kafka"),
        "--set", "s3.dataDir=" + state.resolve("s3"),
        "--set", "http.port=0",
        "--set", "worker.shutdownGraceSeconds=5",
      };

      CommandRun convert = run(concat(new String[] {"convert", "oci:" + layout + ":v1"}, common));
      assertEquals(0, convert.exitCode(), convert.out() + convert.err());
      for (OciLayoutBuilder.Layer l : image.layers()) {
        assertTrue(convert.out().contains(l.digest().substring(7, 19)), "summary lists layer " + l.digest() + "\n" + convert.out());
      }
      assertTrue(convert.out().matches("(?s).*[0-9a-f]{64} +published.*"), convert.out());
      assertTrue(convert.err().contains("layers 2/2"), convert.err());
      // the rate counts the blob sizes that ingest puts into the status records
      Matcher rate = Pattern.compile("layers 2/2, images published 1/1, (\\d+\\.\\d+) MB/s of layer blobs").matcher(convert.err());
      assertTrue(rate.find() && Double.parseDouble(rate.group(1)) > 0, convert.err());
      Path ca = state.resolve("signing").resolve("ca.pem");
      assertTrue(Files.isRegularFile(ca), "the local test key's CA is kept for verify");

      CommandRun verify = run("verify", "oci:" + layout + ":v1", "--ca", ca.toString());
      assertEquals(0, verify.exitCode(), verify.out() + verify.err());

      // a second run converts nothing new and still exits 0
      CommandRun again = run(concat(new String[] {"convert", "oci:" + layout + ":v1"}, common));
      assertEquals(0, again.exitCode(), again.out() + again.err());
    } finally {
      ConfigOptions.environment = System.getenv();
    }
  }

  @Test
  void demoBuildsATwoPlatformImageConvertsPublishesAndVerifiesIt() {
    ConfigOptions.environment = Map.of();
    try {
      Path state = dir.resolve("state");
      CommandRun demo = run("demo", "--dir", dir.resolve("demo").toString(),
          "--set", "kafka.dataDir=" + state.resolve("kafka"), "--set", "s3.dataDir=" + state.resolve("s3"),
          "--set", "http.port=0", "--set", "worker.shutdownGraceSeconds=5");
      assertEquals(0, demo.exitCode(), demo.out() + demo.err());
      assertTrue(demo.out().contains("linux/amd64") && demo.out().contains("linux/arm64"), demo.out());
      assertTrue(demo.err().contains("layers 4/4, images published 2/2"), demo.err());
      assertTrue(demo.out().contains("verified: oci:"), demo.out());
    } finally {
      ConfigOptions.environment = System.getenv();
    }
  }

  @Test
  void aReferenceThatCannotBeParsedFailsBeforeAnythingStarts() {
    CommandRun r = run("convert", "UPPER/case:bad tag");
    assertEquals(1, r.exitCode());
    assertTrue(r.err().startsWith("erofs-pipeline: "), r.err());
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}

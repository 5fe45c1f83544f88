package dev.erofspipeline.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.OciLayout;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The sample image of {@code demo}: an OCI image layout holding an index with a linux/amd64 and a
 * linux/arm64 image, which share a base layer and differ in their top layer. The layers are real
 * tars with directories, files, a symlink, a hard link, an aufs whiteout and an opaque directory,
 * with fixed times, so the image (and every digest) is the same on every run.
 */
final class DemoImage {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Layer(byte[] blob, String diffId) {}

  private DemoImage() {}

  /** Writes the layout to {@code dir}, the index tagged {@code tag}. */
  static void write(Path dir, String tag) throws IOException {
    try (OciLayout layout = new OciLayout(dir)) {
      Layer base = layer(t -> {
        dir(t, "etc/");
        file(t, "etc/os-release", "ID=erofs-demo\nVERSION_ID=1\n");
        file(t, "etc/hostname", "demo\n");
        dir(t, "usr/share/demo/");
        for (int i = 0; i < 40; i++) {
          file(t, "usr/share/demo/page-" + i + ".txt", ("page " + i + " of the demo image\n").repeat(200));
        }
        dir(t, "usr/bin/");
        file(t, "usr/bin/hello", "#!/bin/sh\necho hello from an EROFS tar index\n");
        link(t, "usr/bin/hi", "hello", TarArchiveEntry.LF_SYMLINK);
        link(t, "usr/bin/hello-again", "usr/bin/hello", TarArchiveEntry.LF_LINK);
        dir(t, "var/cache/demo/");
        file(t, "var/cache/demo/old", "stale\n");
      });
      List<ObjectNode> images = new ArrayList<>();
      for (String arch : List.of("amd64", "arm64")) {
        Layer top = layer(t -> {
          dir(t, "etc/");
          file(t, "etc/.wh.hostname", "");               // aufs whiteout: hostname removed
          file(t, "etc/arch", arch + "\n");
          dir(t, "var/cache/demo/");
          file(t, "var/cache/demo/.wh..wh..opq", "");     // opaque: the base layer's cache is hidden
          file(t, "var/cache/demo/new", "fresh " + arch + "\n");
        });
        ObjectNode config = JSON.createObjectNode();
        config.put("architecture", arch).put("os", "linux");
        ObjectNode rootfs = config.putObject("rootfs").put("type", "layers");
        rootfs.putArray("diff_ids").add(base.diffId()).add(top.diffId());
        byte[] configBytes = JSON.writeValueAsBytes(config);
        layout.pushBlob(null, BlobSource.of(configBytes));
        layout.pushBlob(null, BlobSource.of(base.blob()));
        layout.pushBlob(null, BlobSource.of(top.blob()));
        ObjectNode m = JSON.createObjectNode();
        m.put("schemaVersion", 2).put("mediaType", MediaTypes.OCI_MANIFEST);
        m.set("config", descriptor(MediaTypes.OCI_CONFIG, configBytes));
        ArrayNode layers = m.putArray("layers");
        layers.add(descriptor(MediaTypes.OCI_LAYER_TAR_GZIP, base.blob()));
        layers.add(descriptor(MediaTypes.OCI_LAYER_TAR_GZIP, top.blob()));
        Manifest manifest = Manifest.of(JSON.writeValueAsBytes(m), MediaTypes.OCI_MANIFEST);
        layout.putManifest(null, manifest.digest(), manifest);
        ObjectNode entry = descriptor(MediaTypes.OCI_MANIFEST, manifest.bytes());
        entry.putObject("platform").put("architecture", arch).put("os", "linux");
        images.add(entry);
      }
      ObjectNode index = JSON.createObjectNode();
      index.put("schemaVersion", 2).put("mediaType", MediaTypes.OCI_INDEX);
      index.putArray("manifests").addAll(images);
      layout.putManifest(null, tag, Manifest.of(JSON.writeValueAsBytes(index), MediaTypes.OCI_INDEX));
    }
  }

  private interface Entries {
    void write(TarArchiveOutputStream t) throws IOException;
  }

  private static Layer layer(Entries entries) throws IOException {
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(tar)) {
      t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      entries.write(t);
    }
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
      z.write(tar.toByteArray());
    }
    return new Layer(gz.toByteArray(), "sha256:" + sha256(tar.toByteArray()));
  }

  private static void dir(TarArchiveOutputStream t, String name) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_DIR);
    e.setMode(0755);
    put(t, e, new byte[0]);
  }

  private static void file(TarArchiveOutputStream t, String name, String content) throws IOException {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setMode(name.startsWith("usr/bin/") ? 0755 : 0644);
    e.setSize(b.length);
    put(t, e, b);
  }

  private static void link(TarArchiveOutputStream t, String name, String target, byte type) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name, type);
    e.setLinkName(target);
    e.setMode(0777);
    put(t, e, new byte[0]);
  }

  private static void put(TarArchiveOutputStream t, TarArchiveEntry e, byte[] data) throws IOException {
    e.setModTime(1_700_000_000_000L);
    e.setIds(0, 0);
    t.putArchiveEntry(e);
    t.write(data);
    t.closeArchiveEntry();
  }

  private static ObjectNode descriptor(String mediaType, byte[] content) {
    ObjectNode d = JSON.createObjectNode();
    d.put("mediaType", mediaType).put("digest", "sha256:" + sha256(content)).put("size", content.length);
    return d;
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}

package dev.erofspipeline.publish.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import dev.erofspipeline.publish.signing.SignatureRejectedException;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.publish.verify.LayerCheck.Reason;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Does what a node does before mounting a native EROFS layer with dm-verity: for every EROFS manifest
 * of an image index (entries with {@code os.features: ["erofs"]}; or the EROFS manifest named
 * directly) and every {@link MediaTypes#EROFS_LAYER} layer of it, checks in this order:
 *
 * <ol>
 *   <li>the layer carries the dm-verity annotations ({@code hash_offset}, {@code root_digest},
 *       {@code block_size}) of the draft erofs-image-spec;
 *   <li>exactly one signatures referrer of the manifest has this layer's signature, annotated with
 *       the same root hash, and the signature passes the {@link SignatureVerifier} (CA bundle);
 *   <li>streaming the blob (its digest checked at the end): the first {@code hash_offset} bytes are
 *       an EROFS image (superblock magic), they hash to the annotated root hash (sha256, the
 *       annotated block size, 32 zero bytes of salt: the native profile's parameters), and the rest
 *       of the blob is byte for byte the verity superblock and tree recomputed over them, which is
 *       what {@code veritysetup verify IMG IMG ROOT --hash-offset=OFF} establishes.
 * </ol>
 *
 * The image part streams; the superblock and tree (about 1/128 of the image) are held in memory.
 */
public final class NativeImageVerifier {

  /** The label of these checks in reports and on the command line. */
  public static final String PROFILE = "native";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int EROFS_SUPER_OFFSET = 1024;
  private static final int EROFS_MAGIC = 0xE0F5E1E2;
  private static final long MAX_IN_MEMORY = 1L << 30;
  private static final long MAX_SIGNATURE = 1L << 20;
  private static final int SALT_BYTES = 32;

  private final RegistryTarget target;
  private final SignatureVerifier signatures;

  public NativeImageVerifier(RegistryTarget target, SignatureVerifier signatures) {
    this.target = Objects.requireNonNull(target);
    this.signatures = Objects.requireNonNull(signatures);
  }

  /** Verifies the EROFS manifests of {@code reference} (a tag or digest in {@code repository}). */
  public VerifyReport verify(String repository, String reference) {
    List<LayerCheck> rows = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    String label = ManifestWalk.label(repository, reference);
    int twins = ManifestWalk.walk(target, repository, reference, e -> MediaTypes.isErofsPlatform(e.path("platform")),
        (m, platform) -> verifyManifest(repository, m, platform, rows, problems), problems);
    if (twins == 0 && problems.isEmpty()) {
      problems.add(label + ": the index lists no EROFS manifest (os.features erofs)");
    }
    return new VerifyReport(label, PROFILE, rows, problems);
  }

  private record Layer(Descriptor blob, long hashOffset, int blockSize, String rootHash) {}

  private void verifyManifest(String repo, Manifest manifest, String platform, List<LayerCheck> rows, List<String> problems)
      throws IOException {
    JsonNode doc = JSON.readTree(manifest.bytes());
    List<JsonNode> layers = new ArrayList<>();
    doc.path("layers").forEach(layers::add);
    if (layers.isEmpty()) {
      problems.add(manifest.digest() + ": no layers");
      return;
    }
    Map<String, JsonNode> signed = new HashMap<>();
    String noSignatures = null;
    List<Descriptor> referrers = target.referrers(repo, manifest.digest(), MediaTypes.EROFS_LAYER_SIGNATURE);
    if (referrers.size() != 1) {
      noSignatures = referrers.isEmpty() ? "no " + MediaTypes.EROFS_LAYER_SIGNATURE + " referrer of " + manifest.digest()
          : referrers.size() + " signature referrers of " + manifest.digest();
    } else {
      for (JsonNode s : JSON.readTree(target.getManifest(repo, referrers.get(0).digest()).bytes()).path("layers")) {
        signed.putIfAbsent(s.path("annotations").path(Annotations.SOURCE_LAYER_DIGEST).asText(""), s);
      }
    }
    for (JsonNode l : layers) {
      String digest = l.path("digest").asText();
      if (!MediaTypes.EROFS_LAYER.equals(l.path("mediaType").asText())) {
        rows.add(new LayerCheck(manifest.digest(), platform, digest, null, Reason.NOT_EROFS,
            "layer media type " + l.path("mediaType").asText() + ", not " + MediaTypes.EROFS_LAYER));
        continue;
      }
      JsonNode a = l.path("annotations");
      String root = a.path(Annotations.EROFS_DMVERITY_ROOT_DIGEST).asText("");
      long offset = parse(a.path(Annotations.EROFS_DMVERITY_HASH_OFFSET).asText(""));
      long blockSize = a.has(Annotations.EROFS_DMVERITY_BLOCK_SIZE) ? parse(a.get(Annotations.EROFS_DMVERITY_BLOCK_SIZE).asText()) : 4096;
      if (!root.matches("sha256:[0-9a-f]{64}") || offset <= 0 || blockSize < 512 || blockSize > 65536
          || Long.bitCount(blockSize) != 1 || offset % blockSize != 0) {
        rows.add(new LayerCheck(manifest.digest(), platform, digest, null, Reason.MISSING_PAYLOAD,
            "missing or malformed " + Annotations.EROFS_DMVERITY_PREFIX + "* annotations"));
        continue;
      }
      Layer layer = new Layer(new Descriptor(MediaTypes.EROFS_LAYER, digest, l.path("size").asLong()), offset,
          (int) blockSize, root.substring(7));
      if (noSignatures != null) {
        rows.add(row(manifest, platform, layer, Reason.NO_REFERRER, noSignatures));
        continue;
      }
      rows.add(checkLayer(repo, manifest, platform, layer, signed.get(digest)));
    }
  }

  private static long parse(String decimal) {
    try {
      return Long.parseLong(decimal);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private LayerCheck checkLayer(String repo, Manifest manifest, String platform, Layer layer, JsonNode signature) {
    if (signature == null) {
      return row(manifest, platform, layer, Reason.MISSING_PAYLOAD, "the signatures referrer has no signature of the layer");
    }
    if (!layer.rootHash().equals(signature.path("annotations").path(Annotations.ROOT_HASH).asText(""))) {
      return row(manifest, platform, layer, Reason.MISSING_PAYLOAD,
          "the signature is annotated with another root hash than the layer's " + Annotations.EROFS_DMVERITY_ROOT_DIGEST);
    }
    long tailSize = layer.blob().size() - layer.hashOffset();
    if (signature.path("size").asLong() > MAX_SIGNATURE || tailSize <= 0 || tailSize > MAX_IN_MEMORY) {
      return row(manifest, platform, layer, Reason.DOWNLOAD_FAILED, "signature of " + signature.path("size").asLong()
          + " bytes, or a verity area of " + tailSize + " bytes, is out of bounds");
    }
    String signer;
    try {
      signer = signatures.verify(layer.rootHash(), target.getBlob(repo, signature.path("digest").asText()));
    } catch (SignatureRejectedException e) {
      return row(manifest, platform, layer, Reason.SIGNATURE_REJECTED, e.getMessage());
    } catch (IOException | RuntimeException e) {
      return row(manifest, platform, layer, Reason.DOWNLOAD_FAILED, "signature: " + e.getMessage());
    }
    byte[] head = new byte[EROFS_SUPER_OFFSET + 4];
    ByteArrayOutputStream tail = new ByteArrayOutputStream((int) tailSize);
    ByteArrayOutputStream recomputed = new ByteArrayOutputStream((int) tailSize);
    String rootHash;
    try (InputStream blob = target.openBlob(repo, layer.blob().digest());
        VerityTreeBuilder builder = new VerityTreeBuilder("sha256", layer.blockSize(), layer.blockSize(),
            new byte[SALT_BYTES], VerityTreeBuilder.DEFAULT_MEMORY_BOUND, null)) {
      byte[] buf = new byte[1 << 16];
      long at = 0;
      for (int n; (n = blob.read(buf)) > 0; ) {
        int image = (int) Math.max(0, Math.min(n, layer.hashOffset() - at));
        if (at < head.length) {
          System.arraycopy(buf, 0, head, (int) at, (int) Math.min(n, head.length - at));
        }
        builder.update(buf, 0, image);
        tail.write(buf, image, n - image);
        at += n;
      }
      if (at != layer.blob().size()) {
        return row(manifest, platform, layer, Reason.LAYER_UNREADABLE, "the blob has " + at + " bytes, the descriptor says "
            + layer.blob().size());
      }
      if (ByteBuffer.wrap(head, EROFS_SUPER_OFFSET, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() != EROFS_MAGIC) {
        return row(manifest, platform, layer, Reason.NOT_EROFS, "no EROFS superblock at byte " + EROFS_SUPER_OFFSET);
      }
      byte[] published = tail.toByteArray();
      if (published.length < 32 || !new String(published, 0, 8, StandardCharsets.ISO_8859_1).equals("verity\0\0")) {
        return row(manifest, platform, layer, Reason.VERITY_UUID_MISMATCH, "no verity superblock at "
            + Annotations.EROFS_DMVERITY_HASH_OFFSET + " " + layer.hashOffset());
      }
      ByteBuffer uuid = ByteBuffer.wrap(published, 16, 16);
      rootHash = builder.finish(new byte[0], new UUID(uuid.getLong(), uuid.getLong()), recomputed).rootHashHex();
    } catch (IOException | RuntimeException e) {
      return row(manifest, platform, layer, Reason.LAYER_UNREADABLE, e.getMessage());
    }
    if (!rootHash.equals(layer.rootHash())) {
      return row(manifest, platform, layer, Reason.ROOT_HASH_MISMATCH,
          "the EROFS image hashes to " + rootHash + ", the signed root hash is " + layer.rootHash());
    }
    byte[] ours = recomputed.toByteArray();
    byte[] published = tail.toByteArray();
    if (!Arrays.equals(ours, published)) {
      return row(manifest, platform, layer, Reason.TREE_MISMATCH, "the verity area (" + published.length
          + " bytes) differs from the one recomputed (" + ours.length + " bytes) at byte " + Arrays.mismatch(ours, published));
    }
    return row(manifest, platform, layer, Reason.OK, "signed by " + signer);
  }

  private static LayerCheck row(Manifest manifest, String platform, Layer layer, Reason reason, String detail) {
    return new LayerCheck(manifest.digest(), platform, layer.blob().digest(), layer.rootHash(), reason,
        detail == null ? "" : detail);
  }
}

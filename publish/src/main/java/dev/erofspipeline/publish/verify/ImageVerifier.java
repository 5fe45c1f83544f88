package dev.erofspipeline.publish.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import dev.erofspipeline.convert.LayerUuids;
import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import dev.erofspipeline.publish.PublishProfile;
import dev.erofspipeline.publish.ReferrerManifests;
import dev.erofspipeline.publish.signing.SignatureRejectedException;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.publish.verify.LayerCheck.Reason;
import dev.erofspipeline.registry.Descriptor;
import dev.erofspipeline.registry.Manifest;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.MediaTypes;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.zip.GZIPInputStream;

/**
 * Does what a node would do before mounting a layer with dm-verity (issue 6, "verify"): finds the
 * referrers of each image (platform) manifest, or of each layer's canonical wrapper, through the
 * registry target (referrers API or tag-schema fallback; an OCI layout's index.json), downloads the
 * tar index, hash device and signature of every layer, and checks, in this order:
 *
 * <ol>
 *   <li>the EROFS superblock UUID (bytes {@code 1024+0x30}, 16) is v5(URL, {@code "erofs:blobs/"+D});
 *   <li>the verity superblock UUID (bytes 16..32 of the hash device) is v5(URL, {@code
 *       "dmverity:blobs/"+D});
 *   <li>the signature of the annotated root hash passes the {@link SignatureVerifier} (CA bundle);
 *   <li>streaming the layer blob (its digest checked against D) and decompressing it, the data device
 *       {@code index || tar} hashes to that root hash, and the recomputed hash device (superblock and
 *       tree, {@link VerityTreeBuilder}) equals the published one byte for byte, which is what
 *       {@code veritysetup verify} establishes.
 * </ol>
 *
 * The index and hash device are held in memory (tens of MB for multi-GB layers); the layer streams.
 */
public final class ImageVerifier {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int EROFS_SUPER_OFFSET = 1024;
  private static final int EROFS_MAGIC = 0xE0F5E1E2;
  /** Index and hash device are held in memory: 1 GiB each at most (with 512-byte blocks a tree that size covers about 16 GiB of data). */
  private static final long MAX_IN_MEMORY = 1L << 30;
  private static final long MAX_SIGNATURE = 1L << 20;

  private final RegistryTarget target;
  private final SignatureVerifier signatures;
  private final PublishProfile profile;

  public ImageVerifier(RegistryTarget target, SignatureVerifier signatures, PublishProfile profile) {
    this.target = Objects.requireNonNull(target);
    this.signatures = Objects.requireNonNull(signatures);
    this.profile = Objects.requireNonNull(profile);
  }

  /**
   * Verifies every platform manifest of {@code reference} (a tag or digest in {@code repository}; an
   * index is expanded, attestation entries of platform {@code unknown/unknown} and EROFS twins
   * skipped).
   */
  public VerifyReport verify(String repository, String reference) {
    List<LayerCheck> rows = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    ManifestWalk.walk(target, repository, reference, ImageVerifier::isLegacyImage,
        (m, platform) -> verifyManifest(repository, m, platform, rows, problems), problems);
    return new VerifyReport(ManifestWalk.label(repository, reference), profile.text(), rows, problems);
  }

  /** Image manifests of an index but attestations and EROFS twins (their signatures are the native profile's). */
  private static boolean isLegacyImage(JsonNode entry) {
    JsonNode p = entry.path("platform");
    return !p.path("os").asText("").equals("unknown") && !p.path("architecture").asText("").equals("unknown")
        && MediaTypes.isImageManifest(entry.path("mediaType").asText()) && !MediaTypes.isErofsPlatform(p);
  }

  private record Payloads(String rootHash, Descriptor index, Descriptor tree, Descriptor signature) {}

  private record Located(Payloads payloads, Reason reason, String detail) {}

  private void verifyManifest(String repo, Manifest manifest, String platform, List<LayerCheck> rows, List<String> problems)
      throws IOException {
    JsonNode doc = JSON.readTree(manifest.bytes());
    List<Descriptor> layers = new ArrayList<>();
    for (JsonNode l : doc.path("layers")) {
      layers.add(new Descriptor(l.path("mediaType").asText(), l.path("digest").asText(), l.path("size").asLong()));
    }
    if (layers.isEmpty()) {
      problems.add(manifest.digest() + ": no layers");
      return;
    }
    Map<String, Located> located = profile == PublishProfile.IMAGE_BUNDLE ? fromBundle(repo, manifest, layers) : null;
    for (Descriptor layer : layers) {
      Located loc = located != null ? located.get(layer.digest()) : fromWrapper(repo, layer);
      if (loc.payloads() == null) {
        rows.add(new LayerCheck(manifest.digest(), platform, layer.digest(), null, loc.reason(), loc.detail()));
        continue;
      }
      rows.add(checkLayer(repo, manifest.digest(), platform, layer, loc.payloads()));
    }
  }

  // ------------------------------------------------------------------------------------------ discovery

  private Map<String, Located> fromBundle(String repo, Manifest manifest, List<Descriptor> layers) throws IOException {
    Map<String, Located> out = new HashMap<>();
    List<Descriptor> bundles = target.referrers(repo, manifest.digest(), MediaTypes.EROFS_DMVERITY_BUNDLE);
    Located fail = null;
    if (bundles.isEmpty()) {
      fail = new Located(null, Reason.NO_REFERRER, "no " + MediaTypes.EROFS_DMVERITY_BUNDLE + " referrer of " + manifest.digest());
    } else if (bundles.size() > 1) {
      fail = new Located(null, Reason.AMBIGUOUS_REFERRER, bundles.size() + " bundles refer to " + manifest.digest());
    }
    if (fail != null) {
      for (Descriptor l : layers) {
        out.put(l.digest(), fail);
      }
      return out;
    }
    JsonNode bundle = JSON.readTree(target.getManifest(repo, bundles.get(0).digest()).bytes());
    Map<String, List<JsonNode>> byLayer = new HashMap<>();
    for (JsonNode p : bundle.path("layers")) {
      byLayer.computeIfAbsent(p.path("annotations").path(Annotations.SOURCE_LAYER_DIGEST).asText(""), k -> new ArrayList<>()).add(p);
    }
    for (Descriptor l : layers) {
      out.put(l.digest(), payloads(byLayer.getOrDefault(l.digest(), List.of()), l.digest(), "bundle " + bundles.get(0).digest()));
    }
    return out;
  }

  private Located fromWrapper(String repo, Descriptor layer) throws IOException {
    Manifest wrapper = ReferrerManifests.wrapper(layer.mediaType(), layer.digest(), layer.size());
    List<JsonNode> payloads = new ArrayList<>();
    Map<String, Integer> perType = new HashMap<>();
    for (Descriptor r : target.referrers(repo, wrapper.digest(), null)) {
      String type = r.artifactType();
      if (!(MediaTypes.EROFS_MERKLE_TREE.equals(type) || MediaTypes.EROFS_METADATA.equals(type)
          || MediaTypes.EROFS_LAYER_SIGNATURE.equals(type))) {
        continue;
      }
      perType.merge(type, 1, Integer::sum);
      JsonNode m = JSON.readTree(target.getManifest(repo, r.digest()).bytes());
      for (JsonNode p : m.path("layers")) {
        payloads.add(p);
      }
    }
    if (perType.isEmpty()) {
      return new Located(null, Reason.NO_REFERRER, "no referrer of the layer wrapper " + wrapper.digest());
    }
    for (Map.Entry<String, Integer> e : perType.entrySet()) {
      if (e.getValue() > 1) {
        return new Located(null, Reason.AMBIGUOUS_REFERRER, e.getValue() + " " + e.getKey() + " referrers of " + wrapper.digest());
      }
    }
    return payloads(payloads, layer.digest(), "referrers of wrapper " + wrapper.digest());
  }

  private static Located payloads(List<JsonNode> nodes, String layerDigest, String where) {
    Descriptor index = null;
    Descriptor tree = null;
    Descriptor sig = null;
    String rootHash = null;
    for (JsonNode p : nodes) {
      JsonNode a = p.path("annotations");
      if (!layerDigest.equals(a.path(Annotations.SOURCE_LAYER_DIGEST).asText(null))) {
        return new Located(null, Reason.MISSING_PAYLOAD, where + ": a payload is annotated for another layer");
      }
      String rh = a.path(Annotations.ROOT_HASH).asText(null);
      if (rh == null || !rh.matches("[0-9a-f]{64}") || (rootHash != null && !rootHash.equals(rh))) {
        return new Located(null, Reason.MISSING_PAYLOAD, where + ": missing or inconsistent root-hash annotations");
      }
      rootHash = rh;
      Descriptor d = new Descriptor(p.path("mediaType").asText(), p.path("digest").asText(), p.path("size").asLong());
      switch (d.mediaType()) {
        case MediaTypes.EROFS_METADATA -> index = index == null ? d : dup();
        case MediaTypes.EROFS_MERKLE_TREE -> tree = tree == null ? d : dup();
        case MediaTypes.EROFS_LAYER_SIGNATURE -> sig = sig == null ? d : dup();
        default -> { }
      }
      if (index == DUP || tree == DUP || sig == DUP) {
        return new Located(null, Reason.AMBIGUOUS_REFERRER, where + ": two payloads of one type for the layer");
      }
    }
    List<String> missing = new ArrayList<>();
    if (index == null) {
      missing.add("tar index");
    }
    if (tree == null) {
      missing.add("merkle tree");
    }
    if (sig == null) {
      missing.add("signature");
    }
    if (!missing.isEmpty()) {
      return new Located(null, Reason.MISSING_PAYLOAD, where + ": no " + String.join(", ", missing) + " for the layer");
    }
    return new Located(new Payloads(rootHash, index, tree, sig), Reason.OK, "");
  }

  private static final Descriptor DUP = new Descriptor("dup", "sha256:" + "0".repeat(64), 0);

  private static Descriptor dup() {
    return DUP;
  }

  // ------------------------------------------------------------------------------------------ checks

  private LayerCheck checkLayer(String repo, String manifestDigest, String platform, Descriptor layer, Payloads p) {
    String d = layer.digest();
    byte[] index;
    byte[] tree;
    byte[] sig;
    if (p.index().size() > MAX_IN_MEMORY || p.tree().size() > MAX_IN_MEMORY || p.signature().size() > MAX_SIGNATURE) {
      return row(manifestDigest, platform, d, p, Reason.DOWNLOAD_FAILED, "payload sizes " + p.index().size() + "/"
          + p.tree().size() + "/" + p.signature().size() + " exceed what verify holds in memory");
    }
    try {
      index = target.getBlob(repo, p.index().digest());
      tree = target.getBlob(repo, p.tree().digest());
      sig = target.getBlob(repo, p.signature().digest());
    } catch (IOException | RuntimeException e) {
      return row(manifestDigest, platform, d, p, Reason.DOWNLOAD_FAILED, e.getMessage());
    }
    UUID erofs = LayerUuids.erofs(d);
    if (index.length < EROFS_SUPER_OFFSET + 0x40 || index.length % 512 != 0
        || ByteBuffer.wrap(index, EROFS_SUPER_OFFSET, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() != EROFS_MAGIC) {
      return row(manifestDigest, platform, d, p, Reason.EROFS_UUID_MISMATCH, "the tar index is not an EROFS image");
    }
    UUID indexUuid = uuidAt(index, EROFS_SUPER_OFFSET + 0x30);
    if (!erofs.equals(indexUuid)) {
      return row(manifestDigest, platform, d, p, Reason.EROFS_UUID_MISMATCH,
          "EROFS UUID " + indexUuid + ", expected " + erofs + " (v5 of erofs:blobs/" + d + ")");
    }
    UUID verity = LayerUuids.verity(d);
    if (tree.length < 512 || !new String(tree, 0, 8, StandardCharsets.ISO_8859_1).equals("verity\0\0")) {
      return row(manifestDigest, platform, d, p, Reason.VERITY_UUID_MISMATCH, "the hash device has no verity superblock");
    }
    UUID treeUuid = uuidAt(tree, 16);
    if (!verity.equals(treeUuid)) {
      return row(manifestDigest, platform, d, p, Reason.VERITY_UUID_MISMATCH,
          "verity UUID " + treeUuid + ", expected " + verity + " (v5 of dmverity:blobs/" + d + ")");
    }
    String signer;
    try {
      signer = signatures.verify(p.rootHash(), sig);
    } catch (SignatureRejectedException e) {
      return row(manifestDigest, platform, d, p, Reason.SIGNATURE_REJECTED, e.getMessage());
    }
    ByteArrayOutputStream recomputed = new ByteArrayOutputStream(tree.length);
    String rootHash;
    try (InputStream blob = target.openBlob(repo, d);
        VerityTreeBuilder builder = VerityTreeBuilder.contract()) {
      InputStream tar = decompress(new BufferedInputStream(blob, 1 << 16));
      byte[] buf = new byte[1 << 16];
      for (int n; (n = tar.read(buf)) > 0; ) {
        builder.update(buf, 0, n);
      }
      // the digest of the blob is checked when its stream ends; drain what the decoder left
      while (blob.read(buf) > 0) {
        // trailing bytes after the compressed stream still count for the digest
      }
      rootHash = builder.finish(index, verity, recomputed).rootHashHex();
    } catch (IOException | RuntimeException e) {
      return row(manifestDigest, platform, d, p, Reason.LAYER_UNREADABLE, e.getMessage());
    }
    if (!rootHash.equals(p.rootHash())) {
      return row(manifestDigest, platform, d, p, Reason.ROOT_HASH_MISMATCH,
          "index || tar hashes to " + rootHash + ", the signed root hash is " + p.rootHash());
    }
    byte[] ours = recomputed.toByteArray();
    if (!java.util.Arrays.equals(ours, tree)) {
      int at = java.util.Arrays.mismatch(ours, tree);
      return row(manifestDigest, platform, d, p, Reason.TREE_MISMATCH,
          "published hash device (" + tree.length + " bytes) differs from the recomputed one (" + ours.length
              + " bytes) at byte " + at);
    }
    return row(manifestDigest, platform, d, p, Reason.OK, "signed by " + signer);
  }

  private static LayerCheck row(String manifest, String platform, String layer, Payloads p, Reason r, String detail) {
    return new LayerCheck(manifest, platform, layer, p.rootHash(), r, detail == null ? "" : detail);
  }

  private static UUID uuidAt(byte[] b, int off) {
    ByteBuffer bb = ByteBuffer.wrap(b, off, 16);
    return new UUID(bb.getLong(), bb.getLong());
  }

  /** Uncompressed, gzip (members concatenated) or zstd, from the magic bytes. */
  private static InputStream decompress(BufferedInputStream in) throws IOException {
    in.mark(4);
    byte[] head = in.readNBytes(4);
    in.reset();
    if (head.length >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
      return new GZIPInputStream(in, 1 << 16);
    }
    if (head.length == 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
        && (head[3] & 0xff) == 0xfd) {
      return new ZstdInputStream(in);
    }
    return in;
  }
}

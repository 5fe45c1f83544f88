package dev.erofspipeline.publish;

import java.util.List;

/**
 * What one {@link Publisher#publish} did.
 *
 * @param subjectDigest the image (platform) manifest
 * @param bundleDigest the image-bundle referrer, or null when that profile was off
 * @param layers per layer, in image order
 * @param replaced referrer manifests of another profile fingerprint (or other content) that were
 *     deleted and dropped from the referrers index, as {@code subject -> digest (fingerprint)}
 * @param blobsUploaded blobs transferred
 * @param blobsMounted blobs mounted from another repository of the same registry
 * @param blobsPresent blobs the registry already had
 */
public record PublishReport(
    String subjectDigest,
    String bundleDigest,
    List<Layer> layers,
    List<String> replaced,
    int blobsUploaded,
    int blobsMounted,
    int blobsPresent) {

  /**
   * @param layerDigest D
   * @param rootHash the signed root hash
   * @param wrapperDigest the layer-profile wrapper, or null when that profile was off
   * @param referrers digests of the layer-profile referrers (tree, index, signature), or empty
   */
  public record Layer(String layerDigest, String rootHash, String wrapperDigest, List<String> referrers) {}

  /** Whether an existing referrer was replaced. */
  public boolean replacedAny() {
    return !replaced.isEmpty();
  }
}

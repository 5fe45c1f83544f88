package dev.erofspipeline.ingest;

import java.util.List;

/**
 * What one image request resolved to.
 *
 * @param registry    {@code host[:port]} or {@code oci:DIR}, as records carry it
 * @param repository  repository of the image (for a layout: the name derived from its directory)
 * @param reference   the reference as requested
 * @param digest      digest the reference pointed to (an index or an image manifest)
 * @param mediaType   media type of that manifest
 * @param images      the platform image manifests selected, in index order
 * @param failures    platform manifests that could not be used, each with a reason
 * @param skipped     index entries left out on purpose (attestations, artifacts, other platforms), for people
 */
public record Resolution(String registry, String repository, String reference, String digest, String mediaType,
                         List<ResolvedImage> images, List<ImageFailure> failures, List<String> skipped) {

    public Resolution {
        images = List.copyOf(images);
        failures = List.copyOf(failures);
        skipped = List.copyOf(skipped);
    }

    /** The index digest when the reference pointed at an index, else null. */
    public String indexDigest() {
        return images.isEmpty() ? null : images.get(0).indexDigest();
    }

    /**
     * One platform image manifest with its layers paired with their diffIDs.
     *
     * @param digest      manifest digest (the subject)
     * @param mediaType   OCI or Docker v2 schema 2 manifest
     * @param size        manifest size
     * @param platform    {@code os/arch[/variant]} from the index entry or the config, null when unknown
     * @param indexDigest the index it was reached through, or null
     * @param layers      the layers in manifest order
     * @param notes       things worth telling people (non-distributable layers), may be empty
     */
    public record ResolvedImage(String digest, String mediaType, long size, String platform, String indexDigest,
                                List<Layer> layers, List<String> notes) {
        public ResolvedImage {
            layers = List.copyOf(layers);
            notes = List.copyOf(notes);
        }
    }

    /**
     * A layer of a manifest.
     *
     * @param urls alternate locations of a non-distributable layer (from its descriptor), else empty
     */
    public record Layer(String digest, long size, String mediaType, String diffId, List<String> urls) {
        public Layer {
            urls = urls == null ? List.of() : List.copyOf(urls);
        }

        public boolean nonDistributable() {
            return dev.erofspipeline.schemas.MediaTypes.isNonDistributableLayer(mediaType);
        }
    }

    /** A platform manifest given up on: its digest (and platform when known) and why. */
    public record ImageFailure(String digest, String mediaType, long size, String platform, String reasonCode,
                               String message) {
    }
}

package dev.erofspipeline.registry;

import dev.erofspipeline.schemas.Annotations;
import dev.erofspipeline.schemas.MediaTypes;

import java.util.Set;

/** The media types and annotation this client needs, from {@link MediaTypes} and {@link Annotations}. */
final class MediaTypeNames {
    static final String OCI_MANIFEST = MediaTypes.OCI_MANIFEST;
    static final String OCI_INDEX = MediaTypes.OCI_INDEX;
    static final String DOCKER_MANIFEST = MediaTypes.DOCKER_MANIFEST;
    static final String DOCKER_MANIFEST_LIST = MediaTypes.DOCKER_MANIFEST_LIST;
    static final String OCTET_STREAM = "application/octet-stream";

    /** Sent on every manifest request: docker-registry answers 404 for OCI manifests without it. */
    static final String MANIFEST_ACCEPT = String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST);

    static final Set<String> MANIFEST_TYPES = Set.of(OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST);

    /** Annotation naming a manifest in an OCI layout's index.json. */
    static final String REF_NAME = Annotations.OCI_REF_NAME;

    private MediaTypeNames() {
    }
}

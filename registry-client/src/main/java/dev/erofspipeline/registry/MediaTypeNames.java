package dev.erofspipeline.registry;

import java.util.Set;

/**
 * Media types the client needs. Private to this module on purpose: {@code dev.erofspipeline.schemas.MediaTypes}
 * did not exist yet when this module was written; switch to it once it does.
 */
final class MediaTypeNames {
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    static final String OCTET_STREAM = "application/octet-stream";

    /** Sent on every manifest request: docker-registry answers 404 for OCI manifests without it. */
    static final String MANIFEST_ACCEPT = String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST);

    static final Set<String> MANIFEST_TYPES = Set.of(OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST);
    static final Set<String> INDEX_TYPES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);

    /** Annotation naming a manifest in an OCI layout's index.json. */
    static final String REF_NAME = "org.opencontainers.image.ref.name";

    private MediaTypeNames() {
    }
}

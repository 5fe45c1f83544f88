package dev.erofspipeline.registry;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Small hand-made OCI images and artifacts for the tests. */
final class TestImages {
    static final byte[] EMPTY_CONFIG = "{}".getBytes(StandardCharsets.UTF_8);
    static final String EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    private TestImages() {
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] config(String diffId) {
        return ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + diffId + "\"]}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    static Manifest imageManifest(byte[] config, byte[] layer) {
        String json = "{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypeNames.OCI_MANIFEST + "\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + Digests.sha256(config)
                + "\",\"size\":" + config.length + "},"
                + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" + Digests.sha256(layer)
                + "\",\"size\":" + layer.length + "}]}";
        return Manifest.of(json.getBytes(StandardCharsets.UTF_8), MediaTypeNames.OCI_MANIFEST);
    }

    static Manifest index(Manifest... manifests) {
        StringBuilder sb = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypeNames.OCI_INDEX + "\",\"manifests\":[");
        for (int i = 0; i < manifests.length; i++) {
            Manifest m = manifests[i];
            sb.append(i > 0 ? "," : "").append("{\"mediaType\":\"").append(m.mediaType()).append("\",\"digest\":\"")
                    .append(m.digest()).append("\",\"size\":").append(m.bytes().length)
                    .append(",\"platform\":{\"architecture\":\"").append(i == 0 ? "amd64" : "arm64").append("\",\"os\":\"linux\"}}");
        }
        return Manifest.of(sb.append("]}").toString().getBytes(StandardCharsets.UTF_8), MediaTypeNames.OCI_INDEX);
    }

    /** An OCI 1.1 artifact manifest (image manifest with artifactType, empty config) whose subject is {@code subject}. */
    static Manifest referrer(Manifest subject, String artifactType, byte[] payload, String note) {
        String json = "{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypeNames.OCI_MANIFEST + "\",\"artifactType\":\"" + artifactType + "\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" + EMPTY_DIGEST + "\",\"size\":2},"
                + "\"layers\":[{\"mediaType\":\"application/vnd.example.payload.v1\",\"digest\":\"" + Digests.sha256(payload)
                + "\",\"size\":" + payload.length + "}],"
                + "\"subject\":{\"mediaType\":\"" + subject.mediaType() + "\",\"digest\":\"" + subject.digest() + "\",\"size\":"
                + subject.bytes().length + "},"
                + "\"annotations\":{\"note\":\"" + note + "\"}}";
        return Manifest.of(json.getBytes(StandardCharsets.UTF_8), MediaTypeNames.OCI_MANIFEST);
    }
}

package dev.erofspipeline.ingest;

import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.testkit.Digests;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.OciLayoutBuilder.Compression;
import dev.erofspipeline.testkit.OciLayoutBuilder.ImageSpec;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.RegistryHttp;
import dev.erofspipeline.testkit.TarLayer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The images every test reads, seeded once per JVM into the shared registry with skopeo (and a few broken manifests
 * pushed by hand):
 * <ul>
 *   <li>{@code app/multi:1}: OCI index linux/amd64 + linux/arm64/v8 + an unknown/unknown attestation manifest;</li>
 *   <li>{@code app/docker:1}: Docker v2 schema 2 image;</li>
 *   <li>{@code app/single:1} and {@code app/single:latest}: the same OCI image under two tags;</li>
 *   <li>the base layer is shared by all four platform images;</li>
 *   <li>{@code bad/unsupported:1} (a layer of unknown media type), {@code bad/mismatch:1} (2 layers, 1 diffID),
 *       {@code bad/artifact:1} (not an image).</li>
 * </ul>
 */
final class TestImages {
    static final String ATTESTATION_TYPE = "vnd.docker.reference.type";

    final RegistryFixture registry;
    final OciLayoutBuilder.Index multi;
    final OciLayoutBuilder.Image single;
    final OciLayoutBuilder.Image dockerSource;
    final String dockerDigest;
    final String baseLayer;
    final String unsupportedDigest;
    final String mismatchDigest;
    final Path layoutDir;

    private static TestImages instance;

    static synchronized TestImages seed(RegistryFixture registry) {
        if (instance == null || instance.registry != registry || !registry.isStarted()) {
            instance = new TestImages(registry);
        }
        return instance;
    }

    private TestImages(RegistryFixture registry) {
        this.registry = registry;
        try {
            layoutDir = Files.createTempDirectory("ingest-images-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        OciLayoutBuilder b = new OciLayoutBuilder(layoutDir);
        TarLayer base = TarLayer.builder().dir("etc").file("etc/os-release", "ID=test\n").build();
        TarLayer amd = TarLayer.builder().dir("bin").file("bin/hello", "amd64\n").build();
        TarLayer arm = TarLayer.builder().dir("bin").file("bin/hello", "arm64\n").build();
        TarLayer app = TarLayer.builder().dir("app").file("app/one", "single\n").build();
        TarLayer dock = TarLayer.builder().dir("app").file("app/docker", "docker\n").build();
        TarLayer att = TarLayer.builder().file("attestation.json", "{}").build();
        multi = b.addIndex("multi",
                ImageSpec.linux("amd64").layer(base, Compression.GZIP).layer(amd, Compression.GZIP),
                ImageSpec.linux("arm64").variant("v8").layer(base, Compression.GZIP).layer(arm, Compression.ZSTD),
                ImageSpec.of("unknown", "unknown").layer(att, Compression.NONE)
                        .descriptorAnnotation(ATTESTATION_TYPE, "attestation-manifest"));
        single = b.addImage("single", ImageSpec.linux("amd64").layer(base, Compression.GZIP)
                .layer(app, Compression.NONE));
        dockerSource = b.addImage("docker", ImageSpec.linux("amd64").layer(base, Compression.GZIP)
                .layer(dock, Compression.GZIP));
        baseLayer = multi.images().get(0).layers().get(0).digest();

        registry.seed(layoutDir, "multi", "app/multi:1");
        registry.seed(layoutDir, "single", "app/single:1");
        registry.seed(layoutDir, "single", "app/single:latest");
        dockerDigest = registry.seed(layoutDir, "docker", "app/docker:1", RegistryFixture.Format.DOCKER_V2S2);

        RegistryHttp http = registry.http();
        unsupportedDigest = pushByHand(http, "bad/unsupported", "application/vnd.example.unknown+json", 1);
        mismatchDigest = pushByHand(http, "bad/mismatch", "application/vnd.oci.image.layer.v1.tar", 2);
        byte[] cfg = "{\"kind\":\"not an image\"}".getBytes(StandardCharsets.UTF_8);
        String cfgDigest = http.pushBlob("bad/artifact", cfg);
        String artifact = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"artifactType\":\"application/vnd.example.thing\",\"config\":{\"mediaType\":"
                + "\"application/vnd.example.config\",\"digest\":\"" + cfgDigest + "\",\"size\":" + cfg.length
                + "},\"layers\":[]}";
        http.putManifest("bad/artifact", "1", RegistryHttp.OCI_MANIFEST, artifact.getBytes(StandardCharsets.UTF_8));
    }

    /** An OCI manifest whose {@code layerCount} layers have {@code layerType}, with a config listing one diffID. */
    private static String pushByHand(RegistryHttp http, String repo, String layerType, int layerCount) {
        byte[] tar = TarLayer.builder().file("x", repo).build().tar();
        String layer = http.pushBlob(repo, tar);
        String diffId = Digests.sha256(tar);
        byte[] cfg = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
                + diffId + "\"]}}").getBytes(StandardCharsets.UTF_8);
        String cfgDigest = http.pushBlob(repo, cfg);
        StringBuilder layers = new StringBuilder();
        for (int i = 0; i < layerCount; i++) {
            layers.append(i == 0 ? "" : ",").append("{\"mediaType\":\"").append(layerType).append("\",\"digest\":\"")
                    .append(layer).append("\",\"size\":").append(tar.length).append('}');
        }
        String m = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{"
                + "\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + cfgDigest
                + "\",\"size\":" + cfg.length + "},\"layers\":[" + layers + "]}";
        return http.putManifest(repo, "1", RegistryHttp.OCI_MANIFEST, m.getBytes(StandardCharsets.UTF_8));
    }

    String ref(String repoAndTag) {
        return registry.host() + "/" + repoAndTag;
    }

    /** Registry options for the loopback registry: plain HTTP, few quick retries. */
    RegistryOptions options() {
        return RegistryOptions.builder().insecureHost(registry.host()).maxRetries(1)
                .initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(100))
                .connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(10)).build();
    }

    /** Every distinct layer of the four platform images (what a first run must queue, once each). */
    Set<String> allImageLayers() {
        Set<String> s = new TreeSet<>();
        for (OciLayoutBuilder.Image img : List.of(multi.images().get(0), multi.images().get(1), single, dockerSource)) {
            img.layers().forEach(l -> s.add(l.digest()));
        }
        return s;
    }
}

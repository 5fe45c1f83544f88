package dev.erofspipeline.publish;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.publish.signing.CmsRootHashSigner;
import dev.erofspipeline.publish.signing.KeyPassword;
import dev.erofspipeline.publish.signing.RootHashSigner;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.publish.signing.SigningCredentials;
import dev.erofspipeline.publish.signing.TestPki;
import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.ResultDocument;
import dev.erofspipeline.schemas.StagingLayout;
import dev.erofspipeline.testkit.OciLayoutBuilder;
import dev.erofspipeline.testkit.RegistryFixture;
import dev.erofspipeline.testkit.S3Fixture;
import dev.erofspipeline.testkit.TarLayer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * One test image, built and converted once per JVM: three layers (gzip, zstd, gzip) in an OCI layout,
 * each converted with {@link LayerConverter}; helpers to seed it into a repository, stage its
 * artifacts in S3 (as the worker does) and build publishers with the test PKI.
 */
final class TestImage {

  record Converted(ConversionResult result, byte[] index, byte[] tree) {}

  private static TestImage instance;

  final Path dir;
  final Path layout;
  final OciLayoutBuilder.Image image;
  final Map<String, Converted> converted = new LinkedHashMap<>();
  final Path keyPem;
  final Path certPem;
  final Path caPem;
  final Path otherKeyPem;
  final Path otherCertPem;

  private TestImage() throws Exception {
    dir = Files.createTempDirectory("publish-test-");
    layout = dir.resolve("layout");
    OciLayoutBuilder b = new OciLayoutBuilder(layout);
    TarLayer base = TarLayer.builder().dir("etc").file("etc/os-release", "ID=test\n").dir("usr/bin")
        .file("usr/bin/tool", new byte[] {1, 2, 3}, 0755).symlink("bin", "usr/bin").build();
    TarLayer data = TarLayer.builder().dir("data").randomFile("data/blob.bin", 300_000, 42).file("data/small", "x").build();
    TarLayer top = TarLayer.builder().dir("etc").file("etc/motd", "hello\n").whiteout("data/small").build();
    image = b.addImage("v1", OciLayoutBuilder.ImageSpec.linux("amd64")
        .layer(base, OciLayoutBuilder.Compression.GZIP)
        .layer(data, OciLayoutBuilder.Compression.ZSTD)
        .layer(top, OciLayoutBuilder.Compression.GZIP));
    LayerConverter converter = new LayerConverter(ConversionLimits.DEFAULT, LayerConverter.Options.DEFAULT.withParallel(false));
    for (OciLayoutBuilder.Layer l : image.layers()) {
      ByteArrayOutputStream index = new ByteArrayOutputStream();
      ByteArrayOutputStream tree = new ByteArrayOutputStream();
      ConversionResult r = converter.convert(new ByteArrayInputStream(Files.readAllBytes(b.blobPath(l.digest()))), l.digest(),
          true, l.diffId(), index, tree);
      converted.put(l.digest(), new Converted(r, index.toByteArray(), tree.toByteArray()));
    }
    TestPki pki = TestPki.get();
    keyPem = TestPki.write(dir, "key.pem", pki.leafKey.getPrivate());
    certPem = TestPki.write(dir, "cert.pem", pki.leaf);
    caPem = TestPki.write(dir, "ca.pem", pki.ca);
    otherKeyPem = TestPki.write(dir, "other-key.pem", pki.otherLeafKey.getPrivate());
    otherCertPem = TestPki.write(dir, "other-cert.pem", pki.otherLeaf);
  }

  static synchronized TestImage get() {
    if (instance == null) {
      try {
        instance = new TestImage();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return instance;
  }

  List<String> layerDigests() {
    return image.layers().stream().map(OciLayoutBuilder.Layer::digest).toList();
  }

  /** Pushes the image to {@code repo:v1} and returns its record. */
  ImageRecord seed(RegistryFixture registry, String repo) {
    String digest = registry.seed(layout, "v1", repo + ":v1");
    if (!digest.equals(image.digest())) {
      throw new IllegalStateException("skopeo changed the digest: " + digest);
    }
    return record(registry.host(), repo, ConversionProfile.TAR_INDEX);
  }

  /** A copy of the layout in a fresh directory, and the record naming it as {@code oci:DIR}. */
  ImageRecord copyLayout(Path target) throws IOException {
    try (Stream<Path> files = Files.walk(layout)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path to = target.resolve(layout.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(to);
        } else {
          Files.copy(p, to, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    return record("oci:" + target, "layout", ConversionProfile.TAR_INDEX);
  }

  ImageRecord record(String registry, String repo, ConversionProfile profile) {
    List<ImageRecord.Layer> layers = new ArrayList<>();
    for (OciLayoutBuilder.Layer l : image.layers()) {
      layers.add(new ImageRecord.Layer(l.digest(), l.descriptor().size(), l.descriptor().mediaType(), l.diffId()));
    }
    return new ImageRecord(registry, repo,
        new ImageRecord.Subject(image.digest(), MediaTypes.OCI_MANIFEST, image.manifest().size()), "linux/amd64", null,
        repo + ":v1", layers, profile, "test");
  }

  /** Stages every layer's index and tree in S3 under {@code profile}, as the worker does. */
  List<LayerResult> stage(S3Fixture s3, String prefix, ConversionProfile profile) {
    List<LayerResult> out = new ArrayList<>();
    for (Map.Entry<String, Converted> e : converted.entrySet()) {
      out.add(stage(s3, prefix, profile, e.getKey(), e.getValue().index(), e.getValue().tree(), e.getValue().result()));
    }
    return out;
  }

  /** Stages the given bytes as the artifacts of {@code layer} (tests tamper with them this way). */
  static LayerResult stage(S3Fixture s3, String prefix, ConversionProfile profile, String layer, byte[] index, byte[] tree,
      ConversionResult r) {
    LayerResult.Staging staging = StagingLayout.staging(s3.bucket(), prefix, layer, profile.fingerprint());
    s3.client().putObject(PutObjectRequest.builder().bucket(s3.bucket()).key(staging.indexKey()).build(), RequestBody.fromBytes(index));
    s3.client().putObject(PutObjectRequest.builder().bucket(s3.bucket()).key(staging.treeKey()).build(), RequestBody.fromBytes(tree));
    ResultDocument doc = new ResultDocument(layer, r.diffId(), null, index.length, sha256Hex(index), tree.length,
        sha256Hex(tree), r.rootHash(), r.salt(), "sha256", 512, 512, r.dataBlocks(), r.erofsUuid(), r.verityUuid(),
        r.erofsUtilsVersion(), "test", profile, null);
    return new LayerResult(doc, staging, null, null, false, "test");
  }

  static String sha256Hex(byte[] b) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  RootHashSigner signer() {
    return new CmsRootHashSigner(SigningCredentials.fromPem(keyPem, certPem, KeyPassword.none()));
  }

  RootHashSigner untrustedSigner() {
    return new CmsRootHashSigner(SigningCredentials.fromPem(otherKeyPem, otherCertPem, KeyPassword.none()));
  }

  SignatureVerifier verifier() {
    return SignatureVerifier.builder().trustAnchors(List.<X509Certificate>of(TestPki.get().ca)).build();
  }

  SignatureVerifier verifierTrusting(X509Certificate ca) {
    return SignatureVerifier.builder().trustAnchors(List.of(ca)).build();
  }

  static RegistryOptions options(String... insecureHosts) {
    return RegistryOptions.builder().insecureHosts(List.of(insecureHosts))
        // small limits so that the tree and the zstd layer's index go up in chunks
        .monolithicLimit(16 * 1024).chunkSize(16 * 1024).build();
  }

  Publisher publisher(S3Fixture s3, RegistryOptions options, Set<PublishProfile> profiles) {
    return publisher(s3, options, profiles, signer(), verifier());
  }

  Publisher publisher(S3Fixture s3, RegistryOptions options, Set<PublishProfile> profiles, RootHashSigner signer,
      SignatureVerifier verifier) {
    return Publisher.builder().registryOptions(options).artifacts(new S3ArtifactSource(s3.client())).signer(signer)
        .verifier(verifier).profiles(profiles).build();
  }

  static void uncheck(IOException e) {
    throw new UncheckedIOException(e);
  }
}

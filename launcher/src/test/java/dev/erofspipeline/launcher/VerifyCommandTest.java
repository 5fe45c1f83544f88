package dev.erofspipeline.launcher;

import static dev.erofspipeline.launcher.CommandRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.convert.ConversionLimits;
import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.publish.ArtifactSource;
import dev.erofspipeline.publish.Publisher;
import dev.erofspipeline.publish.signing.CmsRootHashSigner;
import dev.erofspipeline.publish.signing.KeyPassword;
import dev.erofspipeline.publish.signing.SignatureVerifier;
import dev.erofspipeline.publish.signing.SigningCredentials;
import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.MediaTypes;
import dev.erofspipeline.schemas.ResultDocument;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code verify} in-process on an OCI layout: two golden layers converted, signed with a throwaway
 * CA, published into the layout with both profiles, then verified from the command line (the
 * publish module's own tests cover the registry paths and tampering).
 */
class VerifyCommandTest {

  @TempDir static Path tmp;
  static Path layout;
  static Path caPem;
  static Path otherCaPem;
  static List<String> layers = new ArrayList<>();

  private static String sha256(byte[] b) throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private static Path golden(String name) {
    String p = System.getProperty("erofs.shared.dir");
    return Path.of(p != null && !p.isBlank() ? p : "/work/shared").resolve("golden").resolve(name);
  }

  private static String blob(byte[] content) throws Exception {
    String d = sha256(content);
    Path p = layout.resolve("blobs/sha256").resolve(d.substring(7));
    Files.createDirectories(p.getParent());
    Files.write(p, content);
    return d;
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  private static X509Certificate cert(String subject, KeyPair key, X509Certificate issuer, KeyPair issuerKey) throws Exception {
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
        issuer == null ? new X500Name(subject) : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
        BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(30))),
        new X500Name(subject), key.getPublic());
    if (issuer == null) {
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } else {
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_codeSigning));
    }
    return new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKey.getPrivate())));
  }

  private static Path pem(String name, Object o) throws Exception {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(o instanceof java.security.PrivateKey k ? new JcaPKCS8Generator(k, null) : o);
    }
    Path p = tmp.resolve(name);
    Files.writeString(p, w.toString());
    return p;
  }

  @BeforeAll
  static void publishIntoALayout() throws Exception {
    layout = tmp.resolve("oci");
    KeyPair caKey = rsa();
    X509Certificate ca = cert("CN=Verify Test CA", caKey, null, caKey);
    KeyPair leafKey = rsa();
    X509Certificate leaf = cert("CN=Verify Test Signer", leafKey, ca, caKey);
    caPem = pem("ca.pem", ca);
    KeyPair otherKey = rsa();
    otherCaPem = pem("other-ca.pem", cert("CN=Verify Test CA", otherKey, null, otherKey));
    SigningCredentials creds = SigningCredentials.fromPem(pem("key.pem", leafKey.getPrivate()), pem("cert.pem", leaf),
        KeyPassword.none());

    Map<String, byte[]> staged = new HashMap<>();
    List<LayerResult> results = new ArrayList<>();
    List<ImageRecord.Layer> recordLayers = new ArrayList<>();
    StringBuilder layerJson = new StringBuilder();
    StringBuilder diffIds = new StringBuilder();
    for (String name : List.of("deb-hello.tar.gz", "gnutar-gnu.tar.gz")) {
      byte[] content = Files.readAllBytes(golden(name));
      String d = blob(content);
      layers.add(d);
      ByteArrayOutputStream index = new ByteArrayOutputStream();
      ByteArrayOutputStream tree = new ByteArrayOutputStream();
      ConversionResult r = new LayerConverter(ConversionLimits.DEFAULT).convert(new ByteArrayInputStream(content), d, true,
          null, index, tree);
      staged.put("sha256:" + r.indexSha256(), index.toByteArray());
      staged.put("sha256:" + r.treeSha256(), tree.toByteArray());
      results.add(new LayerResult(new ResultDocument(d, r.diffId(), null, r.indexSize(), r.indexSha256(), r.treeSize(),
          r.treeSha256(), r.rootHash(), r.salt(), "sha256", 512, 512, r.dataBlocks(), r.erofsUuid(), r.verityUuid(),
          r.erofsUtilsVersion(), "test", ConversionProfile.TAR_INDEX, null),
          new LayerResult.Staging("b", "i", "t", "r"), null, null, false, "test"));
      recordLayers.add(new ImageRecord.Layer(d, content.length, MediaTypes.OCI_LAYER_TAR_GZIP, r.diffId()));
      layerJson.append(layerJson.length() == 0 ? "" : ",").append("{\"mediaType\":\"").append(MediaTypes.OCI_LAYER_TAR_GZIP)
          .append("\",\"digest\":\"").append(d).append("\",\"size\":").append(content.length).append("}");
      diffIds.append(diffIds.length() == 0 ? "" : ",").append('"').append(r.diffId()).append('"');
    }
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + diffIds
        + "]}}").getBytes(StandardCharsets.UTF_8);
    String configDigest = blob(config);
    byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":{\"mediaType\":\""
        + MediaTypes.OCI_CONFIG + "\",\"digest\":\"" + configDigest + "\",\"size\":" + config.length + "},\"layers\":["
        + layerJson + "]}").getBytes(StandardCharsets.UTF_8);
    String manifestDigest = blob(manifest);
    Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    Files.writeString(layout.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST
        + "\",\"digest\":\"" + manifestDigest + "\",\"size\":" + manifest.length
        + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}");

    ArtifactSource memory = new ArtifactSource() {
      @Override
      public BlobSource index(LayerResult r) {
        return BlobSource.of(staged.get("sha256:" + r.result().indexSha256()));
      }

      @Override
      public BlobSource tree(LayerResult r) {
        return BlobSource.of(staged.get("sha256:" + r.result().treeSha256()));
      }

      @Override
      public BlobSource blob(LayerResult r) {
        return BlobSource.of(staged.get(r.result().blob().digest()));
      }
    };
    ImageRecord record = new ImageRecord("oci:" + layout, "layout",
        new ImageRecord.Subject(manifestDigest, MediaTypes.OCI_MANIFEST, manifest.length), "linux/amd64", null, "v1",
        recordLayers, ConversionProfile.TAR_INDEX, "test");
    try (Publisher p = Publisher.builder().artifacts(memory).signer(new CmsRootHashSigner(creds))
        .verifier(SignatureVerifier.fromCaBundle(caPem)).build()) {
      p.publish(record, results);
    }
  }

  @Test
  void verifyPassesAndPrintsOneRowPerLayerAndProfile() {
    CommandRun r = run("verify", "oci:" + layout + ":v1", "--ca", caPem.toString(), "--profile", "all");
    assertEquals(0, r.exitCode(), r.out() + r.err());
    assertEquals("", r.err());
    for (String d : layers) {
      assertTrue(r.out().lines().filter(l -> l.contains(d) && l.contains(" ok")).count() == 2, r.out());
    }
    assertTrue(r.out().contains("verified: oci:"), r.out());
  }

  @Test
  void anotherCaFailsNamingTheLayerAndTheReason() {
    CommandRun r = run("verify", "oci:" + layout + ":v1", "--ca", otherCaPem.toString());
    assertEquals(1, r.exitCode(), r.out());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("layer " + layers.get(0) + ": signature rejected"), r.err());
    assertTrue(r.out().contains("FAIL"), r.out());
  }

  @Test
  void aReferenceWithoutArtifactsFails() throws Exception {
    CommandRun r = run("verify", "oci:" + tmp.resolve("missing") + ":v1", "--ca", caPem.toString());
    assertEquals(1, r.exitCode(), r.out());
    assertTrue(r.err().startsWith("erofs-pipeline: "), r.err());
  }
}

package dev.erofspipeline.publish.signing;

import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test PKI made with Bouncy Castle, generated once per test JVM: a root CA, an intermediate, a
 * code-signing leaf under each, a leaf without the Code Signing EKU, an untrusted CA and its leaf,
 * an expired leaf, a 1024-bit RSA and an EC key with certificates.
 */
public final class TestPki {

  static final Instant NOW = Instant.now();
  private static final AtomicLong SERIAL = new AtomicLong(0x1000);
  private static TestPki instance;

  public final KeyPair caKey = rsa(2048);
  public final X509Certificate ca = cert("CN=Test Root CA,O=erofs-pipeline tests", caKey.getPublic(), null, caKey, true, null,
      NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(3650)));
  final KeyPair interKey = rsa(2048);
  final X509Certificate inter = cert("CN=Test Intermediate CA", interKey.getPublic(), ca, caKey, true, null,
      NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(365)));
  public final KeyPair leafKey = rsa(2048);
  public final X509Certificate leaf = cert("CN=Layer Signer,O=erofs-pipeline tests", leafKey.getPublic(), ca, caKey, false,
      KeyPurposeId.id_kp_codeSigning, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
  final KeyPair leaf2Key = rsa(3072);
  final X509Certificate leafUnderInter = cert("CN=Layer Signer Two", leaf2Key.getPublic(), inter, interKey, false,
      KeyPurposeId.id_kp_codeSigning, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
  final X509Certificate noEkuLeaf = cert("CN=Web Server", leafKey.getPublic(), ca, caKey, false,
      KeyPurposeId.id_kp_serverAuth, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
  final X509Certificate expiredLeaf = cert("CN=Expired Signer", leafKey.getPublic(), ca, caKey, false,
      KeyPurposeId.id_kp_codeSigning, NOW.minus(Duration.ofDays(60)), NOW.minus(Duration.ofDays(30)));
  public final KeyPair otherCaKey = rsa(2048);
  public final X509Certificate otherCa = cert("CN=Test Root CA,O=erofs-pipeline tests", otherCaKey.getPublic(), null, otherCaKey,
      true, null, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(3650)));
  public final KeyPair otherLeafKey = rsa(2048);
  public final X509Certificate otherLeaf = cert("CN=Layer Signer,O=erofs-pipeline tests", otherLeafKey.getPublic(), otherCa,
      otherCaKey, false, KeyPurposeId.id_kp_codeSigning, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
  final KeyPair weakKey = rsa(1024);
  final X509Certificate weakLeaf = cert("CN=Weak Signer", weakKey.getPublic(), ca, caKey, false,
      KeyPurposeId.id_kp_codeSigning, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
  final KeyPair ecKey = ec();
  final X509Certificate ecLeaf = cert("CN=EC Signer", ecKey.getPublic(), ca, caKey, false,
      KeyPurposeId.id_kp_codeSigning, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));

  private TestPki() {}

  public static synchronized TestPki get() {
    if (instance == null) {
      instance = new TestPki();
    }
    return instance;
  }

  static KeyPair rsa(int bits) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(bits);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static KeyPair ec() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static X509Certificate cert(String subject, PublicKey pub, X509Certificate issuer, KeyPair issuerKey, boolean isCa,
      KeyPurposeId eku, Instant notBefore, Instant notAfter) {
    try {
      X500Name issuerName = issuer == null ? new X500Name(subject)
          : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
          BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(notBefore), Date.from(notAfter),
          new X500Name(subject), pub);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pub));
      b.addExtension(Extension.authorityKeyIdentifier, false,
          ext.createAuthorityKeyIdentifier(issuer == null ? pub : issuer.getPublicKey()));
      if (isCa) {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        if (eku != null) {
          b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(eku));
        }
      }
      PrivateKey signingKey = issuerKey.getPrivate();
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withRSA").build(signingKey)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** PEM text of the objects (certificates; private keys as unencrypted PKCS#8). */
  public static String pem(Object... objects) {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      for (Object o : objects) {
        pw.writeObject(o instanceof PrivateKey ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(
            (PrivateKey) o, null) : o);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return w.toString();
  }

  public static Path write(Path dir, String name, Object... objects) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, pem(objects), StandardCharsets.US_ASCII);
    return p;
  }

  static Path writeText(Path dir, String name, String text) throws IOException {
    Path p = dir.resolve(name);
    try (Writer w = Files.newBufferedWriter(p, StandardCharsets.US_ASCII)) {
      w.write(text);
    }
    return p;
  }
}

package dev.erofspipeline.launcher;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
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

/** A throwaway CA and a code-signing leaf, written as PEM files: key, chain (leaf then CA), CA. */
public record TestSigningKeys(Path key, Path chain, Path ca) {

  public static TestSigningKeys create(Path dir) throws Exception {
    KeyPair caKey = rsa();
    X509Certificate ca = certificate("CN=Launcher Test CA", caKey, null, caKey);
    KeyPair leafKey = rsa();
    X509Certificate leaf = certificate("CN=Launcher Test Signer", leafKey, ca, caKey);
    Path key = Files.writeString(dir.resolve("signing-key.pem"), pem(new JcaPKCS8Generator(leafKey.getPrivate(), null)));
    Path chain = Files.writeString(dir.resolve("signing-chain.pem"), pem(leaf) + pem(ca));
    Path caFile = Files.writeString(dir.resolve("ca.pem"), pem(ca));
    return new TestSigningKeys(key, chain, caFile);
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  private static X509Certificate certificate(String subject, KeyPair key, X509Certificate issuer, KeyPair issuerKey)
      throws Exception {
    Instant now = Instant.now();
    X500Name issuerName = issuer == null ? new X500Name(subject) : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName, BigInteger.valueOf(now.toEpochMilli() + subject.hashCode()),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(2))), new X500Name(subject), key.getPublic());
    if (issuer == null) {
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } else {
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_codeSigning));
    }
    PrivateKey signer = issuerKey.getPrivate();
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(signer)));
  }

  private static String pem(Object o) throws Exception {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(o);
    }
    return w.toString();
  }
}

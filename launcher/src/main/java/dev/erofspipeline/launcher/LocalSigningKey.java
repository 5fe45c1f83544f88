package dev.erofspipeline.launcher;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A signing key for trying the pipeline out without one of your own: a local CA and a code-signing
 * certificate it issued, made once and kept under the working directory. Nodes must not trust it;
 * production installations configure {@code signing.keyFile} and {@code signing.certFile}.
 *
 * @param key PKCS#8 PEM private key of the signer
 * @param chain PEM certificates, signer first, then the CA
 * @param ca PEM certificate of the CA (what {@code verify --ca} takes)
 */
record LocalSigningKey(Path key, Path chain, Path ca) {

  /** The key in {@code dir}, made there first if it is not. */
  static LocalSigningKey ensure(Path dir) throws IOException {
    LocalSigningKey k = new LocalSigningKey(dir.resolve("key.pem"), dir.resolve("chain.pem"), dir.resolve("ca.pem"));
    if (Files.isRegularFile(k.key) && Files.isRegularFile(k.chain) && Files.isRegularFile(k.ca)) {
      return k;
    }
    Files.createDirectories(dir);
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(3072);
      KeyPair caKeys = g.generateKeyPair();
      KeyPair signerKeys = g.generateKeyPair();
      Instant now = Instant.now();
      X500Name caName = new X500Name("CN=erofs-pipeline local test CA");
      X509CertificateHolder ca =
          new JcaX509v3CertificateBuilder(caName, BigInteger.ONE, Date.from(now.minus(Duration.ofDays(1))),
                  Date.from(now.plus(Duration.ofDays(3650))), caName, caKeys.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate()));
      X509CertificateHolder signer =
          new JcaX509v3CertificateBuilder(caName, BigInteger.TWO, Date.from(now.minus(Duration.ofDays(1))),
                  Date.from(now.plus(Duration.ofDays(3650))), new X500Name("CN=erofs-pipeline local signer"),
                  signerKeys.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
              .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_codeSigning))
              .build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate()));
      Files.writeString(k.ca, pem(ca));
      Files.writeString(k.chain, pem(signer) + pem(ca));
      Files.writeString(k.key, pem(signerKeys.getPrivate()));
      Files.setPosixFilePermissions(k.key, PosixFilePermissions.fromString("rw-------"));
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make a local signing key: " + e.getClass().getSimpleName(), e);
    }
    return k;
  }

  private static String pem(Object o) throws IOException {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      p.writeObject(o instanceof java.security.PrivateKey key ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null) : o);
    }
    return w.toString();
  }
}

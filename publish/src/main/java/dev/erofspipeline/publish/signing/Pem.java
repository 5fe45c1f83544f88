package dev.erofspipeline.publish.signing;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Provider;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;

/** PEM reading shared by the key loader and the verifier. */
final class Pem {

  /**
   * Used explicitly (never registered globally) where the JDK lacks an algorithm, e.g. the legacy
   * PKCS#5 v1.5 / PKCS#12 PBE schemes of older encrypted keys.
   */
  static final Provider BC = new BouncyCastleProvider();

  private Pem() {}

  static boolean looksLikePem(byte[] bytes) {
    String head = new String(bytes, 0, Math.min(bytes.length, 64 * 1024), StandardCharsets.ISO_8859_1);
    return head.contains("-----BEGIN ");
  }

  static byte[] readFile(Path file, String what) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new SigningException("cannot read " + what + " " + file + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  /**
   * Every PEM object in the text, parsed by Bouncy Castle. Parse errors name the file and the
   * exception type only.
   */
  static List<Object> objects(byte[] bytes, Path file) {
    List<Object> out = new ArrayList<>();
    try (Reader r = new StringReader(new String(bytes, StandardCharsets.US_ASCII));
        PEMParser parser = new PEMParser(r)) {
      Object o;
      while ((o = parser.readObject()) != null) {
        out.add(o);
      }
    } catch (IOException | RuntimeException e) {
      throw new SigningException("malformed PEM in " + file + " (" + e.getClass().getSimpleName() + ")");
    }
    return out;
  }

  /** The certificates of a PEM file, in file order. */
  static List<X509Certificate> certificates(Path file) {
    return certificates(objects(readFile(file, "certificate file"), file), file);
  }

  static List<X509Certificate> certificates(List<Object> objects, Path file) {
    JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
    List<X509Certificate> certs = new ArrayList<>();
    for (Object o : objects) {
      if (o instanceof X509CertificateHolder) {
        try {
          certs.add(converter.getCertificate((X509CertificateHolder) o));
        } catch (CertificateException e) {
          throw new SigningException("unreadable certificate in " + file + ": " + e.getMessage(), e);
        }
      }
    }
    return certs;
  }
}

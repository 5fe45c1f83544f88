package dev.erofspipeline.publish.signing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * An RSA signing key and its certificate chain (signer first), loaded from PEM or PKCS#12.
 *
 * <p>Accepted: PEM private keys as PKCS#8 ({@code PRIVATE KEY}), encrypted PKCS#8 ({@code
 * ENCRYPTED PRIVATE KEY}) and PKCS#1 ({@code RSA PRIVATE KEY}, also with the legacy OpenSSL {@code
 * Proc-Type: 4,ENCRYPTED} header), with a PEM certificate file holding the signer certificate first
 * and then the rest of the chain; or a PKCS#12 file with one key entry and its chain. Refused: keys
 * that are not RSA (EC, Ed25519, DSA, RSASSA-PSS), RSA keys under 2048 bits, and a key that does
 * not belong to the first certificate.
 *
 * <p>The private key is reachable only inside this package; {@link #toString()} and every message
 * name files, certificate subjects and key sizes, never passwords or key bytes.
 */
public final class SigningCredentials {

  /** The smallest RSA modulus accepted, in bits. */
  public static final int MIN_RSA_BITS = 2048;

  private final PrivateKey privateKey;
  private final List<X509Certificate> chain;

  private SigningCredentials(PrivateKey privateKey, List<X509Certificate> chain, String source) {
    this.privateKey = privateKey;
    this.chain = Collections.unmodifiableList(new ArrayList<>(chain));
    checkKey(privateKey, source);
    checkMatches(privateKey, chain.get(0), source);
  }

  /**
   * Loads a key and its chain the way the command line's {@code --signing-key FILE --signing-cert
   * FILE} does: a PEM key file with a PEM certificate file (when {@code certFile} is null, the
   * certificates are taken from the key file itself), or, when the key file is not PEM, a PKCS#12
   * file (then {@code certFile} must be null or the same file).
   */
  public static SigningCredentials load(Path keyFile, Path certFile, KeyPassword password) {
    Objects.requireNonNull(keyFile, "keyFile");
    Objects.requireNonNull(password, "password");
    byte[] bytes = Pem.readFile(keyFile, "signing key file");
    if (Pem.looksLikePem(bytes)) {
      return fromPem(keyFile, certFile == null ? keyFile : certFile, password);
    }
    if (certFile != null && !certFile.equals(keyFile)) {
      throw new SigningException("signing key file " + keyFile + " is not PEM, so it is read as PKCS#12, which"
          + " holds its own chain: do not give a separate certificate file (" + certFile + ")");
    }
    return fromPkcs12(keyFile, password);
  }

  /**
   * A PEM private key and a PEM certificate chain (signer certificate first; the file may be the
   * key file itself).
   */
  public static SigningCredentials fromPem(Path keyFile, Path certFile, KeyPassword password) {
    Objects.requireNonNull(keyFile, "keyFile");
    Objects.requireNonNull(certFile, "certFile");
    Objects.requireNonNull(password, "password");
    List<Object> keyObjects = Pem.objects(Pem.readFile(keyFile, "signing key file"), keyFile);
    PrivateKey key = pemPrivateKey(keyObjects, keyFile, password);
    checkKey(key, keyFile.toString());
    List<X509Certificate> chain = certFile.equals(keyFile)
        ? Pem.certificates(keyObjects, certFile)
        : Pem.certificates(certFile);
    if (chain.isEmpty()) {
      throw new SigningException("no certificate (PEM 'CERTIFICATE') in " + certFile
          + "; the signer certificate must come first, followed by the rest of its chain");
    }
    return new SigningCredentials(key, chain, keyFile.toString());
  }

  /** A PKCS#12 file with exactly one private-key entry and its certificate chain. */
  public static SigningCredentials fromPkcs12(Path file, KeyPassword password) {
    return fromPkcs12(file, password, null);
  }

  /**
   * A PKCS#12 file; {@code alias} selects the key entry (null: the file must hold exactly one). The
   * same password protects the file and the key, as OpenSSL writes them.
   */
  public static SigningCredentials fromPkcs12(Path file, KeyPassword password, String alias) {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(password, "password");
    byte[] bytes = Pem.readFile(file, "PKCS#12 file");
    char[] pw = password.read();
    char[] storePw = pw == null ? new char[0] : pw;
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try {
        ks.load(new ByteArrayInputStream(bytes), storePw);
      } catch (IOException | GeneralSecurityException e) {
        throw new SigningException("cannot open PKCS#12 file " + file + ": wrong password ("
            + password + "), or not a PKCS#12 file (" + e.getClass().getSimpleName() + ")");
      }
      String chosen = alias;
      if (chosen == null) {
        List<String> keyAliases = new ArrayList<>();
        for (String a : Collections.list(ks.aliases())) {
          if (ks.isKeyEntry(a)) {
            keyAliases.add(a);
          }
        }
        if (keyAliases.size() != 1) {
          throw new SigningException("PKCS#12 file " + file + " holds " + keyAliases.size()
              + " private keys " + keyAliases + "; exactly one is needed (or name its alias)");
        }
        chosen = keyAliases.get(0);
      } else if (!ks.isKeyEntry(chosen)) {
        throw new SigningException("PKCS#12 file " + file + " has no private key with alias '" + chosen + "'");
      }
      Key key;
      try {
        key = ks.getKey(chosen, storePw);
      } catch (GeneralSecurityException e) {
        throw new SigningException("cannot decrypt the private key in PKCS#12 file " + file
            + " (" + e.getClass().getSimpleName() + ")");
      }
      if (!(key instanceof PrivateKey)) {
        throw new SigningException("PKCS#12 entry '" + chosen + "' in " + file + " is not a private key");
      }
      Certificate[] certs = ks.getCertificateChain(chosen);
      if (certs == null || certs.length == 0) {
        throw new SigningException("PKCS#12 file " + file + " has no certificate for its private key");
      }
      List<X509Certificate> chain = new ArrayList<>();
      for (Certificate c : certs) {
        chain.add((X509Certificate) c);
      }
      return new SigningCredentials((PrivateKey) key, chain, file.toString());
    } catch (GeneralSecurityException e) {
      throw new SigningException("cannot read PKCS#12 file " + file + " (" + e.getClass().getSimpleName() + ")");
    } finally {
      Arrays.fill(storePw, '\0');
    }
  }

  private static PrivateKey pemPrivateKey(List<Object> objects, Path file, KeyPassword password) {
    List<Object> keys = new ArrayList<>();
    for (Object o : objects) {
      if (o instanceof PrivateKeyInfo || o instanceof PKCS8EncryptedPrivateKeyInfo
          || o instanceof PEMKeyPair || o instanceof PEMEncryptedKeyPair) {
        keys.add(o);
      }
    }
    if (keys.size() != 1) {
      throw new SigningException((keys.isEmpty() ? "no private key" : keys.size() + " private keys") + " in "
          + file + "; expected exactly one PEM 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY' or 'RSA PRIVATE KEY'");
    }
    Object o = keys.get(0);
    JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
    boolean encrypted = o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair;
    char[] pw = null;
    try {
      if (encrypted) {
        pw = password.read();
        if (pw == null) {
          throw new SigningException("the private key in " + file
              + " is encrypted; configure its password (a file or an environment variable)");
        }
        try {
          if (o instanceof PKCS8EncryptedPrivateKeyInfo) {
            PrivateKeyInfo info = ((PKCS8EncryptedPrivateKeyInfo) o).decryptPrivateKeyInfo(
                new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(Pem.BC).build(pw));
            return converter.getPrivateKey(info);
          }
          PEMKeyPair pair = ((PEMEncryptedKeyPair) o).decryptKeyPair(
              new JcePEMDecryptorProviderBuilder().setProvider(Pem.BC).build(pw));
          return converter.getKeyPair(pair).getPrivate();
        } catch (Exception e) {
          // The cause is deliberately dropped: its message is not ours to vouch for.
          throw new SigningException("cannot decrypt the private key in " + file + " with the configured password ("
              + password + "): wrong password or unsupported encryption (" + e.getClass().getSimpleName() + ")");
        }
      }
      try {
        if (o instanceof PrivateKeyInfo) {
          return converter.getPrivateKey((PrivateKeyInfo) o);
        }
        return converter.getKeyPair((PEMKeyPair) o).getPrivate();
      } catch (Exception e) {
        throw new SigningException("unusable private key in " + file + " (" + e.getClass().getSimpleName() + ")");
      }
    } finally {
      if (pw != null) {
        Arrays.fill(pw, '\0');
      }
    }
  }

  private static void checkKey(PrivateKey key, String source) {
    String algorithm = key.getAlgorithm();
    if (!"RSA".equals(algorithm) || !(key instanceof RSAKey)) {
      throw new SigningException("the signing key in " + source + " is " + describeAlgorithm(algorithm)
          + "; dm-verity root-hash signatures need an RSA key (PKCS#1 v1.5; the kernel takes neither"
          + " EC nor PSS)");
    }
    int bits = ((RSAKey) key).getModulus().bitLength();
    if (bits < MIN_RSA_BITS) {
      throw new SigningException("the RSA signing key in " + source + " has " + bits
          + " bits; at least " + MIN_RSA_BITS + " are required");
    }
  }

  private static String describeAlgorithm(String algorithm) {
    if ("EC".equals(algorithm)) {
      return "an EC key";
    }
    if ("RSASSA-PSS".equals(algorithm)) {
      return "an RSASSA-PSS key";
    }
    return "a " + algorithm + " key";
  }

  private static void checkMatches(PrivateKey key, X509Certificate cert, String source) {
    PublicKey pub = cert.getPublicKey();
    boolean matches = pub instanceof RSAPublicKey
        && ((RSAPublicKey) pub).getModulus().equals(((RSAKey) key).getModulus())
        && (!(key instanceof RSAPrivateCrtKey)
            || ((RSAPublicKey) pub).getPublicExponent().equals(((RSAPrivateCrtKey) key).getPublicExponent()));
    if (matches) {
      // Also a real round trip: catches a non-CRT key whose exponents do not fit the certificate.
      try {
        byte[] probe = "erofs-pipeline key check".getBytes(StandardCharsets.US_ASCII);
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(key);
        s.update(probe);
        byte[] sig = s.sign();
        Signature v = Signature.getInstance("SHA256withRSA");
        v.initVerify(pub);
        v.update(probe);
        matches = v.verify(sig);
      } catch (GeneralSecurityException e) {
        matches = false;
      }
    }
    if (!matches) {
      throw new SigningException("the private key in " + source
          + " does not belong to the first certificate of the chain (subject "
          + cert.getSubjectX500Principal().getName() + "); the signer certificate must come first");
    }
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  /** The signer certificate: the first of the chain. */
  public X509Certificate signerCertificate() {
    return chain.get(0);
  }

  /** The chain as configured, signer first (unmodifiable). */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** The size of the RSA modulus in bits. */
  public int keyBits() {
    return ((RSAKey) privateKey).getModulus().bitLength();
  }

  @Override
  public String toString() {
    return "SigningCredentials[signer=" + signerCertificate().getSubjectX500Principal().getName()
        + ", key=RSA-" + keyBits() + ", chain=" + chain.size() + " certificate(s)]";
  }
}

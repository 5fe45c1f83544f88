package dev.erofspipeline.publish.signing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.publish.signing.SignatureRejectedException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SignatureVerifierTest {

  static final String ROOT_HASH = CmsRootHashSignerTest.ROOT_HASH;
  static final String OTHER_ROOT_HASH = "0f".repeat(32);
  static final String LAYER = CmsRootHashSignerTest.LAYER;

  final TestPki pki = TestPki.get();

  @TempDir Path dir;
  SignatureVerifier verifier;

  @BeforeEach
  void setUp() throws Exception {
    verifier = SignatureVerifier.fromCaBundle(TestPki.write(dir, "ca.pem", pki.ca));
    TestPki.write(dir, "leaf.key", pki.leafKey.getPrivate());
    TestPki.write(dir, "leaf.pem", pki.leaf);
    Files.writeString(dir.resolve("roothash.txt"), ROOT_HASH);
  }

  private byte[] sign(KeyPair key, X509Certificate... chain) throws Exception {
    return sign(key, ROOT_HASH, chain);
  }

  private byte[] sign(KeyPair key, String rootHash, X509Certificate... chain) throws Exception {
    Path k = TestPki.write(dir, "k.pem", key.getPrivate());
    Path c = TestPki.write(dir, "c.pem", (Object[]) chain);
    return new CmsRootHashSigner(SigningCredentials.fromPem(k, c, KeyPassword.none())).sign(LAYER, rootHash);
  }

  private Reason rejected(byte[] signature) {
    return rejected(verifier, ROOT_HASH, signature);
  }

  private static Reason rejected(SignatureVerifier v, String rootHash, byte[] signature) {
    SignatureRejectedException e = assertThrows(SignatureRejectedException.class, () -> v.verify(rootHash, signature));
    assertTrue(e.getMessage().startsWith(e.reason().text() + ": "), e.getMessage());
    return e.reason();
  }

  private byte[] openssl(String... args) throws Exception {
    String[] all = Arrays.copyOf(args, args.length + 2);
    all[args.length] = "-out";
    all[args.length + 1] = "cli.p7s";
    OpenSsl.ok(dir, all);
    return Files.readAllBytes(dir.resolve("cli.p7s"));
  }

  @Test
  void acceptsTheBuiltInSignatureAndReturnsTheSignerSubject() throws Exception {
    assertEquals("O=erofs-pipeline tests,CN=Layer Signer", verifier.verify(ROOT_HASH, sign(pki.leafKey, pki.leaf)));
  }

  @Test
  void acceptsOpensslSmimeAndCmsSignaturesMadeByTheCli() throws Exception {
    byte[] smime = openssl("smime", "-sign", "-noattr", "-binary", "-outform", "DER", "-md", "sha256",
        "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "roothash.txt");
    assertEquals("O=erofs-pipeline tests,CN=Layer Signer", verifier.verify(ROOT_HASH, smime));
    byte[] cms = openssl("cms", "-sign", "-noattr", "-binary", "-outform", "DER", "-md", "sha256",
        "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "roothash.txt");
    assertEquals("O=erofs-pipeline tests,CN=Layer Signer", verifier.verify(ROOT_HASH, cms));
    // signer identified by subject key identifier instead of issuer and serial
    byte[] keyid = openssl("cms", "-sign", "-noattr", "-binary", "-outform", "DER", "-md", "sha256", "-keyid",
        "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "roothash.txt");
    assertEquals("O=erofs-pipeline tests,CN=Layer Signer", verifier.verify(ROOT_HASH, keyid));
  }

  @Test
  void acceptsAChainThroughAnEmbeddedIntermediate() throws Exception {
    byte[] sig = sign(pki.leaf2Key, pki.leafUnderInter, pki.inter);
    assertEquals("CN=Layer Signer Two", verifier.verify(ROOT_HASH, sig));
  }

  @Test
  void refusesAChainWhoseIntermediateIsNeitherEmbeddedNorGiven() throws Exception {
    byte[] sig = sign(pki.leaf2Key, pki.leafUnderInter);
    assertEquals(Reason.UNTRUSTED_CHAIN, rejected(sig));
    assertEquals("CN=Layer Signer Two", verifier.verify(ROOT_HASH, sig, List.of(pki.inter)));
  }

  @Test
  void refusesASignatureByAnUntrustedKey() throws Exception {
    // same subject and same issuer name as the trusted ones, different keys
    assertEquals(Reason.UNTRUSTED_CHAIN, rejected(sign(pki.otherLeafKey, pki.otherLeaf)));
    assertEquals(Reason.UNTRUSTED_CHAIN, rejected(sign(pki.otherLeafKey, pki.otherLeaf, pki.otherCa)));
    SignatureRejectedException e = assertThrows(SignatureRejectedException.class,
        () -> verifier.verify(ROOT_HASH, sign(pki.otherLeafKey, pki.otherLeaf)));
    assertTrue(e.getMessage().contains("does not chain to a trusted CA"), e.getMessage());
  }

  @Test
  void refusesASignatureOverADifferentRootHash() throws Exception {
    byte[] sig = sign(pki.leafKey, OTHER_ROOT_HASH, pki.leaf);
    assertEquals(Reason.WRONG_CONTENT, rejected(sig));
    SignatureRejectedException e = assertThrows(SignatureRejectedException.class, () -> verifier.verify(ROOT_HASH, sig));
    assertTrue(e.getMessage().contains(ROOT_HASH), e.getMessage());
    // a signature over the root hash followed by a newline is not a signature over the root hash
    Files.writeString(dir.resolve("newline.txt"), ROOT_HASH + "\n");
    assertEquals(Reason.WRONG_CONTENT, rejected(openssl("smime", "-sign", "-noattr", "-binary", "-outform", "DER",
        "-md", "sha256", "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "newline.txt")));
  }

  @Test
  void refusesATamperedSignature() throws Exception {
    byte[] sig = sign(pki.leafKey, pki.leaf);
    byte[] lastByte = sig.clone();
    lastByte[lastByte.length - 1] ^= 0x01; // in the RSA signature value
    assertEquals(Reason.BAD_SIGNATURE, rejected(lastByte));
    byte[] firstSigByte = sig.clone();
    firstSigByte[firstSigByte.length - 256] ^= (byte) 0x80;
    assertEquals(Reason.BAD_SIGNATURE, rejected(firstSigByte));
    // every single-byte change anywhere is refused, for one reason or another
    for (int i = 0; i < sig.length; i++) {
      byte[] t = sig.clone();
      t[i] ^= 0x04;
      int at = i;
      assertThrows(SignatureRejectedException.class, () -> verifier.verify(ROOT_HASH, t), () -> "byte " + at);
    }
  }

  /**
   * The same certificate with its signature re-encoded as a bit string with unused bits: the JDK
   * reads the octets and ignores the count, so without a check it verifies. Found by the byte-flip
   * test above when a signature happened to end in four zero bits.
   */
  @Test
  void refusesAnEmbeddedCertificateWhoseSignatureHasUnusedBits() throws Exception {
    byte[] sig = sign(pki.leafKey, pki.leaf);
    byte[] cert = pki.leaf.getEncoded();
    int at = indexOf(sig, cert);
    assertTrue(at >= 0, "the leaf is embedded verbatim");
    int end = at + cert.length; // the certificate ends with BIT STRING { unused-bits octet, 256 signature octets }
    byte[] t = sig.clone();
    t[end - 257] = 4;
    t[end - 1] &= (byte) 0xF0;
    assertEquals(Reason.MALFORMED, rejected(t));
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void refusesALeafWithoutTheCodeSigningEkuUnlessDisabled() throws Exception {
    byte[] sig = sign(pki.leafKey, pki.noEkuLeaf);
    assertEquals(Reason.MISSING_CODE_SIGNING_EKU, rejected(sig));
    SignatureVerifier lenient = SignatureVerifier.builder().trustAnchors(List.of(pki.ca))
        .requireCodeSigningEku(false).build();
    assertEquals("CN=Web Server", lenient.verify(ROOT_HASH, sig));
  }

  @Test
  void refusesExpiredAndNotYetValidCertificates() throws Exception {
    assertEquals(Reason.EXPIRED, rejected(sign(pki.leafKey, pki.expiredLeaf)));
    byte[] good = sign(pki.leafKey, pki.leaf);
    Clock later = Clock.fixed(TestPki.NOW.plus(Duration.ofDays(31)), ZoneOffset.UTC);
    Clock earlier = Clock.fixed(TestPki.NOW.minus(Duration.ofDays(2)), ZoneOffset.UTC);
    assertEquals(Reason.EXPIRED, rejected(SignatureVerifier.builder().trustAnchors(List.of(pki.ca)).clock(later).build(),
        ROOT_HASH, good));
    assertEquals(Reason.NOT_YET_VALID, rejected(SignatureVerifier.builder().trustAnchors(List.of(pki.ca))
        .clock(earlier).build(), ROOT_HASH, good));
    // an expired intermediate, with a leaf that is still valid
    KeyPair interKey = TestPki.rsa(2048);
    X509Certificate oldInter = TestPki.cert("CN=Old Intermediate", interKey.getPublic(), pki.ca, pki.caKey, true, null,
        TestPki.NOW.minus(Duration.ofDays(100)), TestPki.NOW.minus(Duration.ofDays(1)));
    X509Certificate leaf = TestPki.cert("CN=Under Old Intermediate", pki.leafKey.getPublic(), oldInter, interKey, false,
        KeyPurposeId.id_kp_codeSigning, TestPki.NOW.minus(Duration.ofDays(50)), TestPki.NOW.plus(Duration.ofDays(50)));
    SignatureRejectedException e = assertThrows(SignatureRejectedException.class,
        () -> verifier.verify(ROOT_HASH, sign(pki.leafKey, leaf, oldInter)));
    assertEquals(Reason.EXPIRED, e.reason());
    assertTrue(e.getMessage().contains("CN=Old Intermediate"), e.getMessage());
  }

  @Test
  void refusesSignaturesOutsideTheContract() throws Exception {
    // with signed attributes (openssl's default)
    assertEquals(Reason.SIGNED_ATTRIBUTES, rejected(openssl("smime", "-sign", "-binary", "-outform", "DER",
        "-md", "sha256", "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "roothash.txt")));
    // content embedded
    assertEquals(Reason.MALFORMED, rejected(openssl("smime", "-sign", "-noattr", "-nodetach", "-binary",
        "-outform", "DER", "-md", "sha256", "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "roothash.txt")));
    // SHA-1
    assertEquals(Reason.UNSUPPORTED_ALGORITHM, rejected(openssl("smime", "-sign", "-noattr", "-binary",
        "-outform", "DER", "-md", "sha1", "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "roothash.txt")));
    // RSA-PSS
    assertEquals(Reason.UNSUPPORTED_ALGORITHM, rejected(openssl("cms", "-sign", "-noattr", "-binary",
        "-outform", "DER", "-md", "sha256", "-signer", "leaf.pem", "-inkey", "leaf.key",
        "-keyopt", "rsa_padding_mode:pss", "-in", "roothash.txt")));
    // no certificates
    assertEquals(Reason.SIGNER_CERTIFICATE_MISSING, rejected(openssl("smime", "-sign", "-noattr", "-nocerts",
        "-binary", "-outform", "DER", "-md", "sha256", "-signer", "leaf.pem", "-inkey", "leaf.key",
        "-in", "roothash.txt")));
    // a 1024-bit RSA key (the built-in signer refuses to make one)
    TestPki.write(dir, "weak.key", pki.weakKey.getPrivate());
    TestPki.write(dir, "weak.pem", pki.weakLeaf);
    assertEquals(Reason.WEAK_KEY, rejected(openssl("smime", "-sign", "-noattr", "-binary", "-outform", "DER",
        "-md", "sha256", "-signer", "weak.pem", "-inkey", "weak.key", "-in", "roothash.txt")));
    // ECDSA
    TestPki.write(dir, "ec.key", pki.ecKey.getPrivate());
    TestPki.write(dir, "ec.pem", pki.ecLeaf);
    assertEquals(Reason.UNSUPPORTED_ALGORITHM, rejected(openssl("cms", "-sign", "-noattr", "-binary",
        "-outform", "DER", "-md", "sha256", "-signer", "ec.pem", "-inkey", "ec.key", "-in", "roothash.txt")));
  }

  @Test
  void refusesGarbage() throws Exception {
    assertEquals(Reason.MALFORMED, rejected(new byte[0]));
    assertEquals(Reason.MALFORMED, rejected("not a signature".getBytes()));
    byte[] sig = sign(pki.leafKey, pki.leaf);
    byte[] trailing = Arrays.copyOf(sig, sig.length + 1);
    assertEquals(Reason.MALFORMED, rejected(trailing));
    assertEquals(Reason.MALFORMED, rejected(Arrays.copyOf(sig, sig.length - 10)));
    // a certificate is not a signature
    assertEquals(Reason.MALFORMED, rejected(pki.leaf.getEncoded()));
  }

  @Test
  void refusesAnInvalidRootHashArgument() throws Exception {
    byte[] sig = sign(pki.leafKey, pki.leaf);
    assertThrows(IllegalArgumentException.class, () -> verifier.verify(ROOT_HASH.toUpperCase(), sig));
    assertThrows(IllegalArgumentException.class, () -> verifier.verify(ROOT_HASH + "\n", sig));
  }

  @Test
  void aSelfSignedSignerCertificateThatIsItselfAnAnchorIsTrusted() throws Exception {
    KeyPair key = TestPki.rsa(2048);
    X509Certificate self = TestPki.cert("CN=Self Signed Signer", key.getPublic(), null, key, false,
        KeyPurposeId.id_kp_codeSigning, TestPki.NOW.minus(Duration.ofDays(1)), TestPki.NOW.plus(Duration.ofDays(1)));
    byte[] sig = sign(key, self);
    assertEquals("CN=Self Signed Signer",
        SignatureVerifier.builder().trustAnchors(List.of(self)).build().verify(ROOT_HASH, sig));
    assertEquals(Reason.UNTRUSTED_CHAIN, rejected(sig));
  }

  @Test
  void toStringNamesTheAnchors() {
    assertTrue(verifier.toString().contains("CN=Test Root CA"), verifier.toString());
  }
}

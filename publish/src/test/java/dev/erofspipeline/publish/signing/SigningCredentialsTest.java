package dev.erofspipeline.publish.signing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningCredentialsTest {

  static final String ROOT_HASH = CmsRootHashSignerTest.ROOT_HASH;
  static final String LAYER = CmsRootHashSignerTest.LAYER;
  /** Planted secret: must never show up in a message or a toString(). */
  static final String PASSWORD = "Plant3d-S3cret-Passw0rd!";

  final TestPki pki = TestPki.get();

  @TempDir Path dir;

  /** The plain PKCS#8 key, the leaf certificate, and a password file; returns the reference signature. */
  private byte[] setUp() throws Exception {
    Path key = TestPki.write(dir, "key.pem", pki.leafKey.getPrivate());
    Path cert = TestPki.write(dir, "leaf.pem", pki.leaf);
    TestPki.write(dir, "ca.pem", pki.ca);
    TestPki.writeText(dir, "pw.txt", PASSWORD + "\n");
    return new CmsRootHashSigner(SigningCredentials.fromPem(key, cert, KeyPassword.none())).sign(LAYER, ROOT_HASH);
  }

  private byte[] sign(SigningCredentials c) {
    return new CmsRootHashSigner(c).sign(LAYER, ROOT_HASH);
  }

  @Test
  void pkcs8Unencrypted() throws Exception {
    byte[] reference = setUp();
    assertTrue(Files.readString(dir.resolve("key.pem")).startsWith("-----BEGIN PRIVATE KEY-----"));
    SigningCredentials c = SigningCredentials.load(dir.resolve("key.pem"), dir.resolve("leaf.pem"), KeyPassword.none());
    assertEquals(1, c.chain().size());
    assertEquals(2048, c.keyBits());
    assertArrayEquals(reference, sign(c));
  }

  @Test
  void pkcs8EncryptedPbes2AndLegacyPbes1() throws Exception {
    byte[] reference = setUp();
    OpenSsl.ok(dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "key.pem", "-out", "enc.pem", "-passout", "file:pw.txt");
    assertTrue(Files.readString(dir.resolve("enc.pem")).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assertArrayEquals(reference, sign(SigningCredentials.fromPem(dir.resolve("enc.pem"), dir.resolve("leaf.pem"),
        KeyPassword.fromFile(dir.resolve("pw.txt")))));
    OpenSsl.ok(dir, "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", "key.pem", "-out", "enc1.pem",
        "-passout", "file:pw.txt");
    assertArrayEquals(reference, sign(SigningCredentials.fromPem(dir.resolve("enc1.pem"), dir.resolve("leaf.pem"),
        KeyPassword.fromEnvironment("SIGNING_KEY_PASSWORD", Map.of("SIGNING_KEY_PASSWORD", PASSWORD)))));
  }

  @Test
  void pkcs1PlainAndLegacyEncrypted() throws Exception {
    byte[] reference = setUp();
    OpenSsl.ok(dir, "rsa", "-in", "key.pem", "-traditional", "-out", "rsa.pem");
    assertTrue(Files.readString(dir.resolve("rsa.pem")).startsWith("-----BEGIN RSA PRIVATE KEY-----"));
    assertArrayEquals(reference, sign(SigningCredentials.fromPem(dir.resolve("rsa.pem"), dir.resolve("leaf.pem"),
        KeyPassword.none())));
    OpenSsl.ok(dir, Map.of("KEYPW", PASSWORD), "rsa", "-in", "key.pem", "-traditional", "-aes256", "-out", "rsa-enc.pem",
        "-passout", "env:KEYPW");
    String text = Files.readString(dir.resolve("rsa-enc.pem"));
    assertTrue(text.contains("Proc-Type: 4,ENCRYPTED") && text.contains("DEK-Info: AES-256-CBC"), text);
    assertArrayEquals(reference, sign(SigningCredentials.fromPem(dir.resolve("rsa-enc.pem"), dir.resolve("leaf.pem"),
        KeyPassword.fromEnvironment("KEYPW", Map.of("KEYPW", PASSWORD)))));
  }

  @Test
  void keyAndChainInOnePemFile() throws Exception {
    byte[] reference = setUp();
    Path both = TestPki.write(dir, "both.pem", pki.leafKey.getPrivate(), pki.leaf);
    assertArrayEquals(reference, sign(SigningCredentials.load(both, null, KeyPassword.none())));
  }

  @Test
  void pkcs12ModernAndLegacyWithChain() throws Exception {
    setUp();
    Path key = TestPki.write(dir, "leaf2.key", pki.leaf2Key.getPrivate());
    TestPki.write(dir, "leaf2.pem", pki.leafUnderInter);
    TestPki.write(dir, "inter.pem", pki.inter);
    Path chain = TestPki.write(dir, "chain.pem", pki.leafUnderInter, pki.inter);
    byte[] reference = sign(SigningCredentials.fromPem(key, chain, KeyPassword.none()));

    OpenSsl.ok(dir, "pkcs12", "-export", "-inkey", "leaf2.key", "-in", "leaf2.pem", "-certfile", "inter.pem",
        "-out", "signer.p12", "-passout", "file:pw.txt");
    SigningCredentials c = SigningCredentials.load(dir.resolve("signer.p12"), null, KeyPassword.fromFile(dir.resolve("pw.txt")));
    assertEquals(List.of(pki.leafUnderInter, pki.inter), c.chain());
    assertEquals(3072, c.keyBits());
    assertArrayEquals(reference, sign(c));

    OpenSsl.ok(dir, "pkcs12", "-export", "-inkey", "leaf2.key", "-in", "leaf2.pem", "-certfile", "inter.pem",
        "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1",
        "-out", "legacy.p12", "-passout", "file:pw.txt");
    assertArrayEquals(reference, sign(SigningCredentials.fromPkcs12(dir.resolve("legacy.p12"),
        KeyPassword.fromFile(dir.resolve("pw.txt")))));
  }

  @Test
  void passwordFileTakesTheFirstLineOnly() throws Exception {
    byte[] reference = setUp();
    OpenSsl.ok(dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "key.pem", "-out", "enc.pem", "-passout", "file:pw.txt");
    TestPki.writeText(dir, "pw-crlf.txt", PASSWORD + "\r\nsecond line\r\n");
    assertArrayEquals(reference, sign(SigningCredentials.fromPem(dir.resolve("enc.pem"), dir.resolve("leaf.pem"),
        KeyPassword.fromFile(dir.resolve("pw-crlf.txt")))));
  }

  @Test
  void refusesA1024BitKey() throws Exception {
    setUp();
    Path key = TestPki.write(dir, "weak.key", pki.weakKey.getPrivate());
    Path cert = TestPki.write(dir, "weak.pem", pki.weakLeaf);
    SigningException e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(key, cert, KeyPassword.none()));
    assertTrue(e.getMessage().contains("1024 bits") && e.getMessage().contains("2048"), e.getMessage());
  }

  @Test
  void refusesAnEcKeyFromPkcs8AndSec1() throws Exception {
    setUp();
    Path key = TestPki.write(dir, "ec.key", pki.ecKey.getPrivate());
    Path cert = TestPki.write(dir, "ec.pem", pki.ecLeaf);
    SigningException e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(key, cert, KeyPassword.none()));
    assertTrue(e.getMessage().contains("EC key") && e.getMessage().contains("RSA"), e.getMessage());
    OpenSsl.ok(dir, "ec", "-in", "ec.key", "-out", "sec1.pem");
    assertTrue(Files.readString(dir.resolve("sec1.pem")).contains("BEGIN EC PRIVATE KEY"));
    e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(dir.resolve("sec1.pem"), cert, KeyPassword.none()));
    assertTrue(e.getMessage().contains("EC key"), e.getMessage());
    // openssl's own EC key output (with an EC PARAMETERS block)
    OpenSsl.ok(dir, "ecparam", "-name", "prime256v1", "-genkey", "-out", "ecparam.pem");
    e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(dir.resolve("ecparam.pem"), cert, KeyPassword.none()));
    assertTrue(e.getMessage().contains("EC key"), e.getMessage());
  }

  @Test
  void refusesAnRsaPssKey() throws Exception {
    setUp();
    OpenSsl.ok(dir, "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "pss.key");
    SigningException e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(dir.resolve("pss.key"), dir.resolve("leaf.pem"), KeyPassword.none()));
    assertTrue(e.getMessage().contains("RSASSA-PSS key") && e.getMessage().contains("PKCS#1 v1.5"), e.getMessage());
  }

  @Test
  void refusesAKeyThatIsNotTheFirstCertificates() throws Exception {
    setUp();
    Path key = dir.resolve("key.pem");
    SigningException e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(key, TestPki.write(dir, "other.pem", pki.otherLeaf), KeyPassword.none()));
    assertTrue(e.getMessage().contains("does not belong to the first certificate"), e.getMessage());
    // the right certificate, but not first
    e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(key, TestPki.write(dir, "order.pem", pki.ca, pki.leaf), KeyPassword.none()));
    assertTrue(e.getMessage().contains("does not belong to the first certificate"), e.getMessage());
    e = assertThrows(SigningException.class,
        () -> SigningCredentials.fromPem(key, TestPki.writeText(dir, "empty.pem", ""), KeyPassword.none()));
    assertTrue(e.getMessage().contains("no certificate"), e.getMessage());
  }

  /**
   * Plants a password and a key, provokes every failure of loading, and checks that no exception
   * message (down the cause chain) and no toString() contains the password or key material.
   */
  @Test
  void neitherPasswordNorKeyMaterialAppearsInMessagesOrToString() throws Exception {
    setUp();
    Path keyPem = dir.resolve("key.pem");
    Path cert = dir.resolve("leaf.pem");
    OpenSsl.ok(dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "key.pem", "-out", "enc.pem", "-passout", "file:pw.txt");
    OpenSsl.ok(dir, "rsa", "-in", "key.pem", "-traditional", "-aes256", "-out", "rsa-enc.pem", "-passout", "file:pw.txt");
    OpenSsl.ok(dir, "pkcs12", "-export", "-inkey", "key.pem", "-in", "leaf.pem", "-out", "signer.p12",
        "-passout", "file:pw.txt");
    Path enc = dir.resolve("enc.pem");
    Path rsaEnc = dir.resolve("rsa-enc.pem");
    Path p12 = dir.resolve("signer.p12");
    Path wrongPw = TestPki.writeText(dir, "wrong.txt", "not-" + PASSWORD);
    // a key file corrupted in the middle of its base64
    String keyText = Files.readString(keyPem);
    Path corrupt = TestPki.writeText(dir, "corrupt.pem", keyText.substring(0, 200) + "!!!" + keyText.substring(203));
    Path truncated = TestPki.writeText(dir, "truncated.pem", keyText.substring(0, keyText.length() / 2)
        + "\n-----END PRIVATE KEY-----\n");
    // the password itself planted as the content of a "key" file and of a "certificate" file
    Path passwordAsKey = TestPki.writeText(dir, "pwkey.pem", "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getEncoder().encodeToString(PASSWORD.getBytes(StandardCharsets.US_ASCII)) + "\n-----END PRIVATE KEY-----\n");
    Path keyAsCert = TestPki.writeText(dir, "keycert.pem", keyText.replace("PRIVATE KEY", "CERTIFICATE"));
    Path otherCert = TestPki.write(dir, "o.pem", pki.otherLeaf);
    Path binaryPw = dir.resolve("binary-pw.txt");
    Files.write(binaryPw, new byte[] {(byte) 0xff, (byte) 0xfe, 'x'});

    List<Supplier<Object>> failures = List.of(
        () -> SigningCredentials.fromPem(enc, cert, KeyPassword.none()),
        () -> SigningCredentials.fromPem(enc, cert, KeyPassword.fromFile(wrongPw)),
        () -> SigningCredentials.fromPem(rsaEnc, cert, KeyPassword.fromFile(wrongPw)),
        () -> SigningCredentials.fromPem(rsaEnc, cert, KeyPassword.fromFile(dir.resolve("missing.txt"))),
        () -> SigningCredentials.fromPem(rsaEnc, cert, KeyPassword.fromFile(binaryPw)),
        () -> SigningCredentials.fromPem(enc, cert, KeyPassword.fromEnvironment("NOT_SET_ANYWHERE", Map.of())),
        () -> SigningCredentials.fromPem(enc, cert, KeyPassword.of(("x" + PASSWORD).toCharArray())),
        () -> SigningCredentials.fromPkcs12(p12, KeyPassword.fromFile(wrongPw)),
        () -> SigningCredentials.fromPkcs12(p12, KeyPassword.none()),
        () -> SigningCredentials.fromPkcs12(p12, KeyPassword.fromFile(dir.resolve("pw.txt")), "no-such-alias"),
        () -> SigningCredentials.fromPkcs12(keyPem, KeyPassword.fromFile(dir.resolve("pw.txt"))),
        () -> SigningCredentials.load(p12, cert, KeyPassword.fromFile(dir.resolve("pw.txt"))),
        () -> SigningCredentials.fromPem(corrupt, cert, KeyPassword.none()),
        () -> SigningCredentials.fromPem(truncated, cert, KeyPassword.none()),
        () -> SigningCredentials.fromPem(passwordAsKey, cert, KeyPassword.none()),
        () -> SigningCredentials.fromPem(keyPem, keyAsCert, KeyPassword.none()),
        () -> SigningCredentials.fromPem(keyPem, otherCert, KeyPassword.none()),
        () -> new CmsRootHashSigner(SigningCredentials.fromPem(enc, cert, KeyPassword.fromFile(dir.resolve("pw.txt"))))
            .sign(LAYER, PASSWORD));

    RSAPrivateCrtKey key = (RSAPrivateCrtKey) pki.leafKey.getPrivate();
    List<String> secrets = new ArrayList<>(List.of(PASSWORD,
        Base64.getEncoder().encodeToString(PASSWORD.getBytes(StandardCharsets.US_ASCII)),
        hex(PASSWORD.getBytes(StandardCharsets.US_ASCII))));
    for (BigInteger n : List.of(key.getPrivateExponent(), key.getPrimeP(), key.getPrimeQ(), key.getModulus())) {
      secrets.add(n.toString().substring(0, 40));
      secrets.add(n.toString(16).substring(0, 40));
    }
    // every base64 line of the key files
    for (Path p : List.of(keyPem, enc, rsaEnc)) {
      for (String line : Files.readAllLines(p)) {
        if (!line.startsWith("-----") && !line.contains(":") && line.length() >= 40) {
          secrets.add(line.substring(0, 40));
        }
      }
    }

    int failed = 0;
    for (Supplier<Object> f : failures) {
      Throwable t = assertThrows(RuntimeException.class, f::get);
      failed++;
      for (Throwable c = t; c != null; c = c.getCause()) {
        assertNoSecret(secrets, String.valueOf(c.getMessage()));
        assertNoSecret(secrets, c.toString());
        for (Throwable s : c.getSuppressed()) {
          assertNoSecret(secrets, s.toString());
        }
      }
    }
    assertEquals(failures.size(), failed);

    SigningCredentials good = SigningCredentials.fromPem(enc, cert, KeyPassword.fromFile(dir.resolve("pw.txt")));
    for (Object o : List.of(good, new CmsRootHashSigner(good), KeyPassword.fromFile(dir.resolve("pw.txt")),
        KeyPassword.of(PASSWORD.toCharArray()), KeyPassword.fromEnvironment("X", Map.of("X", PASSWORD)),
        SigningCredentials.fromPkcs12(p12, KeyPassword.fromFile(dir.resolve("pw.txt"))))) {
      assertNoSecret(secrets, o.toString());
    }
    assertTrue(good.toString().contains("CN=Layer Signer"), good.toString());
  }

  private static void assertNoSecret(List<String> secrets, String text) {
    for (String s : secrets) {
      assertFalse(text.contains(s), () -> "secret leaked into: " + text);
    }
  }

  private static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b) {
      sb.append(String.format("%02x", x));
    }
    return sb.toString();
  }

  @Test
  void clearMessagesForMissingOrWrongPasswords() throws Exception {
    setUp();
    OpenSsl.ok(dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "key.pem", "-out", "enc.pem", "-passout", "file:pw.txt");
    Path enc = dir.resolve("enc.pem");
    Path cert = dir.resolve("leaf.pem");
    SigningException e = assertThrows(SigningException.class, () -> SigningCredentials.fromPem(enc, cert, KeyPassword.none()));
    assertTrue(e.getMessage().contains("is encrypted"), e.getMessage());
    e = assertThrows(SigningException.class, () -> SigningCredentials.fromPem(enc, cert,
        KeyPassword.fromEnvironment("SIGNING_PW", Map.of())));
    assertTrue(e.getMessage().contains("environment variable SIGNING_PW is not set"), e.getMessage());
    e = assertThrows(SigningException.class, () -> SigningCredentials.fromPem(enc, cert,
        KeyPassword.fromEnvironment("SIGNING_PW", Map.of("SIGNING_PW", "wrong"))));
    assertTrue(e.getMessage().contains("cannot decrypt") && e.getMessage().contains("SIGNING_PW"), e.getMessage());
    e = assertThrows(SigningException.class, () -> SigningCredentials.fromPem(dir.resolve("ca.pem"), cert, KeyPassword.none()));
    assertTrue(e.getMessage().contains("no private key"), e.getMessage());
  }
}

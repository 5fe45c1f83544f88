package dev.erofspipeline.publish.signing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.SignedData;
import org.bouncycastle.asn1.cms.SignerInfo;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CmsRootHashSignerTest {

  static final String ROOT_HASH = "5f0c5e8c0ab3d1f0c0d6c3e2a1b4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c";
  static final String LAYER = "sha256:" + "ab".repeat(32);

  final TestPki pki = TestPki.get();

  @TempDir Path dir;

  private SigningCredentials leafCredentials() throws Exception {
    Path key = TestPki.write(dir, "leaf.key", pki.leafKey.getPrivate());
    Path cert = TestPki.write(dir, "leaf.pem", pki.leaf);
    return SigningCredentials.fromPem(key, cert, KeyPassword.none());
  }

  @Test
  void signingTwiceGivesTheSameBytes() throws Exception {
    CmsRootHashSigner signer = new CmsRootHashSigner(leafCredentials());
    byte[] a = signer.sign(LAYER, ROOT_HASH);
    byte[] b = signer.sign(LAYER, ROOT_HASH);
    assertArrayEquals(a, b);
    // and another signer instance over freshly loaded credentials too
    assertArrayEquals(a, new CmsRootHashSigner(leafCredentials()).sign("sha256:" + "cd".repeat(32), ROOT_HASH));
  }

  @Test
  void concurrentSigningGivesTheSameBytes() throws Exception {
    CmsRootHashSigner signer = new CmsRootHashSigner(leafCredentials());
    byte[] expected = signer.sign(LAYER, ROOT_HASH);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<byte[]>> results = new java.util.ArrayList<>();
      for (int i = 0; i < 16; i++) {
        results.add(pool.submit(() -> signer.sign(LAYER, ROOT_HASH)));
      }
      for (java.util.concurrent.Future<byte[]> f : results) {
        assertArrayEquals(expected, f.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void structureIsDetachedSha256RsaPkcs1WithoutSignedAttributesAndWithTheCertificate() throws Exception {
    byte[] der = new CmsRootHashSigner(leafCredentials()).sign(LAYER, ROOT_HASH);
    ContentInfo ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(der));
    assertEquals(CMSObjectIdentifiers.signedData, ci.getContentType());
    SignedData sd = SignedData.getInstance(ci.getContent());
    assertEquals(1, sd.getVersion().intValueExact());
    assertEquals(CMSObjectIdentifiers.data, sd.getEncapContentInfo().getContentType());
    assertNull(sd.getEncapContentInfo().getContent(), "detached");
    assertEquals(1, sd.getCertificates().size());
    assertArrayEquals(pki.leaf.getEncoded(), sd.getCertificates().getObjectAt(0).toASN1Primitive().getEncoded());
    assertEquals(1, sd.getSignerInfos().size());
    SignerInfo si = SignerInfo.getInstance(sd.getSignerInfos().getObjectAt(0));
    assertEquals(1, si.getVersion().intValueExact());
    assertNull(si.getAuthenticatedAttributes());
    assertNull(si.getUnauthenticatedAttributes());
    assertEquals(NISTObjectIdentifiers.id_sha256, si.getDigestAlgorithm().getAlgorithm());
    assertEquals(DERNull.INSTANCE, si.getDigestAlgorithm().getParameters());
    assertEquals(PKCSObjectIdentifiers.rsaEncryption, si.getDigestEncryptionAlgorithm().getAlgorithm());
    assertEquals(256, si.getEncryptedDigest().getOctets().length);
  }

  @Test
  void sameBytesAsOpensslSmimeNoattr() throws Exception {
    byte[] ours = new CmsRootHashSigner(leafCredentials()).sign(LAYER, ROOT_HASH);
    Files.writeString(dir.resolve("roothash.txt"), ROOT_HASH);
    OpenSsl.ok(dir, "smime", "-sign", "-noattr", "-binary", "-outform", "DER", "-md", "sha256",
        "-signer", "leaf.pem", "-inkey", "leaf.key", "-in", "roothash.txt", "-out", "openssl.p7s");
    assertArrayEquals(Files.readAllBytes(dir.resolve("openssl.p7s")), ours);
  }

  @Test
  void sameBytesAsOpensslSmimeNoattrWithAChain() throws Exception {
    Path key = TestPki.write(dir, "leaf2.key", pki.leaf2Key.getPrivate());
    Path chain = TestPki.write(dir, "chain.pem", pki.leafUnderInter, pki.inter);
    TestPki.write(dir, "leaf2.pem", pki.leafUnderInter);
    TestPki.write(dir, "inter.pem", pki.inter);
    byte[] ours = new CmsRootHashSigner(SigningCredentials.fromPem(key, chain, KeyPassword.none()))
        .sign(LAYER, ROOT_HASH);
    Files.writeString(dir.resolve("roothash.txt"), ROOT_HASH);
    OpenSsl.ok(dir, "smime", "-sign", "-noattr", "-binary", "-outform", "DER", "-md", "sha256",
        "-signer", "leaf2.pem", "-inkey", "leaf2.key", "-certfile", "inter.pem", "-in", "roothash.txt",
        "-out", "openssl.p7s");
    assertArrayEquals(Files.readAllBytes(dir.resolve("openssl.p7s")), ours);
    SignedData sd = SignedData.getInstance(ContentInfo.getInstance(ASN1Primitive.fromByteArray(ours)).getContent());
    assertEquals(2, sd.getCertificates().size());
  }

  @Test
  void opensslCmsVerifyAcceptsItAndPrintsNoSignedAttributes() throws Exception {
    byte[] ours = new CmsRootHashSigner(leafCredentials()).sign(LAYER, ROOT_HASH);
    Files.write(dir.resolve("sig.p7s"), ours);
    Files.writeString(dir.resolve("roothash.txt"), ROOT_HASH);
    TestPki.write(dir, "ca.pem", pki.ca);
    OpenSsl.Result r = OpenSsl.ok(dir, "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.p7s",
        "-content", "roothash.txt", "-CAfile", "ca.pem", "-purpose", "any", "-out", "verified.txt");
    assertTrue(r.stderr().contains("Verification successful"), r.stderr());
    assertEquals(ROOT_HASH, Files.readString(dir.resolve("verified.txt")));

    String printed = OpenSsl.ok(dir, "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.p7s").stdout();
    assertTrue(printed.matches("(?s).*signedAttrs:\\s*<ABSENT>.*"), printed);
    assertTrue(printed.matches("(?s).*eContent: <ABSENT>.*"), printed);
    assertTrue(printed.contains("algorithm: sha256 (2.16.840.1.101.3.4.2.1)"), printed);
    assertTrue(printed.contains("algorithm: rsaEncryption (1.2.840.113549.1.1.1)"), printed);

    // and a different root hash is refused by openssl
    Files.writeString(dir.resolve("other.txt"), ROOT_HASH.replace('5', '6'));
    assertTrue(OpenSsl.run(dir, java.util.Map.of(), "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.p7s",
        "-content", "other.txt", "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null").exitCode() != 0);
  }

  @Test
  void opensslVerifiesTheChainVariantThroughTheEmbeddedIntermediate() throws Exception {
    Path key = TestPki.write(dir, "leaf2.key", pki.leaf2Key.getPrivate());
    Path chain = TestPki.write(dir, "chain.pem", pki.leafUnderInter, pki.inter);
    Files.write(dir.resolve("sig.p7s"), new CmsRootHashSigner(SigningCredentials.fromPem(key, chain,
        KeyPassword.none())).sign(LAYER, ROOT_HASH));
    Files.writeString(dir.resolve("roothash.txt"), ROOT_HASH);
    TestPki.write(dir, "ca.pem", pki.ca);
    OpenSsl.ok(dir, "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.p7s",
        "-content", "roothash.txt", "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null");
  }

  @Test
  void refusesARootHashThatIsNot64LowercaseHex() throws Exception {
    CmsRootHashSigner signer = new CmsRootHashSigner(leafCredentials());
    for (String bad : List.of(ROOT_HASH.toUpperCase(), ROOT_HASH.substring(1), ROOT_HASH + "\n", ROOT_HASH + "0",
        "sha256:" + ROOT_HASH.substring(7), ROOT_HASH.replace('a', 'g'), "", " " + ROOT_HASH.substring(1))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> signer.sign(LAYER, bad), bad);
      assertTrue(e.getMessage().contains("64 lowercase hex"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> signer.sign(LAYER, null));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> signer.sign("not a digest", ROOT_HASH));
    assertTrue(e.getMessage().contains("layer digest"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> signer.sign(null, ROOT_HASH));
  }
}

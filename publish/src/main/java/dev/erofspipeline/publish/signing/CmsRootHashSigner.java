package dev.erofspipeline.publish.signing;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.cms.SignedData;
import org.bouncycastle.asn1.cms.SignerIdentifier;
import org.bouncycastle.asn1.cms.SignerInfo;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Certificate;

/**
 * The built-in {@link RootHashSigner}: a local RSA key ({@link SigningCredentials}).
 *
 * <p>Output, field by field (the same as {@code openssl smime -sign -noattr -binary -outform DER -md
 * sha256 -signer SIGNER -inkey KEY [-certfile REST-OF-CHAIN]}, byte for byte):
 *
 * <pre>
 * ContentInfo { contentType id-signedData,
 *   SignedData { version 1,
 *     digestAlgorithms SET { sha256 (parameters NULL) },
 *     encapContentInfo { id-data } (detached: no content),
 *     certificates [0] the configured chain, as a DER SET (sorted by encoding, as OpenSSL writes it),
 *     signerInfos SET { SignerInfo { version 1, issuerAndSerialNumber of the signer certificate,
 *       digestAlgorithm sha256 (NULL), no signedAttrs, signatureAlgorithm rsaEncryption (NULL),
 *       signature = RSASSA-PKCS1-v1_5(SHA-256(the 64 ASCII bytes of the root hash)),
 *       no unsignedAttrs } } } }
 * </pre>
 *
 * <p>With no signed attributes (no signing time) and PKCS#1 v1.5 padding, the bytes depend only
 * on the key, the chain and the root hash: signing twice gives the same bytes. Thread-safe.
 */
public final class CmsRootHashSigner implements RootHashSigner {

  private static final AlgorithmIdentifier SHA256 =
      new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256, DERNull.INSTANCE);
  private static final AlgorithmIdentifier RSA_ENCRYPTION =
      new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE);

  private final SigningCredentials credentials;
  private final IssuerAndSerialNumber signerId;
  private final DERSet certificates;

  public CmsRootHashSigner(SigningCredentials credentials) {
    this.credentials = Objects.requireNonNull(credentials, "credentials");
    List<X509Certificate> chain = credentials.chain();
    ASN1Encodable[] certs = new ASN1Encodable[chain.size()];
    try {
      for (int i = 0; i < certs.length; i++) {
        certs[i] = Certificate.getInstance(chain.get(i).getEncoded());
      }
    } catch (CertificateEncodingException | IllegalArgumentException e) {
      throw new SigningException("cannot encode the signing certificate chain: " + e.getMessage(), e);
    }
    this.signerId = new IssuerAndSerialNumber((Certificate) certs[0]);
    this.certificates = new DERSet(certs);
  }

  @Override
  public byte[] sign(String layerDigest, String rootHash) {
    RootHashes.requireLayerDigest(layerDigest);
    byte[] content = RootHashes.signedContent(rootHash);
    byte[] signature;
    try {
      Signature s = Signature.getInstance("SHA256withRSA");
      s.initSign(credentials.privateKey());
      s.update(content);
      signature = s.sign();
    } catch (GeneralSecurityException e) {
      throw new SigningException("signing the root hash of " + layerDigest + " failed ("
          + e.getClass().getSimpleName() + ")");
    }
    SignerInfo signerInfo = new SignerInfo(new SignerIdentifier(signerId), SHA256, (ASN1Set) null,
        RSA_ENCRYPTION, new DEROctetString(signature), (ASN1Set) null);
    SignedData signedData = new SignedData(new DERSet(SHA256), new ContentInfo(CMSObjectIdentifiers.data, null),
        certificates, null, new DERSet(signerInfo));
    try {
      return new ContentInfo(CMSObjectIdentifiers.signedData, signedData).getEncoded(ASN1Encoding.DER);
    } catch (IOException e) {
      throw new SigningException("encoding the signature of " + layerDigest + " failed", e);
    }
  }

  /** The credentials this signer uses (their {@code toString()} shows no secret). */
  public SigningCredentials credentials() {
    return credentials;
  }

  @Override
  public String toString() {
    return "CmsRootHashSigner[" + credentials + "]";
  }
}

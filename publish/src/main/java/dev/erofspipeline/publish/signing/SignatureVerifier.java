package dev.erofspipeline.publish.signing;

import dev.erofspipeline.publish.signing.SignatureRejectedException.Reason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertStore;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXCertPathBuilderResult;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.crypto.Cipher;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Null;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.cms.SignedData;
import org.bouncycastle.asn1.cms.SignerIdentifier;
import org.bouncycastle.asn1.cms.SignerInfo;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.DigestInfo;
import org.bouncycastle.asn1.x509.Extension;

/**
 * Checks a root-hash signature (consumer contract, section 4) before it is published, whoever made
 * it (the built-in signer or an external one).
 *
 * <p>Accepted only if: the DER is one CMS/PKCS#7 {@code SignedData}, detached, content type
 * id-data, exactly one SignerInfo without signed attributes; digest SHA-256 and signature RSA
 * PKCS#1 v1.5 ({@code rsaEncryption} or {@code sha256WithRSAEncryption}); the signer certificate is
 * embedded, its key RSA of 2048 bits or more; the signature verifies over exactly the 64 ASCII bytes
 * of the root hash; the signer certificate and the chain are valid now and chain to one of the trust
 * anchors (PKIX, embedded certificates as intermediates, revocation checking off); a key usage
 * extension, if present, allows digitalSignature; and (unless disabled) the signer certificate has
 * the Code Signing extended key usage ({@code 1.3.6.1.5.5.7.3.3}; anyExtendedKeyUsage does not
 * count). Thread-safe.
 */
public final class SignatureVerifier {

  /** id-kp-codeSigning. */
  public static final String CODE_SIGNING_EKU = "1.3.6.1.5.5.7.3.3";

  private final Set<TrustAnchor> anchors;
  private final Set<X509Certificate> anchorCertificates;
  private final boolean requireCodeSigningEku;
  private final Clock clock;

  private SignatureVerifier(Builder b) {
    if (b.anchors.isEmpty()) {
      throw new IllegalArgumentException("no trust anchors: give at least one CA certificate");
    }
    Set<TrustAnchor> a = new HashSet<>();
    for (X509Certificate c : b.anchors) {
      a.add(new TrustAnchor(c, null));
    }
    this.anchors = Set.copyOf(a);
    this.anchorCertificates = Set.copyOf(b.anchors);
    this.requireCodeSigningEku = b.requireCodeSigningEku;
    this.clock = b.clock;
  }

  /** A verifier trusting the certificates of a PEM bundle, with the default checks. */
  public static SignatureVerifier fromCaBundle(Path caBundle) {
    return builder().caBundle(caBundle).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Configures a {@link SignatureVerifier}. */
  public static final class Builder {
    private final Set<X509Certificate> anchors = new LinkedHashSet<>();
    private boolean requireCodeSigningEku = true;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** Adds every certificate of a PEM file as a trust anchor. */
    public Builder caBundle(Path pem) {
      List<X509Certificate> certs = Pem.certificates(Objects.requireNonNull(pem, "pem"));
      if (certs.isEmpty()) {
        throw new IllegalArgumentException("no PEM certificate in CA bundle " + pem);
      }
      anchors.addAll(certs);
      return this;
    }

    public Builder trustAnchors(Collection<X509Certificate> certificates) {
      anchors.addAll(certificates);
      return this;
    }

    /** Whether the signer certificate must carry the Code Signing EKU (default true). */
    public Builder requireCodeSigningEku(boolean require) {
      this.requireCodeSigningEku = require;
      return this;
    }

    /** The clock certificate validity is checked against (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public SignatureVerifier build() {
      return new SignatureVerifier(this);
    }
  }

  /**
   * Verifies {@code signature} for {@code rootHash}.
   *
   * @return the signer certificate's subject (RFC 2253)
   * @throws IllegalArgumentException if {@code rootHash} is not 64 lowercase hex characters
   * @throws SignatureRejectedException naming the reason the signature is refused
   */
  public String verify(String rootHash, byte[] signature) throws SignatureRejectedException {
    return verify(rootHash, signature, List.of());
  }

  /**
   * As {@link #verify(String, byte[])}, with extra certificates (e.g. the chain an external signer
   * sent along) usable as intermediates. The signer certificate must still be embedded.
   */
  public String verify(String rootHash, byte[] signature, Collection<X509Certificate> extraIntermediates)
      throws SignatureRejectedException {
    byte[] content = RootHashes.signedContent(rootHash);
    Objects.requireNonNull(signature, "signature");
    Objects.requireNonNull(extraIntermediates, "extraIntermediates");

    SignedData signedData = parse(signature);
    SignerInfo signerInfo;
    List<X509Certificate> embedded;
    X509Certificate signer;
    try {
      // Bouncy Castle checks some field types only when they are read: any surprise is malformed input.
      signerInfo = checkShape(signedData);
      embedded = embeddedCertificates(signedData);
      signer = findSigner(signerInfo.getSID(), embedded);
      checkAlgorithms(signerInfo, signer);
      signerInfo.getEncryptedDigest().getOctets();
    } catch (RuntimeException e) {
      throw new SignatureRejectedException(Reason.MALFORMED, "malformed SignedData (" + e.getClass().getSimpleName()
          + ")");
    }
    checkSignatureValue(signerInfo, signer, content, rootHash);

    Date now = Date.from(clock.instant());
    checkValidity(signer, now, "signer certificate");
    List<X509Certificate> intermediates = new ArrayList<>(embedded);
    intermediates.addAll(extraIntermediates);
    checkChain(signer, intermediates, now);
    checkUsage(signer);
    return signer.getSubjectX500Principal().getName();
  }

  private static SignedData parse(byte[] der) throws SignatureRejectedException {
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(der);
      ContentInfo ci = ContentInfo.getInstance(p);
      if (ci == null || !CMSObjectIdentifiers.signedData.equals(ci.getContentType())) {
        throw new SignatureRejectedException(Reason.MALFORMED, "not a CMS/PKCS#7 SignedData (content type "
            + (ci == null ? "missing" : ci.getContentType().getId()) + ")");
      }
      if (ci.getContent() == null) {
        throw new SignatureRejectedException(Reason.MALFORMED, "SignedData without content");
      }
      return SignedData.getInstance(ci.getContent());
    } catch (IOException | RuntimeException e) {
      throw new SignatureRejectedException(Reason.MALFORMED, "not a DER CMS/PKCS#7 SignedData ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
    }
  }

  private static SignerInfo checkShape(SignedData sd) throws SignatureRejectedException {
    try {
      ContentInfo encap = sd.getEncapContentInfo();
      if (!CMSObjectIdentifiers.data.equals(encap.getContentType())) {
        throw new SignatureRejectedException(Reason.MALFORMED, "encapsulated content type is "
            + encap.getContentType().getId() + ", not id-data");
      }
      if (encap.getContent() != null) {
        throw new SignatureRejectedException(Reason.MALFORMED,
            "the signature embeds its content; a detached signature is required (the kernel supplies the root hash)");
      }
      ASN1Set infos = sd.getSignerInfos();
      if (infos.size() != 1) {
        throw new SignatureRejectedException(Reason.MALFORMED, "expected exactly one SignerInfo, found " + infos.size());
      }
      SignerInfo si = SignerInfo.getInstance(infos.getObjectAt(0));
      boolean bySubjectKeyId = si.getSID().getId() instanceof ASN1OctetString;
      int expectedSignerInfoVersion = bySubjectKeyId ? 3 : 1;
      if (si.getVersion().intValueExact() != expectedSignerInfoVersion) {
        throw new SignatureRejectedException(Reason.MALFORMED, "SignerInfo version " + si.getVersion().getValue()
            + ", expected " + expectedSignerInfoVersion);
      }
      int version = sd.getVersion().intValueExact();
      if (version != 1 && version != 3) {
        throw new SignatureRejectedException(Reason.MALFORMED, "SignedData version " + version + ", expected 1 (or 3)");
      }
      ASN1Set digests = sd.getDigestAlgorithms();
      if (digests.size() == 0) {
        throw new SignatureRejectedException(Reason.MALFORMED, "SignedData lists no digest algorithm");
      }
      for (ASN1Encodable d : digests) {
        AlgorithmIdentifier alg = AlgorithmIdentifier.getInstance(d);
        if (!NISTObjectIdentifiers.id_sha256.equals(alg.getAlgorithm()) || !nullOrAbsent(alg)) {
          throw new SignatureRejectedException(Reason.UNSUPPORTED_ALGORITHM, "SignedData lists digest algorithm "
              + alg.getAlgorithm().getId() + "; only SHA-256 (" + NISTObjectIdentifiers.id_sha256.getId() + ")");
        }
      }
      if (si.getAuthenticatedAttributes() != null) {
        throw new SignatureRejectedException(Reason.SIGNED_ATTRIBUTES,
            "the signature has signed attributes; sign without them (openssl smime -noattr)");
      }
      return si;
    } catch (RuntimeException e) {
      throw new SignatureRejectedException(Reason.MALFORMED, "malformed SignedData ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
    }
  }

  private static List<X509Certificate> embeddedCertificates(SignedData sd) throws SignatureRejectedException {
    List<X509Certificate> out = new ArrayList<>();
    ASN1Set certs = sd.getCertificates();
    if (certs == null) {
      return out;
    }
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      for (ASN1Encodable e : certs) {
        if (e.toASN1Primitive() instanceof ASN1Sequence) { // skip other certificate choices (tagged)
          // An RSA signature is whole octets; unused bits would let the same certificate be encoded
          // several ways (the JDK reads the octets and ignores the count).
          if (org.bouncycastle.asn1.x509.Certificate.getInstance(e).getSignature().getPadBits() != 0) {
            throw new SignatureRejectedException(Reason.MALFORMED,
                "embedded certificate whose signature has unused bits (not a whole number of octets)");
          }
          out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(e.toASN1Primitive().getEncoded())));
        }
      }
    } catch (GeneralSecurityException | IOException | RuntimeException e) {
      throw new SignatureRejectedException(Reason.MALFORMED, "unreadable embedded certificate ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
    }
    return out;
  }

  private static X509Certificate findSigner(SignerIdentifier sid, List<X509Certificate> certs)
      throws SignatureRejectedException {
    ASN1Encodable id = sid.getId();
    if (id instanceof ASN1OctetString) {
      byte[] ski = ((ASN1OctetString) id).getOctets();
      for (X509Certificate c : certs) {
        byte[] ext = c.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ext != null && Arrays.equals(
            ASN1OctetString.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getOctets(), ski)) {
          return c;
        }
      }
      throw new SignatureRejectedException(Reason.SIGNER_CERTIFICATE_MISSING,
          "no embedded certificate has the signer's subject key identifier (" + certs.size() + " embedded)");
    }
    IssuerAndSerialNumber ias = IssuerAndSerialNumber.getInstance(id);
    X500Principal issuer;
    try {
      issuer = new X500Principal(ias.getName().getEncoded());
    } catch (IOException | RuntimeException e) {
      throw new SignatureRejectedException(Reason.MALFORMED, "unreadable signer issuer name");
    }
    for (X509Certificate c : certs) {
      if (c.getSerialNumber().equals(ias.getSerialNumber().getValue()) && c.getIssuerX500Principal().equals(issuer)) {
        return c;
      }
    }
    throw new SignatureRejectedException(Reason.SIGNER_CERTIFICATE_MISSING, "the signer certificate (issuer "
        + issuer.getName() + ", serial " + ias.getSerialNumber().getValue().toString(16)
        + ") is not embedded in the signature (" + certs.size() + " certificate(s) embedded)");
  }

  private static void checkAlgorithms(SignerInfo si, X509Certificate signer) throws SignatureRejectedException {
    AlgorithmIdentifier digest = si.getDigestAlgorithm();
    if (!NISTObjectIdentifiers.id_sha256.equals(digest.getAlgorithm()) || !nullOrAbsent(digest)) {
      throw new SignatureRejectedException(Reason.UNSUPPORTED_ALGORITHM, "digest algorithm "
          + digest.getAlgorithm().getId() + " is not SHA-256 (" + NISTObjectIdentifiers.id_sha256.getId() + ")");
    }
    AlgorithmIdentifier sig = si.getDigestEncryptionAlgorithm();
    ASN1ObjectIdentifier oid = sig.getAlgorithm();
    if (PKCSObjectIdentifiers.id_RSASSA_PSS.equals(oid)) {
      throw new SignatureRejectedException(Reason.UNSUPPORTED_ALGORITHM,
          "RSA-PSS signature; the kernel's dm-verity check takes only RSA PKCS#1 v1.5");
    }
    if (!(PKCSObjectIdentifiers.rsaEncryption.equals(oid) || PKCSObjectIdentifiers.sha256WithRSAEncryption.equals(oid))
        || !nullOrAbsent(sig)) {
      throw new SignatureRejectedException(Reason.UNSUPPORTED_ALGORITHM, "signature algorithm " + oid.getId()
          + " is not RSA PKCS#1 v1.5 (rsaEncryption or sha256WithRSAEncryption)");
    }
    PublicKey key = signer.getPublicKey();
    if (!(key instanceof RSAPublicKey) || !"RSA".equals(key.getAlgorithm())) {
      throw new SignatureRejectedException(Reason.UNSUPPORTED_ALGORITHM, "the signer certificate's key is "
          + key.getAlgorithm() + ", not RSA");
    }
    int bits = ((RSAPublicKey) key).getModulus().bitLength();
    if (bits < SigningCredentials.MIN_RSA_BITS) {
      throw new SignatureRejectedException(Reason.WEAK_KEY, "the signer's RSA key has " + bits
          + " bits; at least " + SigningCredentials.MIN_RSA_BITS + " are required");
    }
  }

  private static boolean nullOrAbsent(AlgorithmIdentifier alg) {
    ASN1Encodable p = alg.getParameters();
    return p == null || p instanceof ASN1Null;
  }

  private static void checkSignatureValue(SignerInfo si, X509Certificate signer, byte[] content, String rootHash)
      throws SignatureRejectedException {
    byte[] value = si.getEncryptedDigest().getOctets();
    PublicKey key = signer.getPublicKey();
    try {
      Signature v = Signature.getInstance("SHA256withRSA");
      v.initVerify(key);
      v.update(content);
      if (v.verify(value)) {
        return;
      }
    } catch (GeneralSecurityException e) {
      // classified below
    }
    // Tell a signature over something else (valid PKCS#1 v1.5 block, other digest) from a corrupt one.
    try {
      Cipher rsa = Cipher.getInstance("RSA/ECB/PKCS1Padding");
      rsa.init(Cipher.DECRYPT_MODE, key);
      DigestInfo info = DigestInfo.getInstance(ASN1Primitive.fromByteArray(rsa.doFinal(value)));
      byte[] expected = MessageDigest.getInstance("SHA-256").digest(content);
      if (NISTObjectIdentifiers.id_sha256.equals(info.getAlgorithmId().getAlgorithm())
          && !MessageDigest.isEqual(expected, info.getDigest())) {
        throw new SignatureRejectedException(Reason.WRONG_CONTENT, "the signature is valid, but not over root hash "
            + rootHash + " (it signs other content)");
      }
    } catch (GeneralSecurityException | IOException | RuntimeException e) {
      // not a well-formed PKCS#1 v1.5 signature block: corrupt
    }
    throw new SignatureRejectedException(Reason.BAD_SIGNATURE, "the signature value does not verify with the key of "
        + signer.getSubjectX500Principal().getName() + " (corrupt or tampered signature)");
  }

  private static void checkValidity(X509Certificate c, Date when, String what) throws SignatureRejectedException {
    try {
      c.checkValidity(when);
    } catch (CertificateExpiredException e) {
      throw new SignatureRejectedException(Reason.EXPIRED, what + " " + c.getSubjectX500Principal().getName()
          + " expired at " + c.getNotAfter().toInstant());
    } catch (CertificateNotYetValidException e) {
      throw new SignatureRejectedException(Reason.NOT_YET_VALID, what + " " + c.getSubjectX500Principal().getName()
          + " is valid only from " + c.getNotBefore().toInstant());
    }
  }

  private void checkChain(X509Certificate signer, List<X509Certificate> intermediates, Date now)
      throws SignatureRejectedException {
    if (anchorCertificates.contains(signer)) {
      return; // the signer certificate is itself trusted
    }
    try {
      build(signer, intermediates, now);
      return;
    } catch (CertPathBuilderException e) {
      // Is there a path at some other time? Then a link of it is expired (or not yet valid) now.
      PKIXCertPathBuilderResult other = buildAtAnyTime(signer, intermediates);
      if (other != null) {
        for (java.security.cert.Certificate c : other.getCertPath().getCertificates()) {
          checkValidity((X509Certificate) c, now, "certificate");
        }
        X509Certificate anchor = other.getTrustAnchor().getTrustedCert();
        if (anchor != null) {
          checkValidity(anchor, now, "CA certificate");
        }
      }
      throw new SignatureRejectedException(Reason.UNTRUSTED_CHAIN, "the signer certificate "
          + signer.getSubjectX500Principal().getName() + " (issuer " + signer.getIssuerX500Principal().getName()
          + ") does not chain to a trusted CA (" + anchors.size() + " anchor(s)): " + e.getMessage());
    }
  }

  /** A path valid at the start or end of some certificate's validity, or null: for diagnosis only. */
  private PKIXCertPathBuilderResult buildAtAnyTime(X509Certificate signer, List<X509Certificate> intermediates) {
    Set<Date> dates = new java.util.TreeSet<>();
    List<X509Certificate> all = new ArrayList<>(intermediates);
    all.add(signer);
    all.addAll(anchorCertificates);
    for (X509Certificate c : all) {
      dates.add(c.getNotBefore());
      dates.add(new Date(c.getNotAfter().getTime() - 1000));
    }
    int attempts = 0;
    for (Date d : dates) {
      if (++attempts > 64) {
        break;
      }
      try {
        return build(signer, intermediates, d);
      } catch (CertPathBuilderException e) {
        // try the next
      }
    }
    return null;
  }

  private PKIXCertPathBuilderResult build(X509Certificate signer, List<X509Certificate> intermediates, Date date)
      throws CertPathBuilderException {
    try {
      X509CertSelector target = new X509CertSelector();
      target.setCertificate(signer);
      PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, target);
      params.setRevocationEnabled(false);
      params.setDate(date);
      List<X509Certificate> store = new ArrayList<>(intermediates);
      store.add(signer);
      params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(store)));
      return (PKIXCertPathBuilderResult) CertPathBuilder.getInstance("PKIX").build(params);
    } catch (InvalidAlgorithmParameterException | java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("PKIX is not available", e);
    }
  }

  private void checkUsage(X509Certificate signer) throws SignatureRejectedException {
    boolean[] ku = signer.getKeyUsage();
    if (ku != null && !ku[0] && !(ku.length > 1 && ku[1])) {
      throw new SignatureRejectedException(Reason.KEY_USAGE, "the signer certificate "
          + signer.getSubjectX500Principal().getName() + " has a key usage without digitalSignature");
    }
    if (!requireCodeSigningEku) {
      return;
    }
    List<String> eku;
    try {
      eku = signer.getExtendedKeyUsage();
    } catch (CertificateParsingException e) {
      throw new SignatureRejectedException(Reason.MALFORMED, "unreadable extended key usage in the signer certificate");
    }
    if (eku == null || !eku.contains(CODE_SIGNING_EKU)) {
      throw new SignatureRejectedException(Reason.MISSING_CODE_SIGNING_EKU, "the signer certificate "
          + signer.getSubjectX500Principal().getName() + " lacks the Code Signing extended key usage ("
          + CODE_SIGNING_EKU + ")" + (eku == null ? "; it has no EKU extension" : "; it has " + eku));
    }
  }

  @Override
  public String toString() {
    List<String> names = new ArrayList<>();
    for (X509Certificate c : anchorCertificates) {
      names.add(c.getSubjectX500Principal().getName());
    }
    return "SignatureVerifier[anchors=" + names + ", requireCodeSigningEku=" + requireCodeSigningEku + "]";
  }
}

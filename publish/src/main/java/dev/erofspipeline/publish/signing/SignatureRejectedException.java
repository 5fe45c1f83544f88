package dev.erofspipeline.publish.signing;

import java.util.Objects;

/** A root-hash signature failed verification; {@link #reason()} says why. */
public class SignatureRejectedException extends Exception {

  private static final long serialVersionUID = 1L;

  /** Why a signature was refused. */
  public enum Reason {
    /** Not a DER CMS SignedData, or not the shape of contract section 4 (one signer, detached, id-data). */
    MALFORMED("malformed signature"),
    /** Signed attributes present: the contract (like {@code openssl smime -noattr}) wants none. */
    SIGNED_ATTRIBUTES("signed attributes present"),
    /** Digest not SHA-256, or signature not RSA PKCS#1 v1.5 (e.g. RSA-PSS, ECDSA). */
    UNSUPPORTED_ALGORITHM("unsupported algorithm"),
    /** The signer's RSA key is shorter than 2048 bits. */
    WEAK_KEY("signer key too small"),
    /** The signer certificate named by the SignerInfo is not embedded. */
    SIGNER_CERTIFICATE_MISSING("signer certificate missing"),
    /** The signature value does not verify with the signer certificate's key (tampered or corrupt). */
    BAD_SIGNATURE("bad signature"),
    /** The signature is a valid signature, but over different content than this root hash. */
    WRONG_CONTENT("wrong content"),
    /** The signer certificate does not chain to a configured trust anchor. */
    UNTRUSTED_CHAIN("untrusted chain"),
    /** A certificate of the chain has expired. */
    EXPIRED("certificate expired"),
    /** A certificate of the chain is not yet valid. */
    NOT_YET_VALID("certificate not yet valid"),
    /** The signer certificate lacks the Code Signing extended key usage. */
    MISSING_CODE_SIGNING_EKU("missing code-signing EKU"),
    /** The signer certificate has a key usage extension without digitalSignature. */
    KEY_USAGE("key usage does not allow signing");

    private final String text;

    Reason(String text) {
      this.text = text;
    }

    /** A short human description, e.g. "untrusted chain". */
    public String text() {
      return text;
    }
  }

  private final Reason reason;

  public SignatureRejectedException(Reason reason, String detail) {
    super(Objects.requireNonNull(reason, "reason").text() + ": " + detail);
    this.reason = reason;
  }

  public SignatureRejectedException(Reason reason, String detail, Throwable cause) {
    super(Objects.requireNonNull(reason, "reason").text() + ": " + detail, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}

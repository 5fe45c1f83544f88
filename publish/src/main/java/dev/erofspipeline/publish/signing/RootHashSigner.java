package dev.erofspipeline.publish.signing;

/**
 * Signs the dm-verity root hash of one layer (consumer contract, section 4).
 *
 * <p>The result is a detached CMS/PKCS#7 {@code SignedData} in DER over the 64 ASCII bytes of the
 * lowercase hex root hash (no newline), with no signed attributes, the signer certificate embedded,
 * SHA-256 and RSA PKCS#1 v1.5: what {@code openssl smime -sign -noattr -binary -outform DER -md
 * sha256} produces and what the kernel's dm-verity {@code root_hash_sig_key_desc} check accepts.
 *
 * <p>{@link CmsRootHashSigner} is the built-in implementation; an external signer (HSM, KMS) answers
 * the same contract over Kafka. Either way the publisher checks every signature with
 * {@link SignatureVerifier} before publishing it.
 */
public interface RootHashSigner {

  /**
   * @param layerDigest the compressed layer digest as in the image manifest ({@code sha256:<hex>});
   *     it only names the layer (messages, routing), it is not signed
   * @param rootHash the root hash, 64 lowercase hex characters
   * @return the DER bytes of the detached signature
   * @throws IllegalArgumentException if the root hash is not 64 lowercase hex characters or the
   *     layer digest is malformed
   * @throws SigningException if signing fails
   */
  byte[] sign(String layerDigest, String rootHash);
}

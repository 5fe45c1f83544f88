/**
 * Root-hash signatures (consumer contract, section 4).
 *
 * <ul>
 *   <li>{@link dev.erofspipeline.publish.signing.RootHashSigner}: the signing contract; {@link
 *       dev.erofspipeline.publish.signing.CmsRootHashSigner} implements it with a local key and
 *       writes the same bytes as {@code openssl smime -sign -noattr -binary -outform DER -md sha256}.
 *   <li>{@link dev.erofspipeline.publish.signing.SigningCredentials}: the key and its chain, from PEM
 *       ({@code --signing-key FILE --signing-cert FILE}) or PKCS#12, with a {@link
 *       dev.erofspipeline.publish.signing.KeyPassword} from a file or an environment variable.
 *   <li>{@link dev.erofspipeline.publish.signing.SignatureVerifier}: what every signature, built-in
 *       or external, must pass before it is published; refusals are {@link
 *       dev.erofspipeline.publish.signing.SignatureRejectedException} with a reason.
 * </ul>
 *
 * <p>Typical use:
 *
 * <pre>{@code
 * SigningCredentials creds = SigningCredentials.load(keyFile, certFile, KeyPassword.fromEnvironment("SIGNING_KEY_PASSWORD"));
 * RootHashSigner signer = new CmsRootHashSigner(creds);
 * byte[] der = signer.sign(layerDigest, rootHash);
 * String subject = SignatureVerifier.fromCaBundle(caPem).verify(rootHash, der);
 * }</pre>
 */
package dev.erofspipeline.publish.signing;

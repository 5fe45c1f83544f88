package dev.erofspipeline.publish.route;

import dev.erofspipeline.publish.signing.CmsRootHashSigner;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.RecordValidator;
import dev.erofspipeline.schemas.RootHashSignature;
import dev.erofspipeline.schemas.SchemaViolationException;
import dev.erofspipeline.schemas.SigningRequest;
import dev.erofspipeline.schemas.Topics;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.component.kafka.ManualCommit;

/**
 * The built-in implementation of the external signing contract: {@code erofs.signing-requests} in,
 * {@code erofs.signatures} out (signed with a local key by {@link CmsRootHashSigner}). An operator
 * with an HSM or KMS replaces this route with their own consumer of the same topics.
 */
public final class SigningRoute extends RouteBuilder {

  private final String brokers;
  private final String groupId;
  private final Topics topics;
  private final RecordValidator validator;
  private final CmsRootHashSigner signer;
  private final Clock clock;

  public SigningRoute(String brokers, String groupId, Topics topics, RecordValidator validator, CmsRootHashSigner signer,
      Clock clock) {
    this.brokers = brokers;
    this.groupId = groupId;
    this.topics = topics;
    this.validator = validator;
    this.signer = signer;
    this.clock = clock;
  }

  @Override
  public void configure() {
    from("kafka:" + topics.signingRequests() + "?brokers=" + brokers + "&groupId=" + groupId
        + "&autoOffsetReset=earliest&autoCommitEnable=false&allowManualCommit=true&pollTimeoutMs=500"
        + "&valueDeserializer=org.apache.kafka.common.serialization.ByteArrayDeserializer")
        .routeId("signer")
        .process(this::sign)
        .to("kafka:" + topics.signatures() + "?brokers=" + brokers + "&requestRequiredAcks=all"
            + "&valueSerializer=org.apache.kafka.common.serialization.ByteArraySerializer")
        .process(new ManualCommit());
  }

  private void sign(Exchange e) {
    Message m = e.getMessage();
    byte[] value = m.getBody(byte[].class);
    try {
      SigningRequest req = validator.read(SigningRequest.class, value);
      byte[] der = signer.sign(req.layerDigest(), req.rootHash());
      List<String> chain = new ArrayList<>();
      for (X509Certificate c : signer.credentials().chain()) {
        chain.add(Base64.getEncoder().encodeToString(c.getEncoded()));
      }
      RootHashSignature sig = new RootHashSignature(req.layerDigest(), req.rootHash(), Base64.getEncoder().encodeToString(der),
          chain, signer.credentials().signerCertificate().getSubjectX500Principal().getName(), clock.instant(), req.profile(),
          req.correlationId());
      m.setHeader(KafkaConstants.KEY, sig.key());
      m.setBody(validator.write(sig));
    } catch (RuntimeException | CertificateEncodingException ex) {
      String code = ex instanceof SchemaViolationException sv ? sv.reasonCode() : "signing-failed";
      DeadLetter letter = DeadLetter.of(DeadLetter.Stage.SIGN, DeadLetter.Input.of(topics.signingRequests(),
          m.getHeader(KafkaConstants.PARTITION, Integer.class), m.getHeader(KafkaConstants.OFFSET, Long.class),
          m.getHeader(KafkaConstants.KEY, String.class), value), ex, code, 1, null);
      m.setHeader(KafkaConstants.OVERRIDE_TOPIC, topics.deadLetters());
      m.setBody(validator.write(letter));
    }
  }
}

package dev.erofspipeline.publish.route;

import dev.erofspipeline.testkit.S3Fixture;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** Counts the S3 requests a client sends, by operation (GetObject, ListObjectsV2…), retries included. */
final class S3RequestCounter implements ExecutionInterceptor {
  private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();

  @Override
  public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
    counts.computeIfAbsent(attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME), k -> new AtomicLong()).incrementAndGet();
  }

  /** A new client of {@code s3} whose requests this counts (the caller closes it). */
  S3Client client(S3Fixture s3) {
    return S3Client.builder()
        .endpointOverride(s3.endpoint())
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey())))
        .overrideConfiguration(o -> o.addExecutionInterceptor(this))
        .build();
  }

  /** The counts since the last call, by operation, and resets them. */
  Map<String, Long> take() {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach((op, n) -> {
      long v = n.getAndSet(0);
      if (v > 0) {
        out.put(op, v);
      }
    });
    return out;
  }

  static long total(Map<String, Long> counts) {
    return counts.values().stream().mapToLong(Long::longValue).sum();
  }
}

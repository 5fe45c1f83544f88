package dev.erofspipeline.convert.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.testkit.S3Fixture;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/** Against a real S3 server (S3Proxy in-process). */
class MultipartUploadOutputStreamTest {
  @RegisterExtension static final S3Fixture S3 = S3Fixture.create();

  private static final int PART = MultipartUploadOutputStream.MIN_PART_SIZE;

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  private static byte[] get(String key) {
    return S3.client().getObjectAsBytes(r -> r.bucket(S3.bucket()).key(key)).asByteArray();
  }

  private static boolean exists(String key) {
    try {
      S3.client().headObject(r -> r.bucket(S3.bucket()).key(key));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  private static int pendingUploads() {
    return S3.client().listMultipartUploads(r -> r.bucket(S3.bucket())).uploads().size();
  }

  @Test
  void aLargeObjectGoesUpInPartsAndReadsBackIdentical() throws IOException {
    byte[] data = randomBytes(2 * PART + 12345);
    try (MultipartUploadOutputStream out =
        new MultipartUploadOutputStream(S3.client(), S3.bucket(), "big", "application/octet-stream", PART)) {
      // odd write sizes cross part boundaries
      for (int off = 0; off < data.length; off += 1_000_003) {
        out.write(data, off, Math.min(1_000_003, data.length - off));
        assertFalse(exists("big"), "nothing may be visible before commit");
      }
      assertEquals(data.length, out.commit());
    }
    assertArrayEquals(data, get("big"));
    String etag = S3.client().headObject(r -> r.bucket(S3.bucket()).key("big")).eTag();
    assertTrue(etag.endsWith("-3\""), "three parts expected, etag " + etag);
  }

  @Test
  void aSmallObjectIsOnePut() throws IOException {
    byte[] data = randomBytes(1000);
    try (MultipartUploadOutputStream out =
        new MultipartUploadOutputStream(S3.client(), S3.bucket(), "small", "application/json", PART)) {
      out.write(data);
      out.commit();
    }
    assertArrayEquals(data, get("small"));
    assertEquals("application/json", S3.client().headObject(r -> r.bucket(S3.bucket()).key("small")).contentType());
  }

  @Test
  void closingWithoutCommitLeavesNoObjectAndNoPendingUpload() throws IOException {
    int before = pendingUploads();
    try (MultipartUploadOutputStream out =
        new MultipartUploadOutputStream(S3.client(), S3.bucket(), "abandoned", "application/octet-stream", PART)) {
      out.write(randomBytes(PART + 10)); // one part already uploaded
      assertEquals(before + 1, pendingUploads());
      // the conversion fails here: no commit
    }
    assertFalse(exists("abandoned"));
    assertEquals(before, pendingUploads());
  }

  @Test
  void aServerErrorSurfacesAsIOExceptionNamingTheKeyAndAbortsTheUpload() throws IOException {
    try (S3Client noSuchBucket = S3.newClient()) {
      MultipartUploadOutputStream out =
          new MultipartUploadOutputStream(noSuchBucket, "no-such-bucket", "k", "application/octet-stream", PART);
      IOException e = assertThrows(IOException.class, () -> out.write(randomBytes(PART)));
      assertTrue(e.getMessage().contains("s3://no-such-bucket/k"), e.getMessage());
      assertThrows(IOException.class, () -> out.write(1), "a failed stream stays failed");
      out.close();
    }
  }

  @Test
  void partsBelowTheS3MinimumAreRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new MultipartUploadOutputStream(S3.client(), S3.bucket(), "k", "x", PART - 1));
  }
}

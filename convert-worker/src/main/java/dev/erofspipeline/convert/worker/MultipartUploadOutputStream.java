package dev.erofspipeline.convert.worker;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * Streams an object to S3 as it is produced: parts go up as soon as a part's worth of bytes exists,
 * and the object appears under its key only when {@link #commit()} completes the upload. A stream
 * that is closed without a commit aborts the upload, so a failed or interrupted conversion never
 * leaves a partial object under a final key (a crashed process leaves an incomplete upload, which
 * the next attempt at the layer aborts, see {@link S3Staging#abortUnfinishedUploads}, and the
 * bucket's AbortIncompleteMultipartUpload lifecycle rule removes otherwise; docs/operations.md).
 * Objects smaller than one part are written with a single PUT.
 */
public final class MultipartUploadOutputStream extends OutputStream {
  /** S3's minimum for every part but the last. */
  public static final int MIN_PART_SIZE = 5 << 20;

  private static final int INITIAL_BUFFER = 64 << 10;
  /** What RequestBody.fromBytes declared for a part; the object's own type is set when the upload starts. */
  private static final String PART_CONTENT_TYPE = "application/octet-stream";

  private final S3Client s3;
  private final String bucket;
  private final String key;
  private final String contentType;
  private final int partSize;
  /** Grows up to the part size: most index objects are far smaller, and a new part-sized array per stream cost GC time. */
  private byte[] buffer;
  private int buffered;
  private String uploadId;
  private final List<CompletedPart> parts = new ArrayList<>();
  private long size;
  private boolean finished;

  public MultipartUploadOutputStream(S3Client s3, String bucket, String key, String contentType, int partSize) {
    if (partSize < MIN_PART_SIZE) {
      throw new IllegalArgumentException("part size " + partSize + " is below S3's minimum of " + MIN_PART_SIZE);
    }
    this.s3 = s3;
    this.bucket = bucket;
    this.key = key;
    this.contentType = contentType;
    this.partSize = partSize;
    this.buffer = new byte[Math.min(INITIAL_BUFFER, partSize)];
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    ensureOpen();
    while (len > 0) {
      if (buffered == buffer.length && buffer.length < partSize) {
        buffer = Arrays.copyOf(buffer, (int) Math.min((long) buffer.length * 2, partSize));
      }
      int n = Math.min(len, buffer.length - buffered);
      System.arraycopy(b, off, buffer, buffered, n);
      buffered += n;
      off += n;
      len -= n;
      size += n;
      if (buffered == partSize) {
        uploadBufferedPart();
      }
    }
  }

  /** Makes the object visible under its key; returns its size. */
  public long commit() throws IOException {
    ensureOpen();
    try {
      if (uploadId == null) {
        s3.putObject(r -> r.bucket(bucket).key(key).contentType(contentType), bufferedBody(contentType));
      } else {
        if (buffered > 0) {
          uploadBufferedPart();
        }
        s3.completeMultipartUpload(
            r -> r.bucket(bucket).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(parts)));
      }
    } catch (RuntimeException e) {
      abortQuietly();
      throw new IOException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
    }
    finished = true;
    return size;
  }

  /** Aborts the upload unless it was committed: nothing appears under the key. */
  @Override
  public void close() {
    if (!finished) {
      abortQuietly();
      finished = true;
    }
  }

  private void uploadBufferedPart() throws IOException {
    try {
      if (uploadId == null) {
        uploadId = s3.createMultipartUpload(r -> r.bucket(bucket).key(key).contentType(contentType)).uploadId();
      }
      int partNumber = parts.size() + 1;
      String etag =
          s3.uploadPart(
                  r -> r.bucket(bucket).key(key).uploadId(uploadId).partNumber(partNumber),
                  bufferedBody(PART_CONTENT_TYPE))
              .eTag();
      parts.add(CompletedPart.builder().partNumber(partNumber).eTag(etag).build());
      buffered = 0;
    } catch (RuntimeException e) {
      abortQuietly();
      finished = true;
      throw new IOException("upload of a part of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * The buffered bytes as they are, not copied: the client is synchronous, so it has sent them (every attempt) before
   * the buffer is written again. {@code RequestBody.fromBytes} would copy, and copying a part-sized array twice per
   * part (ours, then the SDK's) cost CPU and garbage (scripts/bench-s3-upload.sh).
   */
  private RequestBody bufferedBody(String mimeType) {
    byte[] bytes = buffer;
    int length = buffered;
    return RequestBody.fromContentProvider(() -> new ByteArrayInputStream(bytes, 0, length), length, mimeType);
  }

  private void abortQuietly() {
    if (uploadId != null) {
      try {
        s3.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId));
      } catch (RuntimeException ignored) {
        // The lifecycle rule removes what an abort could not; the object itself was never created.
      }
      uploadId = null;
    }
  }

  private void ensureOpen() throws IOException {
    if (finished) {
      throw new IOException("upload of s3://" + bucket + "/" + key + " is already finished");
    }
  }
}

package dev.erofspipeline.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.erofspipeline.embedded.EmbeddedS3;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

class S3FixtureTest {

    @RegisterExtension
    static final S3Fixture S3 = S3Fixture.create();

    @Test
    void putGetHeadAndMissingKey() {
        S3Client s3 = S3.client();
        s3.putObject(b -> b.bucket(S3.bucket()).key("layers/sha256/ab/result.json").contentType("application/json")
                .metadata(Map.of("sha256", "ab")), RequestBody.fromString("{\"ok\":true}"));
        ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket(S3.bucket())
                .key("layers/sha256/ab/result.json"));
        assertEquals("{\"ok\":true}", got.asUtf8String());
        assertEquals("ab", got.response().metadata().get("sha256"));
        assertEquals("application/json", got.response().contentType());
        assertThrows(NoSuchKeyException.class, () -> s3.getObjectAsBytes(b -> b.bucket(S3.bucket()).key("missing")));
    }

    @Test
    void multipartUploadOfThreeFiveMiBPartsReadsBackIdentical() throws Exception {
        S3Client s3 = S3.client();
        int partSize = 5 * 1024 * 1024;
        SplittableRandom r = new SplittableRandom(42);
        MessageDigest sent = Digests.newSha256();
        String key = "big/tree.verity";
        String uploadId = s3.createMultipartUpload(b -> b.bucket(S3.bucket()).key(key)).uploadId();
        List<CompletedPart> parts = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            byte[] part = new byte[partSize];
            r.nextBytes(part);
            sent.update(part);
            int partNumber = n;
            String etag = s3.uploadPart(b -> b.bucket(S3.bucket()).key(key).uploadId(uploadId).partNumber(partNumber),
                    RequestBody.fromBytes(part)).eTag();
            parts.add(CompletedPart.builder().partNumber(partNumber).eTag(etag).build());
        }
        String etag = s3.completeMultipartUpload(b -> b.bucket(S3.bucket()).key(key).uploadId(uploadId)
                .multipartUpload(m -> m.parts(parts))).eTag();
        assertTrue(etag.replace("\"", "").endsWith("-3"), etag);

        MessageDigest read = Digests.newSha256();
        long size = s3.getObject(b -> b.bucket(S3.bucket()).key(key), ResponseTransformer.toInputStream()).transferTo(
                new java.security.DigestOutputStream(java.io.OutputStream.nullOutputStream(), read));
        assertEquals(3L * partSize, size);
        assertEquals(HexFormat.of().formatHex(sent.digest()), HexFormat.of().formatHex(read.digest()));
    }

    @Test
    void directoryBackedServerKeepsObjectsAcrossRestart(@TempDir Path dir) {
        Path data = dir.resolve("s3");
        try (S3Fixture first = S3Fixture.onDirectory(data, "stage").start()) {
            first.client().putObject(b -> b.bucket("stage").key("a/b.txt"), RequestBody.fromString("kept"));
        }
        assertTrue(Files.isDirectory(data.resolve("stage")), "bucket is a directory");
        try (S3Fixture second = S3Fixture.onDirectory(data, "stage").start()) {
            EmbeddedS3 server = second.embeddedS3();
            assertTrue(server.endpoint().toString().startsWith("http://127.0.0.1:"), server.endpoint().toString());
            assertEquals("kept", new String(second.client().getObjectAsBytes(b -> b.bucket("stage").key("a/b.txt"))
                    .asByteArray(), StandardCharsets.UTF_8));
        }
    }
}

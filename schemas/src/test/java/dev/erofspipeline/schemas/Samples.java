package dev.erofspipeline.schemas;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** One valid record of every type, with every optional field set, and one with only required fields. */
final class Samples {
  private Samples() {}

  static final String LAYER = "sha256:" + "a1".repeat(32);
  static final String LAYER2 = "sha256:" + "b2".repeat(32);
  static final String DIFF = "sha256:" + "c3".repeat(32);
  static final String DIFF2 = "sha256:" + "d4".repeat(32);
  static final String SUBJECT = "sha256:" + "e5".repeat(32);
  static final String INDEX = "sha256:" + "f6".repeat(32);
  static final String ROOT = "0123456789abcdef".repeat(4);
  static final String HEX = "fedcba9876543210".repeat(4);
  static final ConversionProfile PROFILE = new ConversionProfile("containerd-erofs", "9f86d081884c7d65");
  static final Instant T = Instant.parse("2026-11-27T03:22:39.123456Z");

  static ResultDocument result() {
    return new ResultDocument(LAYER, DIFF, 10240L, 4096, HEX, 1024, ROOT, ROOT, "00".repeat(32), "sha256", 512, 512,
        28, "6f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b", "0b1c2d3e-4f50-5162-8374-85960a1b2c3d", "1.9.3",
        "0.1.0-SNAPSHOT", PROFILE, T);
  }

  static Map<RecordType, Object> full() {
    return Map.of(
        RecordType.IMAGE_REQUEST, new ImageRequest("registry.example:5000/team/app:1.0", List.of("linux/amd64",
            "linux/arm64/v8"), Priority.HIGH, true, "req-42", T),
        RecordType.LAYER_JOB, new LayerJob("registry.example:5000", "team/app",
            new LayerJob.Descriptor(LAYER, 1234, MediaTypes.OCI_LAYER_TAR_GZIP, List.of("https://cdn.example/blob")),
            DIFF, PROFILE, List.of(new LayerJob.Subject("team/app", SUBJECT, "linux/amd64")), Priority.LOW, true,
            "req-42"),
        RecordType.LAYER_RESULT, new LayerResult(result(), new LayerResult.Staging("erofs-staging",
            "p/layers/sha256/a1/9f86d081884c7d65/index.erofs", "p/layers/sha256/a1/9f86d081884c7d65/tree.verity",
            "p/layers/sha256/a1/9f86d081884c7d65/result.json"), "registry.example:5000", "team/app", true, "req-42"),
        RecordType.IMAGE_RECORD, new ImageRecord("registry.example:5000", "team/app",
            new ImageRecord.Subject(SUBJECT, MediaTypes.OCI_MANIFEST, 1000), "linux/amd64", INDEX,
            "registry.example:5000/team/app:1.0",
            List.of(new ImageRecord.Layer(LAYER, 1234, MediaTypes.OCI_LAYER_TAR_GZIP, DIFF),
                new ImageRecord.Layer(LAYER2, 99, MediaTypes.DOCKER_FOREIGN_LAYER_TAR_GZIP, DIFF2)),
            PROFILE, "req-42").withNativeImage(new ImageRecord.NativeImage(ConversionProfile.NATIVE,
                List.of(SUBJECT, INDEX))),
        RecordType.IMAGE_STATUS, new ImageStatus(SUBJECT, "registry.example:5000", "team/app",
            "registry.example:5000/team/app:1.0", "linux/amd64", ImageStatus.State.FAILED, 2, 1,
            "layer sha256:b2… is a foreign layer", "unsupported-layer",
            List.of(new ImageStatus.Layer(LAYER, ImageStatus.LayerState.CONVERTED, null),
                new ImageStatus.Layer(LAYER2, ImageStatus.LayerState.UNSUPPORTED, "foreign layer")),
            List.of("replaced the bundle of profile 0123456789abcdef"), PROFILE, "req-42", T),
        RecordType.DEAD_LETTER, new DeadLetter(DeadLetter.Stage.CONVERT,
            new DeadLetter.Input("erofs.layer-jobs", 3, 17L, LAYER, "{\"x\":1}", false, 7),
            "dev.erofspipeline.convert.InvalidLayerException", "digest-mismatch", "digest mismatch: expected …", T, 3,
            LAYER, SUBJECT, "req-42"),
        RecordType.SIGNING_REQUEST, new SigningRequest(LAYER, ROOT, PROFILE, "req-42"),
        RecordType.SIGNATURE, new RootHashSignature(LAYER, ROOT, "MIIBAgMEBQY=", List.of("MIIDdzCCAl+gAwIBAgIE",
            "MIIC/zCCAeegAwIBAgIJ"), "builtin:rsa-2048", T, PROFILE, "req-42"),
        RecordType.RESULT_DOCUMENT, result());
  }

  static Map<RecordType, Object> minimal() {
    return Map.of(
        RecordType.IMAGE_REQUEST, ImageRequest.of("oci:/tmp/layout:v1", "c"),
        RecordType.LAYER_JOB, new LayerJob("oci:/tmp/layout", "layout", new LayerJob.Descriptor(LAYER, 0,
            MediaTypes.DOCKER_LAYER_TAR), DIFF, PROFILE, List.of(new LayerJob.Subject("layout", SUBJECT, null)), null,
            false, "c"),
        RecordType.LAYER_RESULT, new LayerResult(new ResultDocument(LAYER, DIFF, null, 512, HEX, 1024, ROOT, ROOT,
            "", null, 512, 512, 1, "6f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b", "0b1c2d3e-4f50-5162-8374-85960a1b2c3d",
            "1.9.3", "1", PROFILE, null), new LayerResult.Staging("abc", "i", "t", "r"), null, null, false, "c"),
        RecordType.IMAGE_RECORD, new ImageRecord("[::1]:5000", "a", new ImageRecord.Subject(SUBJECT,
            MediaTypes.DOCKER_MANIFEST, 1), null, null, null, List.of(), PROFILE, "c"),
        RecordType.IMAGE_STATUS, new ImageStatus(SUBJECT, "localhost", "a", null, null, ImageStatus.State.QUEUED, 0, 0,
            null, null, List.of(), null, null, null, T),
        RecordType.DEAD_LETTER, new DeadLetter(DeadLetter.Stage.INGEST, DeadLetter.Input.of(new byte[0]),
            "java.lang.IllegalStateException", "x", "m", T, 1, null, null, null),
        RecordType.SIGNING_REQUEST, new SigningRequest(LAYER, ROOT, null, "c"),
        RecordType.SIGNATURE, new RootHashSignature(LAYER, ROOT, "AAAA", List.of("AAAA"), null, null, null, "c"),
        RecordType.RESULT_DOCUMENT, new ResultDocument(LAYER, DIFF, null, 512, HEX, 1024, ROOT, ROOT, "", null, 4096,
            4096, 1, "6f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b", "0b1c2d3e-4f50-5162-8374-85960a1b2c3d", "1.9",
            "1", PROFILE, null));
  }
}

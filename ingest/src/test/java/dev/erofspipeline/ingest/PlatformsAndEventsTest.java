package dev.erofspipeline.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Platform filters and webhook payload parsing, without servers. */
class PlatformsAndEventsTest {
    @Test
    void platformFilters() {
        assertTrue(Platforms.matches(List.of(), "linux/s390x"));
        assertTrue(Platforms.matches(List.of("linux/arm64"), "linux/arm64/v8"));
        assertTrue(Platforms.matches(List.of("linux/arm64/v8"), "linux/arm64"));
        assertFalse(Platforms.matches(List.of("linux/arm/v7"), "linux/arm/v6"));
        assertTrue(Platforms.matches(List.of("linux/arm"), "linux/arm/v6"));
        assertFalse(Platforms.matches(List.of("linux/amd64"), null));
        assertFalse(Platforms.matches(List.of("windows/amd64"), "linux/amd64"));
        assertEquals("linux/arm64/v8", Platforms.format("linux", "arm64", "v8"));
        assertNull(Platforms.format("linux", "", null));
        assertNull(Platforms.forRecord("Linux/AMD64!"));
    }

    @Test
    void anIndexPushIsOneRequestForTheTaggedIndex() throws Exception {
        String idx = "sha256:" + "1".repeat(64);
        String child = "sha256:" + "2".repeat(64);
        String blob = "sha256:" + "3".repeat(64);
        String json = "{\"events\":["
                + event("a", "push", "application/octet-stream", blob, "", "http://reg.local:5000/v2/app/x/blobs/" + blob)
                + "," + event("b", "push", "application/vnd.oci.image.manifest.v1+json", child, "",
                        "http://reg.local:5000/v2/app/x/manifests/" + child)
                + "," + event("c", "push", "application/vnd.oci.image.index.v1+json", idx, "v2",
                        "http://reg.local:5000/v2/app/x/manifests/" + idx)
                + "," + event("d", "pull", "application/vnd.oci.image.index.v1+json", idx, "v2",
                        "http://reg.local:5000/v2/app/x/manifests/" + idx)
                + "," + event("e", "delete", "application/vnd.oci.image.index.v1+json", idx, "v2", "")
                + "]}";
        WebhookEvents.Parsed p = WebhookEvents.fromDistribution(new ObjectMapper().readTree(json));
        assertEquals(List.of("reg.local:5000/app/x:v2@" + idx), p.requests().stream().map(r -> r.reference()).toList());
        assertEquals("webhook-c", p.requests().get(0).correlationId());
        assertEquals(4, p.ignored().size());
        assertThrows(WebhookEvents.BadPayload.class, () -> WebhookEvents.fromDistribution(new ObjectMapper().readTree("[]")));
        assertTrue(WebhookEvents.fromHarbor(new ObjectMapper().readTree(
                "{\"type\":\"DELETE_ARTIFACT\",\"event_data\":{}}")).requests().isEmpty());
    }

    private static String event(String id, String action, String type, String digest, String tag, String url) {
        return "{\"id\":\"" + id + "\",\"action\":\"" + action + "\",\"target\":{\"mediaType\":\"" + type
                + "\",\"digest\":\"" + digest + "\",\"repository\":\"app/x\""
                + (tag.isEmpty() ? "" : ",\"tag\":\"" + tag + "\"") + ",\"url\":\"" + url + "\"},"
                + "\"request\":{\"host\":\"reg.local:5000\"}}";
    }
}

package dev.erofspipeline.registry;

import dev.erofspipeline.testkit.RegistryFixture;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;

/** Shared bits of the tests: client options with fast backoff, free ports. */
final class TestSupport {
    private TestSupport() {
    }

    /** A client for the fixture's registry (plain HTTP), fast retries for tests. */
    static RegistryClient client(RegistryFixture registry) {
        return new RegistryClient(registry.host(), options(registry.host()).build());
    }

    static RegistryOptions.Builder options(String... insecure) {
        RegistryOptions.Builder b = RegistryOptions.builder().initialBackoff(Duration.ofMillis(10)).maxBackoff(Duration.ofMillis(100));
        for (String h : insecure) {
            b.insecureHost(h);
        }
        return b;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}

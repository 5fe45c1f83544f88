package dev.erofspipeline.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/** A failing test body must not leak the registry process, its port or its directory. */
class FixtureCleanupTest {

    private static final String INNER = "erofs.testkit.run-failing-inner";

    @Test
    void closeAfterAnExceptionStopsTheRegistryProcess() {
        AtomicLong pid = new AtomicLong();
        AtomicReference<Path> dir = new AtomicReference<>();
        AtomicReference<Integer> port = new AtomicReference<>();
        IllegalStateException boom = assertThrows(IllegalStateException.class, () -> {
            try (RegistryFixture reg = RegistryFixture.process().start()) {
                pid.set(reg.pid());
                dir.set(reg.directory());
                port.set(reg.port());
                assertTrue(ProcessHandle.of(reg.pid()).map(ProcessHandle::isAlive).orElse(false));
                throw new IllegalStateException("test body failed");
            }
        });
        assertEquals("test body failed", boom.getMessage());
        assertGone(pid.get(), dir.get(), port.get());
    }

    @Test
    void aFailingTestClassStillStopsItsStaticRegistryFixture() {
        FailingInner.PID.set(0);
        System.setProperty(INNER, "true");
        TestExecutionSummary summary;
        try {
            LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                    .selectors(selectClass(FailingInner.class)).build();
            Launcher launcher = LauncherFactory.create();
            SummaryGeneratingListener listener = new SummaryGeneratingListener();
            launcher.execute(request, listener);
            summary = listener.getSummary();
        } finally {
            System.clearProperty(INNER);
        }
        assertEquals(1, summary.getTestsFailedCount(), "the inner test fails on purpose");
        assertEquals("inner test failed on purpose", summary.getFailures().get(0).getException().getMessage());
        assertTrue(FailingInner.PID.get() > 0, "inner test ran");
        assertGone(FailingInner.PID.get(), FailingInner.DIR.get(), FailingInner.PORT.get());
    }

    @Test
    void sharedFixtureIsOnePerJvmAndOutlivesClose() {
        RegistryFixture shared = RegistryFixture.shared();
        assertSame(shared, RegistryFixture.shared());
        shared.beforeAll(null);
        long pid = shared.pid();
        shared.afterAll(null);
        shared.close();
        assertTrue(shared.isStarted());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "still running until JVM exit");
        assertTrue(shared.http().catalogJson().contains("repositories"));
    }

    private static void assertGone(long pid, Path dir, int port) {
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "registry pid " + pid + " gone");
        assertFalse(Files.exists(dir), "temp dir removed: " + dir);
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", port));
        } catch (IOException e) {
            throw new AssertionError("port " + port + " still taken", e);
        }
    }

    /** Only runs when launched by the test above. */
    @EnabledIfSystemProperty(named = INNER, matches = "true")
    static class FailingInner {
        static final AtomicLong PID = new AtomicLong();
        static final AtomicReference<Path> DIR = new AtomicReference<>();
        static final AtomicReference<Integer> PORT = new AtomicReference<>();

        @RegisterExtension
        static final RegistryFixture REGISTRY = RegistryFixture.process();

        @Test
        void failsWhileTheRegistryRuns() {
            PID.set(REGISTRY.pid());
            DIR.set(REGISTRY.directory());
            PORT.set(REGISTRY.port());
            throw new IllegalStateException("inner test failed on purpose");
        }
    }
}

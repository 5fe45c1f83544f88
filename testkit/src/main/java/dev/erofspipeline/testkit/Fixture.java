package dev.erofspipeline.testkit;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Common life cycle of the test kit's fixtures. A fixture can be used three ways:
 * <ul>
 *   <li>{@code @RegisterExtension static final XFixture x = XFixture.create();}: started once before all
 *       tests of the class, closed after them (also when tests or {@code @BeforeAll} methods fail);</li>
 *   <li>{@code @RegisterExtension final XFixture x = ...} (instance field): started before each test, closed
 *       after it;</li>
 *   <li>by hand: {@code try (XFixture x = XFixture.create().start()) { ... }};</li>
 *   <li>{@code @RegisterExtension static final XFixture x = XFixture.shared();}: one instance per JVM, shared by
 *       every test class that asks for it, started on first use and stopped when the JVM exits (shutdown
 *       hooks), so a module's suite pays the start-up once.</li>
 * </ul>
 * {@link #start()} cleans up after itself when it fails half-way, and {@link #close()} is idempotent.
 */
public abstract class Fixture<SELF extends Fixture<SELF>>
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback, AutoCloseable {

    private boolean startedForClass;
    private boolean startedForTest;
    private volatile boolean shared;

    /** Marks this instance as the per-JVM shared one: the JUnit callbacks start it but never stop it. */
    @SuppressWarnings("unchecked")
    protected SELF markShared() {
        shared = true;
        return (SELF) this;
    }

    /** Whether this is a per-JVM shared instance (see {@code shared()} of each fixture). */
    public boolean isShared() {
        return shared;
    }

    /** Starts the component; does nothing when it already runs. */
    public abstract SELF start();

    /** Whether {@link #start()} has completed and {@link #close()} has not been called since. */
    public abstract boolean isStarted();

    /** Stops the component and frees its ports, processes and directories. Idempotent, never throws. */
    @Override
    public abstract void close();

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!isStarted()) {
            start();
            startedForClass = !shared;
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (!isStarted()) {
            start();
            startedForTest = !shared;
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (startedForTest) {
            startedForTest = false;
            close();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (startedForClass) {
            startedForClass = false;
            close();
        }
    }
}

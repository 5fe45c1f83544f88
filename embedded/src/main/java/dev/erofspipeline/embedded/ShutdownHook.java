package dev.erofspipeline.embedded;

/**
 * A JVM shutdown hook that its owner cancels when it closes normally: servers and child processes
 * started by this JVM must not outlive it, however it ends.
 */
public final class ShutdownHook {
    private final Thread thread;

    private ShutdownHook(Thread thread) {
        this.thread = thread;
    }

    /** Runs {@code action} at JVM exit unless {@link #cancel()} is called first. */
    public static ShutdownHook register(String name, Runnable action) {
        Thread t = new Thread(action, name);
        Runtime.getRuntime().addShutdownHook(t);
        return new ShutdownHook(t);
    }

    /** The owner closed normally; a no-op while the JVM is already exiting (the hook runs then). */
    public void cancel() {
        try {
            Runtime.getRuntime().removeShutdownHook(thread);
        } catch (IllegalStateException jvmExiting) {
            // the hook is running or about to run, doing the owner's close itself
        }
    }
}

package dev.erofspipeline.testkit;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A request a test proxy ({@link FaultInjectingProxy#hold}, {@link HttpTap#trap}) stops on its way, so that the test
 * can kill the client at exactly that point; {@link #release()} then closes the request's connection unanswered.
 */
public final class HeldRequest {
    private final CountDownLatch reached = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile String request;

    HeldRequest() {
    }

    /** Waits until a matching request is being held; false on timeout. */
    public boolean await(Duration timeout) throws InterruptedException {
        return reached.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean reached() {
        return reached.getCount() == 0;
    }

    /** {@code METHOD path} of the held request, or null before one arrived. */
    public String request() {
        return request;
    }

    /** Lets the held request go: its connection closes without an answer (the client, if alive, sees it drop). */
    public void release() {
        released.countDown();
    }

    /** On the proxy thread carrying the request: records it, then blocks there until released. */
    void hold(String requestLine) {
        request = requestLine;
        reached.countDown();
        try {
            released.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

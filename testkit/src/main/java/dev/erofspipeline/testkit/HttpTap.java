package dev.erofspipeline.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A byte-for-byte TCP relay on loopback in front of an HTTP/1.1 server that watches the request lines going through
 * it. Unlike {@link FaultInjectingProxy} it changes nothing on the wire (no Host rewrite), so signed requests such as
 * S3's pass unharmed. A {@link #trap} stops one matching request where the test wants the client to die: before the
 * server sees it, or after the server answered but before the client gets the answer. The relay assumes clients do not
 * pipeline requests on a connection (HTTP clients such as the AWS SDK's do not).
 */
public final class HttpTap implements AutoCloseable {
    private static final Pattern REQUEST_LINE =
            Pattern.compile("(?m)^(GET|PUT|POST|DELETE|HEAD|PATCH) (\\S+) HTTP/1\\.[01]\r\n");

    /** Where a {@link #trap} stops the matching request. */
    public enum Stop {
        /** The request is not forwarded: the server never sees it. */
        BEFORE_SERVER,
        /** The request is forwarded and answered, the answer is not passed on. */
        BEFORE_CLIENT
    }

    /** A {@link #trap} not yet sprung: the request lines it waits for and where it stops them. */
    private record Trap(Pattern requestLine, Stop stop, HeldRequest held) {}

    private final InetSocketAddress upstream;
    private final ServerSocket server;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final List<Trap> traps = new CopyOnWriteArrayList<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** Relays 127.0.0.1:{@code port} (0: a free one) to {@code upstreamPort} on 127.0.0.1. */
    public HttpTap(int upstreamPort, int port) throws IOException {
        this.upstream = new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort);
        this.server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "http-tap-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** {@code http://127.0.0.1:<port>}. */
    public String endpoint() {
        return "http://127.0.0.1:" + port();
    }

    /** Stops the next request whose request line ({@code METHOD target}) matches, at {@code stop}. */
    public HeldRequest trap(Pattern requestLine, Stop stop) {
        Trap t = new Trap(requestLine, stop, new HeldRequest());
        traps.add(t);
        return t.held();
    }

    /** Withdraws a trap that has not caught anything yet (and releases its request if it has). */
    public void disarm(HeldRequest held) {
        traps.removeIf(t -> t.held() == held);
        held.release();
    }

    /** Every request line seen so far ({@code METHOD target}), in order. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                sockets.add(client);
                Thread t = new Thread(() -> relay(client), "http-tap-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    continue;
                }
                return;
            }
        }
    }

    private void relay(Socket client) {
        try (client; Socket server = new Socket()) {
            sockets.add(server);
            server.connect(upstream, 5_000);
            Connection c = new Connection();
            Thread back = new Thread(() -> pump(server, client, c), "http-tap-back");
            back.setDaemon(true);
            back.start();
            forward(client, server, c);
            back.join();
        } catch (IOException | InterruptedException e) {
            // a side went away: the other one sees its connection close
        } finally {
            sockets.remove(client);
        }
    }

    /** Per connection: an answer to stop before it reaches the client, and its request line. */
    private static final class Connection {
        volatile HeldRequest holdAnswer;
        volatile String heldLine;
    }

    /** Client to server: watches request lines, applies traps. */
    private void forward(Socket from, Socket to, Connection c) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        byte[] buf = new byte[64 * 1024];
        String carry = "";
        int n;
        while ((n = in.read(buf)) > 0) {
            String text = carry + new String(buf, 0, n, StandardCharsets.ISO_8859_1);
            int lastNewline = text.lastIndexOf('\n');
            carry = lastNewline < 0 ? tail(text) : tail(text.substring(lastNewline + 1));
            Matcher m = REQUEST_LINE.matcher(text);
            while (m.find()) {
                String line = m.group(1) + " " + m.group(2);
                requests.add(line);
                for (Trap t : traps) {
                    if (t.requestLine().matcher(line).matches() && traps.remove(t)) {
                        if (t.stop() == Stop.BEFORE_SERVER) {
                            t.held().hold(line);
                            closeQuietly(from, to);
                            return;
                        }
                        c.heldLine = line;
                        c.holdAnswer = t.held();
                        break;
                    }
                }
            }
            out.write(buf, 0, n);
            out.flush();
        }
        to.shutdownOutput();
    }

    private static String tail(String s) {
        return s.length() > 1024 ? s.substring(s.length() - 1024) : s;
    }

    /** Server to client: passes answers on, unless one is to be stopped. */
    private void pump(Socket from, Socket to, Connection c) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                HeldRequest held = c.holdAnswer;
                if (held != null) {
                    held.hold(c.heldLine);
                    closeQuietly(from, to);
                    return;
                }
                out.write(buf, 0, n);
                out.flush();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(from, to);
        }
    }

    private static void closeQuietly(Socket... sockets) {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        traps.forEach(t -> t.held().release());
        closeQuietly(server);
        sockets.forEach(HttpTap::closeQuietly);
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}

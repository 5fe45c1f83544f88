package dev.erofspipeline.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback TCP proxy in front of the registry that, once armed, cuts the connection carrying a request whose first
 * line contains {@code pathPart} after {@code cutAfter} bytes of the answer (headers included). Only once.
 */
final class CuttingTcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int upstreamPort;
    private final AtomicBoolean armed = new AtomicBoolean();
    private final AtomicInteger cuts = new AtomicInteger();
    private volatile String pathPart;
    private volatile long cutAfter;

    CuttingTcpProxy(int upstreamPort) throws IOException {
        this.upstreamPort = upstreamPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "cutting-proxy");
        t.setDaemon(true);
        t.start();
    }

    String host() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    void arm(String pathPart, long cutAfter) {
        this.pathPart = pathPart;
        this.cutAfter = cutAfter;
        armed.set(true);
    }

    int cuts() {
        return cuts.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                Connection c = new Connection(client, upstream);
                start(c::clientToServer);
                start(c::serverToClient);
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void start(Runnable r) {
        Thread t = new Thread(r, "cutting-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private final class Connection {
        final Socket client;
        final Socket upstream;
        volatile boolean target;

        Connection(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void clientToServer() {
            byte[] buf = new byte[8192];
            StringBuilder seen = new StringBuilder();
            try (InputStream in = client.getInputStream(); OutputStream out = upstream.getOutputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    if (armed.get() && !target) {
                        seen.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                        if (seen.indexOf("GET ") >= 0 && seen.indexOf(pathPart) >= 0 && armed.compareAndSet(true, false)) {
                            target = true;
                        }
                        if (seen.length() > 16384) {
                            seen.delete(0, seen.length() - 1024);
                        }
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // closed
            } finally {
                closeBoth();
            }
        }

        void serverToClient() {
            byte[] buf = new byte[8192];
            long sent = 0;
            try (InputStream in = upstream.getInputStream(); OutputStream out = client.getOutputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    if (target) {
                        if (sent + n > cutAfter) {
                            out.write(buf, 0, (int) (cutAfter - sent));
                            out.flush();
                            cuts.incrementAndGet();
                            client.setSoLinger(true, 0); // RST: a hard break
                            return;
                        }
                        sent += n;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // closed
            } finally {
                closeBoth();
            }
        }

        void closeBoth() {
            try {
                client.close();
            } catch (IOException ignored) {
                // best effort
            }
            try {
                upstream.close();
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}

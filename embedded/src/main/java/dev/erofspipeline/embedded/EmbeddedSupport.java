package dev.erofspipeline.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Small helpers shared by the embedded servers and the test kit: loopback ports and temp directories. */
public final class EmbeddedSupport {

    /** The only address the embedded servers and fixtures ever bind. */
    public static final String LOOPBACK = "127.0.0.1";

    private EmbeddedSupport() {
    }

    /**
     * A TCP port that was free on 127.0.0.1 a moment ago. There is a window in which another process can
     * take it, so callers retry on a bind failure.
     */
    public static int freeLoopbackPort() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(InetAddress.getByName(LOOPBACK), 0), 1);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }

    /** Deletes a file or a directory tree; missing paths are fine. Symlinks are deleted, not followed. */
    public static void deleteRecursively(Path root) throws IOException {
        if (root == null || !Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                if (exc instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw exc;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null && !(exc instanceof NoSuchFileException)) {
                    throw exc;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Like {@link #deleteRecursively(Path)} but never throws; returns whether the path is gone. */
    public static boolean deleteQuietly(Path root) {
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                deleteRecursively(root);
                return true;
            } catch (IOException | RuntimeException e) {
                // a writer thread may still be finishing a file; try again shortly
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return root == null || !Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }
}

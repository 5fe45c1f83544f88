package dev.erofspipeline.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS verification is on by default: a registry TEST DOUBLE (JDK HttpsServer) with a self-signed
 * certificate for 127.0.0.1 is refused with code {@code TLS}, before any request reaches it, and
 * without retries, by both transports (the JDK HttpClient for documents, HttpURLConnection for blob
 * downloads).
 */
class TlsVerificationTestDoubleTest {
    @TempDir Path dir;

    @Test
    void aRegistryWithAnUntrustedCertificateIsRefused() throws Exception {
        Path keystore = dir.resolve("double.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "double", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore", keystore.toString(), "-storetype", "PKCS12",
                "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
        String out = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, keytool.waitFor(), out);

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = java.nio.file.Files.newInputStream(keystore)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        HttpsServer registryDouble = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        registryDouble.setHttpsConfigurator(new HttpsConfigurator(tls));
        AtomicInteger served = new AtomicInteger();
        registryDouble.createContext("/", ex -> {
            served.incrementAndGet();
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        registryDouble.start();
        try (RegistryClient client = new RegistryClient("127.0.0.1:" + registryDouble.getAddress().getPort(),
                RegistryOptions.defaults())) {
            RegistryException e = assertThrows(RegistryException.class, () -> client.getManifest("r", "latest"));
            assertEquals("TLS", e.errorCode(), e.getMessage());
            assertFalse(e.isTransient());
            RegistryException blob = assertThrows(RegistryException.class,
                    () -> client.openBlob("r", "sha256:" + "0".repeat(64)));
            assertEquals("TLS", blob.errorCode(), blob.getMessage());
            assertFalse(blob.isTransient());
            assertEquals(0, served.get(), "no request got through");
        } finally {
            registryDouble.stop(0);
        }
    }
}

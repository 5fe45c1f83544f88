package dev.erofspipeline.launcher;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Roles of the pipeline as separate JVMs ({@code run --role ...}) for the multi-process tests: started with a shared
 * configuration file plus per-process settings, watched through their ops endpoint, killed with SIGKILL and started
 * again under the same name (same port, log appended). {@link #close()} kills every JVM still running.
 */
final class RoleProcesses implements AutoCloseable {
  private final Path dir;
  private final Path config;
  private final Map<String, Process> processes = new LinkedHashMap<>();
  private final Map<String, Integer> ports = new LinkedHashMap<>();
  private final Map<String, String> roles = new LinkedHashMap<>();
  private final Map<String, List<String>> settings = new LinkedHashMap<>();

  /** JVMs reading {@code config}, logging to {@code dir/<name>.log}. */
  RoleProcesses(Path dir, Path config) {
    this.dir = dir;
    this.config = config;
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Starts {@code run --role role} as {@code name}, with {@code --set} overrides of the configuration file. */
  Process start(String name, String role, String... sets) throws Exception {
    ports.putIfAbsent(name, freePort());
    roles.put(name, role);
    settings.put(name, List.of(sets));
    return launch(name);
  }

  private Process launch(String name) throws Exception {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-XX:TieredStopAtLevel=1",
        "-cp", classpath, Main.class.getName(), "run", "--role", roles.get(name), "--config", config.toString(),
        "--set", "http.port=" + ports.get(name)));
    for (String s : settings.get(name)) {
      cmd.add("--set");
      cmd.add(s);
    }
    Process p = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log(name).toFile()))
        .start();
    processes.put(name, p);
    return p;
  }

  private Path log(String name) {
    return dir.resolve(name + ".log");
  }

  Process process(String name) {
    return processes.get(name);
  }

  int port(String name) {
    return ports.get(name);
  }

  /** Waits until every named JVM answers {@code /health/ready}. */
  void awaitReady(Duration timeout, String... names) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    for (String name : names) {
      while (get(name, "/health/ready") == null) {
        if (System.nanoTime() > end || !processes.get(name).isAlive()) {
          throw new AssertionError(name + " not ready" + logsText());
        }
        Thread.sleep(200);
      }
    }
  }

  /** SIGKILL; returns once the process is gone (exit status 137). */
  void kill(String name) throws Exception {
    Process p = processes.get(name);
    p.destroyForcibly();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      throw new AssertionError(name + " survived SIGKILL");
    }
    if (p.exitValue() != 137) {
      throw new AssertionError(name + " exited with " + p.exitValue() + " before the kill" + logsText());
    }
  }

  /** A fresh JVM under a killed one's name: same role, settings and port. */
  Process restart(String name) throws Exception {
    if (processes.get(name).isAlive()) {
      throw new IllegalStateException(name + " is still running");
    }
    return launch(name);
  }

  /** The body of a 200 answer of this JVM's ops endpoint, or null. */
  String get(String name, String path) {
    return OpsEndpoint.get(ports.get(name), path);
  }

  /** The value of an unlabelled metric on this JVM's {@code /metrics}, or -1 when not available. */
  double metric(String name, String metric) {
    String m = get(name, "/metrics");
    if (m == null) {
      return -1;
    }
    Matcher x = Pattern.compile("(?m)^" + Pattern.quote(metric) + " ([0-9.eE+-]+)$").matcher(m);
    return x.find() ? Double.parseDouble(x.group(1)) : -1;
  }

  /** The last lines of every JVM's log, for failure messages. */
  String logsText() {
    StringBuilder b = new StringBuilder();
    for (String name : processes.keySet()) {
      try {
        List<String> lines = Files.readAllLines(log(name));
        b.append("\n----- ").append(name).append(" (last 80 lines) -----\n");
        lines.subList(Math.max(0, lines.size() - 80), lines.size()).forEach(l -> b.append(l).append('\n'));
      } catch (Exception e) {
        b.append("\n----- ").append(name).append(": ").append(e).append('\n');
      }
    }
    return b.toString();
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : processes.values()) {
      p.destroyForcibly();
    }
    for (Process p : processes.values()) {
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }
}

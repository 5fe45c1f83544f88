package dev.erofspipeline.publish.signing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the openssl command line (tests use it as the reference implementation). */
public final class OpenSsl {

  public record Result(int exitCode, String stdout, String stderr) {}

  private OpenSsl() {}

  public static Result run(Path dir, Map<String, String> env, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    pb.environment().putAll(env);
    Path out = Files.createTempFile(dir, "openssl", ".out");
    Path err = Files.createTempFile(dir, "openssl", ".err");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("openssl timed out: " + cmd);
    }
    Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1),
        Files.readString(err, StandardCharsets.ISO_8859_1));
    Files.delete(out);
    Files.delete(err);
    return r;
  }

  /** Runs openssl and fails the test if it does not exit 0. */
  public static Result ok(Path dir, String... args) throws IOException, InterruptedException {
    return ok(dir, Map.of(), args);
  }

  public static Result ok(Path dir, Map<String, String> env, String... args) throws IOException, InterruptedException {
    Result r = run(dir, env, args);
    if (r.exitCode() != 0) {
      fail("openssl " + String.join(" ", args) + " exited " + r.exitCode() + ": " + r.stderr());
    }
    return r;
  }
}

package dev.erofspipeline.convert.verity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Runs the real veritysetup (cryptsetup-bin) for cross-checks. */
public final class VeritySetup {
  public static final String BINARY = "/usr/sbin/veritysetup";

  private VeritySetup() {}

  /** Runs veritysetup, returns its output; throws if it exits non-zero. */
  public static String run(String... args) throws IOException, InterruptedException {
    Result r = exec(args);
    if (r.exitCode() != 0) {
      throw new IOException("veritysetup " + String.join(" ", args) + " exited " + r.exitCode() + ": " + r.output());
    }
    return r.output();
  }

  public record Result(int exitCode, String output) {}

  public static Result exec(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(BINARY);
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Result(p.waitFor(), out);
  }
}

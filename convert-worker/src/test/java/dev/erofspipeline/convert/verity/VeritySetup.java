package dev.erofspipeline.convert.verity;

import dev.erofspipeline.convert.Processes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Runs the real veritysetup (cryptsetup-bin) for cross-checks. */
public final class VeritySetup {
  public static final String BINARY = "/usr/sbin/veritysetup";

  private VeritySetup() {}

  /** Runs veritysetup, returns its output; throws if it exits non-zero. */
  public static String run(String... args) throws IOException, InterruptedException {
    Processes.Result r = exec(args);
    if (r.code() != 0) {
      throw new IOException("veritysetup " + String.join(" ", args) + " exited " + r.code() + ": " + r.out());
    }
    return r.out();
  }

  public static Processes.Result exec(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(BINARY);
    cmd.addAll(List.of(args));
    return Processes.exec(cmd.toArray(String[]::new));
  }
}

package dev.erofspipeline.launcher;

import dev.erofspipeline.launcher.service.RoleServices;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/** One in-process run of {@code erofs-pipeline ARGS…}: its exit code and what it printed. */
record CommandRun(int exitCode, String out, String err) {

  /** {@code run …} in-process on another thread: its services once they started (close them to end the run). */
  static RoleServices startRun(String... args) throws Exception {
    CompletableFuture<RoleServices> started = new CompletableFuture<>();
    RunCommand.onStarted = started::complete;
    try {
      CompletableFuture<CommandRun> running = CompletableFuture.supplyAsync(() -> run(args));
      CompletableFuture.anyOf(started, running).get(60, TimeUnit.SECONDS);
      if (!started.isDone()) {
        throw new AssertionError("run ended without starting: " + running.get());
      }
      return started.get();
    } finally {
      RunCommand.onStarted = s -> { };
    }
  }

  static CommandRun run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int rc = cl.execute(args);
    return new CommandRun(rc, out.toString(), err.toString());
  }
}

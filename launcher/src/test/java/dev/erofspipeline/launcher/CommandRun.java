package dev.erofspipeline.launcher;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** One in-process run of {@code erofs-pipeline ARGS…}: its exit code and what it printed. */
record CommandRun(int exitCode, String out, String err) {

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

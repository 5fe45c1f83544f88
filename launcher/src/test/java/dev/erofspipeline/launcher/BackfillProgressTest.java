package dev.erofspipeline.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.erofspipeline.ingest.Backfill;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BackfillProgressTest {

  @Test
  void aTerminalGetsOneLineRewrittenInPlaceOtherwiseALinePerRepository() {
    StringWriter tty = new StringWriter();
    BackfillCommand.Progress p = new BackfillCommand.Progress(new PrintWriter(tty), true);
    p.update(new Backfill.Progress(2, 0, 0, 1, 1, 1.0, "a"));
    p.update(new Backfill.Progress(2, 2, 0, 3, 3, 3.0, "b")); // the last one is drawn however soon it comes
    p.finish();
    String t = tty.toString();
    assertTrue(t.startsWith("\r"), t);
    assertEquals(2, t.chars().filter(c -> c == '\r').count(), t);
    assertTrue(t.endsWith("\r\u001b[2K[####################] 2/2 repos, 3 tags, 3 requests, 3.0/s b\n"), t);
    assertEquals(1, t.chars().filter(c -> c == '\n').count(), t);

    StringWriter plain = new StringWriter();
    BackfillCommand.Progress q = new BackfillCommand.Progress(new PrintWriter(plain), false);
    q.update(new Backfill.Progress(2, 0, 0, 1, 1, 1.0, "a"));
    q.update(new Backfill.Progress(2, 0, 0, 2, 2, 2.0, "a"));
    q.update(new Backfill.Progress(2, 1, 0, 2, 2, 2.0, "a"));
    q.update(new Backfill.Progress(2, 2, 0, 3, 3, 3.0, "b"));
    q.finish();
    assertEquals(3, plain.toString().lines().count(), plain.toString());
    assertTrue(!plain.toString().contains("\r"));
  }

  @Test
  void ratesAndDatesParse() {
    assertEquals(10.0, BackfillCommand.parseRate("10/s"));
    assertEquals(0.5, BackfillCommand.parseRate("0.5"));
    assertThrows(IllegalArgumentException.class, () -> BackfillCommand.parseRate("-1/s"));
    assertThrows(IllegalArgumentException.class, () -> BackfillCommand.parseRate("fast"));
    assertEquals(Instant.parse("2024-05-01T00:00:00Z"), BackfillCommand.parseSince("2024-05-01"));
    assertEquals(Instant.parse("2024-05-01T10:00:00Z"), BackfillCommand.parseSince("2024-05-01T12:00:00+02:00"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BackfillCommand.parseSince("May 1"));
    assertTrue(e.getMessage().startsWith("--since must be"), e.getMessage());
  }
}

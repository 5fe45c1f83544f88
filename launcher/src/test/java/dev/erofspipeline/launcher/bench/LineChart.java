package dev.erofspipeline.launcher.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * A line chart drawn with Java2D (headless) and written as PNG: one or more series over a shared x
 * axis, linear axes starting at zero, a legend. Enough for the load test's lag and memory plots
 * without a plotting library.
 */
public final class LineChart {
  private static final Color[] PALETTE = {
    new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
    new Color(0x8c564b)
  };
  private static final int WIDTH = 960;
  private static final int HEIGHT = 440;
  private static final int LEFT = 80;
  private static final int RIGHT = 24;
  private static final int TOP = 40;
  private static final int BOTTOM = 56;

  private record Series(double[] x, double[] y) {}

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final Map<String, Series> series = new LinkedHashMap<>();

  public LineChart(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  /** Adds a series; x and y have the same length. */
  public LineChart series(String name, double[] x, double[] y) {
    if (x.length != y.length) {
      throw new IllegalArgumentException(name + ": " + x.length + " x values, " + y.length + " y values");
    }
    series.put(name, new Series(x.clone(), y.clone()));
    return this;
  }

  /** A "nice" upper bound (1, 2 or 5 times a power of ten) at or above {@code max}. */
  static double niceCeiling(double max) {
    if (max <= 0) {
      return 1;
    }
    double p = Math.pow(10, Math.floor(Math.log10(max)));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (m * p >= max) {
        return m * p;
      }
    }
    return 10 * p;
  }

  public void writePng(Path file) throws IOException {
    double xMax = 0;
    double yMax = 0;
    for (Series s : series.values()) {
      for (double v : s.x) {
        xMax = Math.max(xMax, v);
      }
      for (double v : s.y) {
        yMax = Math.max(yMax, v);
      }
    }
    xMax = niceCeiling(xMax);
    yMax = niceCeiling(yMax);
    BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, WIDTH, HEIGHT);
      int plotW = WIDTH - LEFT - RIGHT;
      int plotH = HEIGHT - TOP - BOTTOM;
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      FontMetrics fm = g.getFontMetrics();
      for (int i = 0; i <= 5; i++) {
        int y = TOP + plotH - i * plotH / 5;
        int x = LEFT + i * plotW / 5;
        g.setColor(new Color(0xe6e6e6));
        g.drawLine(LEFT, y, LEFT + plotW, y);
        g.drawLine(x, TOP, x, TOP + plotH);
        g.setColor(Color.DARK_GRAY);
        String yl = label(yMax * i / 5);
        g.drawString(yl, LEFT - 6 - fm.stringWidth(yl), y + fm.getAscent() / 2);
        String xl = label(xMax * i / 5);
        g.drawString(xl, x - fm.stringWidth(xl) / 2, TOP + plotH + fm.getHeight() + 2);
      }
      g.setColor(Color.BLACK);
      g.drawRect(LEFT, TOP, plotW, plotH);
      g.drawString(xLabel, LEFT + plotW / 2 - fm.stringWidth(xLabel) / 2, HEIGHT - 12);
      Graphics2D rotated = (Graphics2D) g.create();
      rotated.rotate(-Math.PI / 2);
      rotated.drawString(yLabel, -(TOP + plotH / 2 + fm.stringWidth(yLabel) / 2), 18);
      rotated.dispose();
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
      g.drawString(title, LEFT, TOP - 14);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));

      int legendY = TOP + 16;
      int n = 0;
      g.setStroke(new BasicStroke(1.8f));
      for (Map.Entry<String, Series> e : series.entrySet()) {
        Color c = PALETTE[n++ % PALETTE.length];
        g.setColor(c);
        Series s = e.getValue();
        Path2D.Double line = new Path2D.Double();
        for (int i = 0; i < s.x.length; i++) {
          double px = LEFT + s.x[i] / xMax * plotW;
          double py = TOP + plotH - s.y[i] / yMax * plotH;
          if (i == 0) {
            line.moveTo(px, py);
          } else {
            line.lineTo(px, py);
          }
        }
        g.draw(line);
        int lx = LEFT + plotW - 220;
        g.drawLine(lx, legendY - 4, lx + 24, legendY - 4);
        g.setColor(Color.BLACK);
        g.drawString(e.getKey(), lx + 30, legendY);
        legendY += 16;
      }
    } finally {
      g.dispose();
    }
    if (!ImageIO.write(img, "png", file.toFile())) {
      throw new IOException("no PNG writer");
    }
  }

  private static String label(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : String.format(java.util.Locale.ROOT, "%.1f", v);
  }
}

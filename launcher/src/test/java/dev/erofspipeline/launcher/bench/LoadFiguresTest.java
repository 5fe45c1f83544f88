package dev.erofspipeline.launcher.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The arithmetic behind the load test's figures and plot axes. */
class LoadFiguresTest {
  @Test
  void percentileIsTheNearestRankOfTheSortedValues() {
    List<Double> v = List.of(5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0);
    assertEquals(5.0, LoadBenchmark.percentile(v, 50));
    assertEquals(10.0, LoadBenchmark.percentile(v, 95));
    assertEquals(1.0, LoadBenchmark.percentile(v, 1));
    assertTrue(Double.isNaN(LoadBenchmark.percentile(List.of(), 50)));
  }

  @Test
  void histogramPercentileIsTheUpperBoundOfTheBucketHoldingIt() {
    // cumulative counts: 10 at or below 0.1 s, 90 at or below 1 s, 100 in all
    List<double[]> buckets = List.of(new double[] {0.1, 10}, new double[] {1.0, 90}, new double[] {10.0, 100},
        new double[] {Double.POSITIVE_INFINITY, 100});
    assertEquals(1.0, LoadBenchmark.histogramPercentile(buckets, 50));
    assertEquals(1.0, LoadBenchmark.histogramPercentile(buckets, 90));
    assertEquals(10.0, LoadBenchmark.histogramPercentile(buckets, 95));
    assertEquals(0.1, LoadBenchmark.histogramPercentile(buckets, 5));
  }

  @Test
  void axesEndAtOneTwoOrFiveTimesAPowerOfTen() {
    assertEquals(1, LineChart.niceCeiling(0));
    assertEquals(50, LineChart.niceCeiling(31));
    assertEquals(200, LineChart.niceCeiling(101));
    assertEquals(1000, LineChart.niceCeiling(1000));
    assertEquals(0.5, LineChart.niceCeiling(0.31), 1e-12);
  }
}

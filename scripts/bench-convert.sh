#!/usr/bin/env bash
# The batch benchmark (not a test): ./erofs-pipeline convert of 20 images (60 layer references, 40
# distinct gzip layers of 2..200 MiB, some shared) from a real docker-registry, against the converter
# core alone on the same layers from local files at the same parallelism, in one run. Prints wall
# time, MB/s of tar, the share of time outside the converter core, CPU and machine load.
# Usage: scripts/bench-convert.sh [layer cache dir] [work dir]
#   (defaults /tmp/erofs-bench-layers /tmp/erofs-bench-convert; needs docker-registry; the layers are
#   generated once and shared with scripts/bench-worker.sh; BENCH_CONVERT_JAVA_OPTS: JVM options of
#   the convert process, e.g. -XX:TieredStopAtLevel=1 to compare JIT settings)
set -euo pipefail
cd "$(dirname "$0")/.."
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# one reactor build: the launcher jar that convert runs, and the benchmark's classpath from the
# modules' target/classes (never SNAPSHOT jars in ~/.m2)
mvn -B -q -DskipTests -pl launcher -am package dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
# the class-data-sharing archive ./erofs-pipeline uses: written by a demo run when missing or stale
if ! [ launcher/target/erofs-pipeline.jsa -nt launcher/target/erofs-pipeline.jar ]; then
  ./erofs-pipeline demo > /dev/null 2>&1
fi
exec java -Xmx${BENCH_XMX:-1g} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "launcher/target/test-classes:launcher/target/classes:$(cat "$cp_file")" \
  dev.erofspipeline.launcher.bench.ConvertBenchmark "$@"

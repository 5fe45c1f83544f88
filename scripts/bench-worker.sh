#!/usr/bin/env bash
# Benchmarks the convert worker (not a test): gzip layers in a real docker-registry, the worker on a
# real broker and S3Proxy, against the converter core on the same blobs from local files, at 1 and 2
# layers in flight; prints where the worker's time and the machine's CPU go.
# Usage: scripts/bench-worker.sh [layers] [largest MiB] [smallest MiB] [layer cache dir]
#   (defaults 40 200 2 /tmp/erofs-bench-layers; needs docker-registry; the layers are generated once)
set -euo pipefail
cd "$(dirname "$0")/.."
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# one reactor build: the classpath names the modules' target/classes, never SNAPSHOT jars in ~/.m2
mvn -B -q -DskipTests -pl convert-worker -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
exec java -Xmx${BENCH_XMX:-3g} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn ${BENCH_JAVA_OPTS:-} \
  -cp "convert-worker/target/test-classes:convert-worker/target/classes:$(cat "$cp_file")" \
  dev.erofspipeline.convert.worker.bench.WorkerBenchmark "$@"

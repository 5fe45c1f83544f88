#!/usr/bin/env bash
# Benchmarks the convert worker (not a test): N gzip layers in a real docker-registry, the worker
# on a real broker and S3Proxy, against the converter core on the same blobs, at 1 and 2 layers in
# flight. Usage: scripts/bench-worker.sh [layers] [largest MiB]   (needs docker-registry)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests install -pl convert-worker -am
mvn -B -q test-compile -pl convert-worker
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
mvn -B -q dependency:build-classpath -pl convert-worker -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
exec java -Xmx${BENCH_XMX:-2g} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "convert-worker/target/test-classes:convert-worker/target/classes:$(cat "$cp_file")" \
  dev.erofspipeline.convert.worker.bench.WorkerBenchmark "$@"

#!/usr/bin/env bash
# Benchmarks the layer converter (not a test): builds a synthetic layer of a few hundred MB once,
# then prints converter throughput, the floor (gunzip + one sha256), their ratio, peak heap, and
# pigz -dc | sha256sum and veritysetup format 512/512 on the same data.
# Usage: scripts/bench-converter.sh [workDir] [targetMegabytes] [runs]   (needs pigz, veritysetup)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests install -pl convert-worker -am
mvn -B -q test-compile -pl convert-worker
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
mvn -B -q dependency:build-classpath -pl convert-worker -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
exec java -Xmx${BENCH_XMX:-512m} -cp "convert-worker/target/test-classes:convert-worker/target/classes:$(cat "$cp_file")" \
  dev.erofspipeline.convert.bench.ConverterBenchmark "$@"

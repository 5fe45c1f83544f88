#!/usr/bin/env bash
# Benchmarks the layer converter (not a test): builds a synthetic layer of a few hundred MB once,
# then prints converter throughput, the floor (gunzip + one sha256), their ratio, peak heap, the
# native profile against the tar-index profile on the same blobs (MB/s, peak heap, temporary disk),
# and pigz -dc | sha256sum and veritysetup format 512/512 on the same data.
# Usage: scripts/bench-converter.sh [workDir] [targetMegabytes] [runs]   (needs pigz, zstd, veritysetup)
#    or: BENCH_XMX=256m scripts/bench-converter.sh --bounded GB [workDir]   (a tar generated on the fly)
set -euo pipefail
cd "$(dirname "$0")/.."
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# one reactor build: the classpath names the modules' target/classes, never SNAPSHOT jars in ~/.m2
mvn -B -q -DskipTests -pl convert-worker -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
exec java -Xmx${BENCH_XMX:-512m} -cp "convert-worker/target/test-classes:convert-worker/target/classes:$(cat "$cp_file")" \
  dev.erofspipeline.convert.bench.ConverterBenchmark "$@"

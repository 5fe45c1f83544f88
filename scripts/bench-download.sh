#!/usr/bin/env bash
# Benchmarks blob downloads (not a test): the CPU the registry client spends on one blob from a real
# docker-registry, against the JDK HttpClient, a bare HttpURLConnection and curl, in one run.
# Usage: scripts/bench-download.sh [MiB per blob] [rounds]   (defaults 100 9; needs docker-registry)
set -euo pipefail
cd "$(dirname "$0")/.."
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# one reactor build: the classpath names the modules' target/classes, never SNAPSHOT jars in ~/.m2
mvn -B -q -DskipTests -pl registry-client -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
exec java -Xmx${BENCH_XMX:-1g} ${BENCH_JAVA_OPTS:-} \
  -cp "registry-client/target/test-classes:registry-client/target/classes:$(cat "$cp_file")" \
  dev.erofspipeline.registry.bench.BlobDownloadBenchmark "$@"

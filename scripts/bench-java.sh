#!/usr/bin/env bash
# Runs a benchmark program of a module's test classes (what the scripts/bench-*.sh share).
# Usage: scripts/bench-java.sh MODULE MAIN_CLASS DEFAULT_XMX [arguments…]
#   BENCH_XMX overrides the heap, BENCH_JAVA_OPTS adds JVM options.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$1 main=$2 xmx=$3
shift 3
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# one reactor build: the classpath names the modules' target/classes, never SNAPSHOT jars in ~/.m2
mvn -B -q -DskipTests -pl "$module" -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
cp="$module/target/test-classes:$module/target/classes:$(cat "$cp_file")"
rm -f "$cp_file"
trap - EXIT
exec java -Xmx"${BENCH_XMX:-$xmx}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn ${BENCH_JAVA_OPTS:-} -cp "$cp" "$main" "$@"

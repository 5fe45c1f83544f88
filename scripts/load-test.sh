#!/usr/bin/env bash
# Load test (a benchmark, not part of scripts/test.sh): a docker-registry seeded with generated images
# (many sharing layers), Kafka and S3 in a JVM of their own, ingest, worker and publish as separate
# `./erofs-pipeline run` processes, then a full `./erofs-pipeline backfill`. Samples consumer lag and
# RSS every second, checks that nothing was lost or duplicated, and writes summary.json, samples.csv,
# lag.png and rss.png to OUT_DIR (default docs/load).
#
# Usage: scripts/load-test.sh [OUT_DIR] [images=300] [repos=30] [scale=1.0] [workers=1] [publishers=1]
#                             [concurrency=2] [xmx=512m] [verify=5] [timeoutMinutes=30]
# Needs docker-registry and skopeo (apt-get install -y --no-install-recommends docker-registry skopeo).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/load}"
shift || true
for tool in docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "load-test: $tool is missing (apt-get install -y --no-install-recommends docker-registry skopeo)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/erofs-load-XXXXXX)
cp_file="$work/classpath"
# the generated layout and the Kafka/S3 data go; the logs of every process stay for a look
trap 'rm -rf "$work/run/layout" "$work/run/infra" "$work/classpath"; echo "load-test: logs in $work/run" >&2' EXIT
# the launcher jar the roles run, and the test classes of the driver, from this tree only (-am)
mvn -B -q -DskipTests -pl launcher -am package
mvn -B -q -DskipTests -pl launcher -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
echo "load-test: uptime before: $(uptime)"
rc=0
java -Xmx2g -Djava.awt.headless=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "launcher/target/test-classes:launcher/target/classes:$(cat "$cp_file")" \
  dev.erofspipeline.launcher.bench.LoadBenchmark "$out" "$work/run" "$@" || rc=$?
echo "load-test: uptime after: $(uptime)"
exit $rc

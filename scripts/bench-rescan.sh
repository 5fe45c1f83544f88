#!/usr/bin/env bash
# Benchmarks the publisher's passes over pending images (not a test): S3 requests per pass against the
# number of pending images, the full pass every process made every publish.retrySeconds before against
# the timer pass, the periodic rescan and a layer result now (docs/load.md, "What breaks first").
# Usage: scripts/bench-rescan.sh [pending images, comma-separated] [layers per image]  (defaults 500,2000 8)
exec "$(dirname "$0")/bench-java.sh" publish dev.erofspipeline.publish.route.RescanBenchmark 1g "$@"

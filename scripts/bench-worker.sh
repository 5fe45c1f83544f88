#!/usr/bin/env bash
# Benchmarks the convert worker (not a test): gzip layers in a real docker-registry, the worker on a
# real broker and S3Proxy, against the converter core on the same blobs from local files, at 1 and 2
# layers in flight; prints where the worker's time and the machine's CPU go.
# Usage: scripts/bench-worker.sh [layers] [largest MiB] [smallest MiB] [layer cache dir]
#   (defaults 40 200 2 /tmp/erofs-bench-layers; needs docker-registry; the layers are generated once)
exec "$(dirname "$0")/bench-java.sh" convert-worker dev.erofspipeline.convert.worker.bench.WorkerBenchmark 3g "$@"

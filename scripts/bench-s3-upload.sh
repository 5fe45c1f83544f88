#!/usr/bin/env bash
# Benchmarks S3 uploads (not a test): CPU per GB through the worker's multipart upload stream to the
# embedded S3Proxy, for several S3 client settings, in one run.
# Usage: scripts/bench-s3-upload.sh [MiB per object] [objects per round] [rounds] [part MiB]  (defaults 64 4 3 8)
exec "$(dirname "$0")/bench-java.sh" convert-worker dev.erofspipeline.convert.worker.bench.S3UploadBenchmark 2g "$@"

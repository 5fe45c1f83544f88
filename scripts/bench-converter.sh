#!/usr/bin/env bash
# Benchmarks the layer converter (not a test): builds a synthetic layer of a few hundred MB once,
# then prints converter throughput, the floor (gunzip + one sha256), their ratio, peak heap, the
# native profile against the tar-index profile on the same blobs (MB/s, peak heap, temporary disk),
# and pigz -dc | sha256sum and veritysetup format 512/512 on the same data.
# Usage: scripts/bench-converter.sh [workDir] [targetMegabytes] [runs]   (needs pigz, zstd, veritysetup)
#    or: BENCH_XMX=256m scripts/bench-converter.sh --bounded GB [workDir]   (a tar generated on the fly)
exec "$(dirname "$0")/bench-java.sh" convert-worker dev.erofspipeline.convert.bench.ConverterBenchmark 512m "$@"

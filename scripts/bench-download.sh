#!/usr/bin/env bash
# Benchmarks blob downloads (not a test): the CPU the registry client spends on one blob from a real
# docker-registry, against the JDK HttpClient, a bare HttpURLConnection and curl, in one run.
# Usage: scripts/bench-download.sh [MiB per blob] [rounds]   (defaults 100 9; needs docker-registry)
exec "$(dirname "$0")/bench-java.sh" registry-client dev.erofspipeline.registry.bench.BlobDownloadBenchmark 1g "$@"

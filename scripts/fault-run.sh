#!/usr/bin/env bash
# The full fault run of issue 8 (docs/faults.md), not part of the default test run: FaultsTest with
# 21 worker SIGKILLs spread over conversion, upload and result emission, 4 publisher kills, 3 broker
# and 3 S3 restarts and registry errors, on a seeded plan; prints the FAULTS lines (what was injected
# and when, then the counts). Usage: scripts/fault-run.sh [worker kills (21)] [seed (8)]
# Needs docker-registry and skopeo (scripts/test.sh installs them). The whole log: launcher/target/fault-run.log
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-21}
seed=${2:-8}
mkdir -p launcher/target
log=launcher/target/fault-run.log
start=$(date +%s)
if mvn -B -q -pl launcher -am verify -Dtest=FaultsTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Derofs.faults.workerKills="$kills" -Derofs.faults.seed="$seed" >"$log" 2>&1; then
  rc=0
else
  rc=$?
fi
grep -a '^FAULTS' "$log" || true
echo "fault run: exit $rc after $(( $(date +%s) - start )) s (log: $log)"
if [ "$rc" -ne 0 ]; then
  grep -a -A20 'FAILURE\|AssertionFailedError' "$log" | head -60
fi
exit "$rc"

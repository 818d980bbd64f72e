#!/usr/bin/env bash
# The test command: sets up what is missing, builds, runs every test project, and ends with
# a line "N passed, N failed". Exits non-zero when anything fails.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

passed=0; failed=0; status=0
for proj in tests/*/*.csproj; do
  name=$(basename "$proj" .csproj)
  echo "== $name"
  log=$(mktemp)
  dotnet test "$proj" -c Release --nologo 2>&1 | tee "$log" | grep -E "^\s*(Failed|Passed!|Failed!|error)|\[FAIL\]" || true
  line=$(grep -E "(Passed|Failed)!\s+-\s+Failed:" "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "   $name did not run (build or test host failure); see above"; tail -30 "$log"
    failed=$((failed + 1)); status=1
  else
    p=$(echo "$line" | sed -E 's/.*Passed:\s*([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failed:\s*([0-9]+),.*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -eq 0 ] || status=1
  fi
  rm -f "$log"
done
echo "$passed passed, $failed failed"
exit $status

#!/usr/bin/env bash
# The test command: sets up what is missing, builds, runs every test project, and ends with a line
# "N passed, N failed". Exits non-zero when anything fails.
#
# The tests run twice: on this machine's libtorch (Debian 12's 1.13), and on libtorch 2.x inside a Debian sid root
# (scripts/libtorch2.sh; needs root, made once and cached). LLMTRAIN_LIBTORCH2=0 runs the first leg only.
# Then the GPU acceptance script runs end to end on the CPU from a fresh pack (benchmarks/gpu_acceptance.sh --selftest;
# LLMTRAIN_GPU_SELFTEST=0 leaves it out): its steps count as tests.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

passed=0; failed=0; status=0

# run_tests LABEL RUNNER...: every test project through RUNNER (a command prefix that runs a shell command line).
run_tests() {
  local label=$1; shift
  local leg_passed=0 leg_failed=0 proj name log line p f
  for proj in tests/*/*.csproj; do
    name=$(basename "$proj" .csproj)
    echo "== $name ($label)"
    log=$(mktemp)
    "$@" "dotnet test '$proj' -c Release --no-build --nologo" 2>&1 | tee "$log" | grep -E "^\s*(Failed|Passed!|Failed!|error)|\[FAIL\]" || true
    line=$(grep -E "(Passed|Failed)!\s+-\s+Failed:" "$log" | tail -1)
    if [ -z "$line" ]; then
      echo "   $name did not run (build or test host failure); see above"; tail -30 "$log"
      leg_failed=$((leg_failed + 1)); status=1
    else
      p=$(echo "$line" | sed -E 's/.*Passed:\s*([0-9]+).*/\1/')
      f=$(echo "$line" | sed -E 's/.*Failed:\s*([0-9]+),.*/\1/')
      leg_passed=$((leg_passed + p)); leg_failed=$((leg_failed + f))
      [ "$f" -eq 0 ] || status=1
    fi
    rm -f "$log"
  done
  echo "[$label] $leg_passed passed, $leg_failed failed"
  passed=$((passed + leg_passed)); failed=$((failed + leg_failed))
}

on_host() { bash -c "$1"; }
in_root() { bash "$ROOT/scripts/libtorch2.sh" exec "$1"; }

host_torch=$(artifacts/llmtrain/llmtrain info --brief 2>/dev/null | grep -oE 'libtorch [0-9.]+' || echo "libtorch ?")
dotnet build LlmTrainer.sln -c Release -v quiet -nologo 2>&1 | grep -E "error|warn" && { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
artifacts/llmtrain/llmtrain info | sed -n '2,4p'
run_tests "$host_torch" on_host

if [ "${LLMTRAIN_LIBTORCH2:-1}" = "0" ]; then
  echo "[libtorch 2.x] not run: LLMTRAIN_LIBTORCH2=0"
elif [ "$(id -u)" -ne 0 ]; then
  echo "[libtorch 2.x] not run: making the Debian sid root needs root (run as root, or LLMTRAIN_LIBTORCH2=0 to silence this)"
else
  echo "== building the native shim against libtorch 2.x (scripts/libtorch2.sh)"
  if bash scripts/libtorch2.sh build; then
    in_root "dotnet artifacts/llmtrain/llmtrain.dll info" | sed -n '2,4p'
    torch2=$(in_root "dotnet artifacts/llmtrain/llmtrain.dll info --brief" 2>/dev/null | grep -oE 'libtorch [0-9.]+' || echo "libtorch 2.x")
    run_tests "$torch2" in_root
  else
    echo "[libtorch 2.x] the shim did not build; see above"
    failed=$((failed + 1)); status=1
  fi
fi

# The GPU acceptance script, packed and run end to end on the CPU, so that it works the day it meets a GPU.
if [ "${LLMTRAIN_GPU_SELFTEST:-1}" = "0" ]; then
  echo "[gpu acceptance selftest] not run: LLMTRAIN_GPU_SELFTEST=0"
else
  echo "== gpu acceptance selftest (benchmarks/gpu_acceptance.sh --selftest)"
  log=$(mktemp)
  bash benchmarks/gpu_acceptance.sh --selftest > "$log" 2>&1; rc=$?
  line=$(grep -E "^gpu acceptance \(cpu\): [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  grep -E "^(\[gpa\] error|gpu acceptance selftest)" "$log" || true
  if [ $rc -eq 0 ] && [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    passed=$((passed + p))
  else
    tail -40 "$log"
    failed=$((failed + 1)); status=1
  fi
  rm -f "$log"
fi

echo "$passed passed, $failed failed"
exit $status

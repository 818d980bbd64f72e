#!/usr/bin/env bash
# A 15m CPU training step (batch 8 x 256, no gradient accumulation, float32, AdamW, clipping) in llmtrain and in
# TorchSharp 0.107.0 (TorchSharp-cpu, which bundles libtorch 2.10), same model, shapes, optimizer settings and threads.
# Sides, alternated ROUNDS times (default 3; the starting side rotates, llmtrain on the host first), each keeping its
# fastest round, since on a shared machine other tenants only ever add time:
#   llmtrain  on the host's libtorch (Debian 12: 1.13)
#   llmtrain  on libtorch 2.x inside the Debian sid root of scripts/libtorch2.sh (the shim in artifacts/native-2x)
#   TorchSharp                 inside the same root (benchmarks/torchsharp/, built here into artifacts/torchsharp)
# Besides the binding, the sides differ in what they sit on: TorchSharp bundles PyTorch's official libtorch (MKL
# statically linked), llmtrain uses Debian's (OpenBLAS); TorchSharp's AdamW is a per-parameter loop of tensor ops in C#,
# and 0.107 has no nn.RMSNorm, so its RMSNorm is composed of tensor ops (as a TorchSharp user would write it).
# On a loaded 2-core machine rounds of the same side can differ by 5x or more: read the "all rounds" column, and rerun
# with more ROUNDS when a side's fastest round stands alone.
# Usage: benchmarks/torchsharp.sh   (STEPS=5 WARMUP=2 ROUNDS=3 by default). Needs scripts/setup.sh run first, root for
# the chroot, and the NuGet registry the first time (TorchSharp-cpu restores every platform's libtorch: 1.2 GB).
#
# Why TorchSharp runs only inside the root: its native library is built against a newer libstdc++ than Debian 12's. On
# the host, `dotnet artifacts/torchsharp/torchsharp-train-step.dll ...` aborts with
#   Unhandled exception. System.TypeInitializationException: The type initializer for 'TorchSharp.torch' threw an exception.
#    ---> System.NotSupportedException: This application or script uses TorchSharp but doesn't contain a reference to
#         libtorch-cpu-linux-x64, Version=2.10.0.0.
#   ...  Failed to load native component /work/.../artifacts/torchsharp/libLibTorchSharp.so
# and the loader's own reason, hidden by that message (`ldd artifacts/torchsharp/libLibTorchSharp.so`), is
#   /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by artifacts/torchsharp/libLibTorchSharp.so)
# (Debian 12's libstdc++ stops at GLIBCXX_3.4.30). While trying, TorchSharp copies its native libraries from the NuGet
# cache into artifacts/torchsharp/cpu (delete it afterwards).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# llmtrain lets idle OpenMP workers sleep (see OpenMpEnvironment.cs); every side gets the same setting. Both libtorch
# builds use GNU OpenMP, which reads it.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
EXPECTED_PARAMETERS=15191712
BENCH="bench train --config 15m --device cpu --batch_size 8 --grad_accum_steps 1 --steps $STEPS --warmup $WARMUP --json"

command -v jq >/dev/null 2>&1 || { echo "needs jq (apt-get install jq)" >&2; exit 1; }
[ -f artifacts/llmtrain/llmtrain.dll ] || { echo "run scripts/setup.sh first (builds llmtrain against the host's libtorch)" >&2; exit 1; }
[ -f artifacts/native-2x/libllmtorch.so ] || bash scripts/libtorch2.sh build
echo "building benchmarks/torchsharp (restores TorchSharp-cpu 0.107.0 the first time)" >&2
dotnet build benchmarks/torchsharp -c Release -v quiet -nologo -o artifacts/torchsharp > artifacts/torchsharp-build.log 2>&1 ||
  { grep -E 'error' artifacts/torchsharp-build.log >&2 || tail -20 artifacts/torchsharp-build.log >&2; exit 1; }

in_root() { bash scripts/libtorch2.sh exec "OMP_WAIT_POLICY=$OMP_WAIT_POLICY $*"; }
json() { jq -r "$2" <<< "$1"; }

host_libtorch=$(dotnet artifacts/llmtrain/llmtrain.dll info --brief | grep -oE 'libtorch [0-9.]+' | cut -d' ' -f2)
root_libtorch=$(in_root dotnet artifacts/llmtrain/llmtrain.dll info --brief | grep -oE 'libtorch [0-9.]+' | cut -d' ' -f2)
# TorchSharp is given llmtrain's resolved config (shapes, ffn_hidden, AdamW settings) and thread count.
resolved="" threads="" ts_libtorch=""
run_side() {
  case $1 in
    host) dotnet artifacts/llmtrain/llmtrain.dll $BENCH ;;
    root) in_root dotnet artifacts/llmtrain/llmtrain.dll $BENCH ;;
    torchsharp) in_root dotnet artifacts/torchsharp/torchsharp-train-step.dll "'$resolved'" "$STEPS" "$WARMUP" "$threads" ;;
  esac
}

sides=(host root torchsharp)
declare -A best all params
echo "load before: $(uptime)"
for round in $(seq "$ROUNDS"); do
  for i in 0 1 2; do
    side=${sides[(round - 1 + i) % 3]}
    out=$(run_side "$side" | tail -1)
    if [ -z "$resolved" ]; then resolved=$(json "$out" '.resolved | tojson'); threads=$(json "$out" .threads); fi
    ms=$(json "$out" .ms_per_step)
    params[$side]=$(json "$out" .parameters)
    all[$side]="${all[$side]:+${all[$side]} }$ms"
    [ "$side" = torchsharp ] && ts_libtorch=$(json "$out" .libtorch)
    if [ -z "${best[$side]:-}" ] || awk -v a="$ms" -v b="${best[$side]}" 'BEGIN { exit !(a < b) }'; then best[$side]=$ms; fi
    echo "round $round: $side $ms ms/step (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  done
done
echo "load after:  $(uptime)"

for s in "${sides[@]}"; do
  [ -n "${best[$s]:-}" ] || { echo "no measurement for $s (ROUNDS too small?)" >&2; exit 1; }
  [ "${params[$s]}" = "$EXPECTED_PARAMETERS" ] || { echo "parameter count differs: $s has ${params[$s]}, 15m has $EXPECTED_PARAMETERS" >&2; exit 1; }
done
echo "parameters: $(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<< "$EXPECTED_PARAMETERS") on every side (the same model); $threads threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, $STEPS timed steps after $WARMUP, best of $ROUNDS rounds"
tokens=$((8 * 256))
printf '%-34s %10s %12s %14s  %s\n' side libtorch "best ms/step" "tokens/s" "all rounds (ms/step)"
row() { printf '%-34s %10s %12.1f %14.0f  %s\n' "$1" "$2" "${best[$3]}" "$(jq -n "$tokens / ${best[$3]} * 1000")" "${all[$3]}"; }
row "llmtrain (host)" "$host_libtorch" host
row "llmtrain (sid root)" "$root_libtorch" root
row "TorchSharp 0.107.0 (sid root)" "$ts_libtorch" torchsharp
ratio() { jq -n "${best[torchsharp]} / ${best[$1]} * 100 | round / 100"; }
echo "TorchSharp ms/step / llmtrain ms/step (above 1: llmtrain is faster): host $(ratio host)x, sid root $(ratio root)x"

#!/usr/bin/env bash
# Training steps of the same llmtrain build on this machine's libtorch (Debian 12's 1.13) and on libtorch 2.x (the Debian
# sid root of scripts/libtorch2.sh, needs root), alternating, each side keeping its fastest round.
# Usage: benchmarks/libtorch_versions.sh [CONFIG...]   (default: tiny 15m)
# OVERRIDES applies config keys to both sides (default for 15m: batch 8, no accumulation, as in the README's table);
# EXTRA_2X adds environment settings to the 2.x side only, e.g. EXTRA_2X="LLMTRAIN_CPU_CACHE=0".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
configs=("$@"); [ ${#configs[@]} -gt 0 ] || configs=(tiny 15m)
[ -f artifacts/native-2x/libllmtorch.so ] || bash scripts/libtorch2.sh build
ms() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ms_per_step"])' "$1"; }
min() { /usr/bin/python3 -c 'import sys; v=[float(x) for x in sys.argv[1:] if x]; print(min(v))' "$@"; }
printf '%-8s %14s %14s %10s\n' config "1.13 ms/step" "2.x ms/step" "1.13 / 2.x"
for cfg in "${configs[@]}"; do
  overrides=${OVERRIDES:-}
  [ -z "$overrides" ] && [ "$cfg" = "15m" ] && overrides="--batch_size 8 --grad_accum_steps 1"
  args="bench train --config $cfg --device cpu --steps $STEPS --warmup $WARMUP $overrides --json"
  best1="" best2=""
  for _ in $(seq "$ROUNDS"); do
    one=$(ms "$(dotnet artifacts/llmtrain/llmtrain.dll $args)")
    two=$(ms "$(bash scripts/libtorch2.sh exec "${EXTRA_2X:-} dotnet artifacts/llmtrain/llmtrain.dll $args")")
    best1=$(min "$best1" "$one"); best2=$(min "$best2" "$two")
  done
  v2=$(bash scripts/libtorch2.sh exec "dotnet artifacts/llmtrain/llmtrain.dll info --brief" | grep -oE 'libtorch [0-9.]+')
  printf '%-8s %14.1f %14.1f %9.2fx   (%s)\n' "$cfg" "$best1" "$best2" "$(/usr/bin/python3 -c "print($best1/$best2)")" "$v2"
done

#!/usr/bin/env bash
# Training-step throughput of llmtrain against the same model in PyTorch eager (Debian's python3-torch),
# same shapes, AdamW, clipping and thread count, run one after the other on this machine.
# Usage: benchmarks/train_step.sh [CONFIG...]   (default: tiny 15m). Prints ms/step, tokens/s and the ratio.
# Config keys can be overridden for both sides, e.g. OVERRIDES="--batch_size 8 --grad_accum_steps 1".
# The two sides alternate ROUNDS times (default 3) and each keeps its fastest round: on a shared machine the other
# tenants only ever add time, so the minimum is the fairest estimate of what each costs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# llmtrain lets idle OpenMP workers sleep (see OpenMpEnvironment.cs); PyTorch gets the same setting.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
read -r -a overrides <<< "${OVERRIDES:-}"
configs=("$@"); [ ${#configs[@]} -gt 0 ] || configs=(tiny 15m)
dpkg -s python3-torch >/dev/null 2>&1 || { echo "needs Debian's python3-torch (apt-get install python3-torch)" >&2; exit 1; }
printf '%-8s %12s %8s %14s %14s %14s %14s %7s\n' config params threads "llmtrain ms" "pytorch ms" "llmtrain tok/s" "pytorch tok/s" ratio
for cfg in "${configs[@]}"; do
  best_ours="" best_theirs=""
  for _ in $(seq "$ROUNDS"); do
    ours=$(dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" bench train --config "$cfg" --device cpu --steps "$STEPS" --warmup "$WARMUP" "${overrides[@]}" --json)
    resolved=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["resolved"]))' "$ours")
    threads=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["threads"])' "$ours")
    theirs=$(/usr/bin/python3 "$ROOT/benchmarks/train_step.py" "$resolved" "$STEPS" "$WARMUP" "$threads")
    best_ours=$(/usr/bin/python3 -c 'import json,sys; a,b=(json.loads(x) if x else None for x in sys.argv[1:]); print(json.dumps(b if a is None or b["ms_per_step"]<a["ms_per_step"] else a))' "$best_ours" "$ours")
    best_theirs=$(/usr/bin/python3 -c 'import json,sys; a,b=(json.loads(x) if x else None for x in sys.argv[1:]); print(json.dumps(b if a is None or b["ms_per_step"]<a["ms_per_step"] else a))' "$best_theirs" "$theirs")
  done
  /usr/bin/python3 - "$cfg" "$best_ours" "$best_theirs" <<'PY'
import json, sys
cfg, o, t = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"{cfg:8} {o['parameters']:>12,} {o['threads']:>8} {o['ms_per_step']:>14.1f} {t['ms_per_step']:>14.1f} "
      f"{o['tokens_per_sec']:>14,.0f} {t['tokens_per_sec']:>14,.0f} {t['ms_per_step'] / o['ms_per_step']:>6.2f}x")
PY
done

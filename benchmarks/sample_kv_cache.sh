#!/usr/bin/env bash
# Decoding throughput with and without the KV cache: greedy decoding of a random-weight model, the same prompt and
# number of new tokens both ways, run one after the other on this machine.
# Usage: benchmarks/sample_kv_cache.sh [CONFIG...]   (default: tiny 15m), each at batch 1 and 8.
# Env: TOKENS (new tokens per sequence, default 256), BATCHES (default "1 8"), DEVICE (default cpu),
#      REPEATS (timed runs of each way, alternating, best counts; default 1),
#      LLMTRAIN (the llmtrain.dll to run, default artifacts/llmtrain/llmtrain.dll from scripts/setup.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOKENS=${TOKENS:-256}
BATCHES=${BATCHES:-"1 8"}
DEVICE=${DEVICE:-cpu}
REPEATS=${REPEATS:-1}
LLMTRAIN=${LLMTRAIN:-"$ROOT/artifacts/llmtrain/llmtrain.dll"}
[ -f "$LLMTRAIN" ] || { echo "no $LLMTRAIN: run scripts/setup.sh, or set LLMTRAIN to a built llmtrain.dll" >&2; exit 1; }
configs=("$@"); [ ${#configs[@]} -gt 0 ] || configs=(tiny 15m)
printf '%-8s %12s %6s %8s %6s %7s %16s %16s %8s\n' config params device threads batch tokens "cache tok/s" "no-cache tok/s" speedup
for cfg in "${configs[@]}"; do
  for batch in $BATCHES; do
    r=$(dotnet "$LLMTRAIN" bench sample --config "$cfg" --device "$DEVICE" --batch "$batch" --tokens "$TOKENS" --repeats "$REPEATS" --json)
    python3 - "$cfg" "$r" <<'PY'
import json, sys
cfg, r = sys.argv[1], json.loads(sys.argv[2])
print(f"{cfg:8} {r['parameters']:>12,} {r['device']:>6} {r['threads']:>8} {r['batch']:>6} {r['new_tokens']:>7} "
      f"{r['cached_tokens_per_sec']:>16,.1f} {r['uncached_tokens_per_sec']:>16,.1f} {r['speedup']:>7.2f}x")
PY
  done
done

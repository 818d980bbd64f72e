#!/usr/bin/env bash
# Data-parallel training on the CPU: one process with all the threads against --nproc-per-node 2 (Gloo), each worker
# with half the threads, on the same global batch, alternating ROUNDS times (default 2); each side keeps its fastest
# round (on a shared machine the other tenants only add time). Prints tokens/s, the ratio, and for the workers, per step,
# how long the gradient all-reduce was in flight, how much of it backward did not hide (exposed), and how many buckets
# started during backward.
# Usage: benchmarks/distributed.sh [CONFIG...]   (default: tiny 15m; both on the built-in stories)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LLMTRAIN=(dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll")
ROUNDS=${ROUNDS:-2}
configs=("$@"); [ ${#configs[@]} -gt 0 ] || configs=(tiny 15m)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cores=$(nproc)

# run NAME ARGS...: trains, prints the last log line (the second interval: the first holds the warm-up).
run() {
  local name=$1; shift
  rm -rf "$work/$name"
  "${LLMTRAIN[@]}" train "$@" --out_dir "$work/$name" --data builtin --eval_interval 100000 --eval_iters 1 --device cpu \
    | grep -E '^step [0-9]+/' | tail -1
}
field() { sed -E "s/.*\| ([0-9,]+) tok\/s.*/\1/" <<<"$1" | tr -d ,; }

printf '%-6s %8s %16s %16s %7s %14s %14s %s\n' config batch "1×${cores} thr tok/s" "2×$((cores / 2)) thr tok/s" ratio "in flight" "exposed" "buckets in backward"
for cfg in "${configs[@]}"; do
  case $cfg in tiny) batch=8 iters=40 ;; *) batch=4 iters=8 ;; esac
  common=(--config "$cfg" --max_iters "$iters" --log_interval $((iters / 2)) --warmup_iters 1 --lr_decay_iters 1000)
  best1=0 best2=0 line2=""
  for _ in $(seq "$ROUNDS"); do
    l1=$(LLMTRAIN_THREADS=$cores run single "${common[@]}" --batch_size $((batch * 2)))
    l2=$(run ddp "${common[@]}" --batch_size "$batch" --nproc-per-node 2)
    t1=$(field "$l1"); t2=$(field "$l2")
    [ "$t1" -gt "$best1" ] && best1=$t1
    if [ "$t2" -gt "$best2" ]; then best2=$t2; line2=$l2; fi
  done
  took=$(sed -E 's/.*all-reduce ([0-9.]+) ms in flight.*/\1/' <<<"$line2")
  exposed=$(sed -E 's/.*, ([0-9.]+) ms exposed.*/\1/' <<<"$line2")
  during=$(sed -E 's/.*\(([0-9]+\/[0-9]+) buckets started in backward\).*/\1/' <<<"$line2")
  printf '%-6s %8s %16s %16s %6.2fx %11s ms %11s ms %s\n' "$cfg" "2×$batch" "$best1" "$best2" "$(awk -v a="$best2" -v b="$best1" 'BEGIN { print a / b }')" "$took" "$exposed" "$during"
done

#!/usr/bin/env bash
# Tokenizer and data-preparation throughput on the built-in synthetic stories, on this machine:
#   1. BPE training, vocabulary 4096, on about 100 MB of text;
#   2. llmtrain prepare with that tokenizer on about 500 MB (encoding on every core, shards written),
#      with its peak memory (resident set, from /usr/bin/time).
# Usage: benchmarks/tokenizer_prepare.sh [MB_FOR_TOKENIZER] [MB_FOR_PREPARE]   (default 100 500)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOK_MB=${1:-100}
PREP_MB=${2:-500}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
llmtrain() { dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" "$@"; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

# A synthetic story is about 850 bytes.
llmtrain data synth --out "$WORK/tok.txt" --stories $((TOK_MB * 1180)) --seed 1 >/dev/null 2>&1
llmtrain data synth --out "$WORK/prep.txt" --stories $((PREP_MB * 1180)) --seed 2 >/dev/null 2>&1
tok_mb=$(du -m "$WORK/tok.txt" | cut -f1)
prep_mb=$(du -m "$WORK/prep.txt" | cut -f1)

/usr/bin/time -f "%e %M" -o "$WORK/t1" \
  dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" tokenizer train --input "$WORK/tok.txt" --vocab-size 4096 --out "$WORK/tokenizer.json" >/dev/null 2>&1
read -r t1 m1 < "$WORK/t1"
/usr/bin/time -f "%e %M" -o "$WORK/t2" \
  dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" prepare --input "$WORK/prep.txt" --out "$WORK/prepared" --tokenizer "$WORK/tokenizer.json" >/dev/null 2>&1
read -r t2 m2 < "$WORK/t2"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
printf '%-40s %8s %10s %10s %14s\n' task "MB" seconds "MB/s" "peak RSS MB"
row() { awk -v n="$1" -v mb="$2" -v s="$3" -v kb="$4" 'BEGIN { printf "%-40s %8d %10.1f %10.1f %14.0f\n", n, mb, s, mb / s, kb / 1024 }'; }
row "tokenizer train (vocab 4096)" "$tok_mb" "$t1" "$m1"
row "prepare (encode + write shards)" "$prep_mb" "$t2" "$m2"

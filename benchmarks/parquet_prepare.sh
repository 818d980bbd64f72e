#!/usr/bin/env bash
# llmtrain prepare on a Parquet file of at least 200 MB (Cosmopedia-shaped: text and subset columns, row groups of
# 10,000 documents, snappy), made here from the built-in synthetic stories: throughput and peak memory (resident
# set, from /usr/bin/time), with the same text as a .txt file for comparison.
# Usage: benchmarks/parquet_prepare.sh [MB_OF_TEXT]   (default 600, about 230 MB of snappy Parquet)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MB=${1:-600}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
llmtrain() { dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" "$@"; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

# A synthetic story is about 850 bytes.
llmtrain data synth --out "$WORK/stories.txt" --stories $((MB * 1180)) --seed 3 >/dev/null 2>&1
llmtrain data synth --out "$WORK/tok.txt" --stories 20000 --seed 4 >/dev/null 2>&1
llmtrain tokenizer train --input "$WORK/tok.txt" --vocab-size 4096 --out "$WORK/tokenizer.json" >/dev/null 2>&1
(cd "$ROOT/benchmarks" && dotnet run make_parquet.cs -- "$WORK/stories.txt" "$WORK/stories.parquet" snappy)
txt_mb=$(du -m "$WORK/stories.txt" | cut -f1)
pq_mb=$(du -m "$WORK/stories.parquet" | cut -f1)

/usr/bin/time -f "%e %M" -o "$WORK/t1" \
  dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" prepare --input "$WORK/stories.parquet" --out "$WORK/p1" --tokenizer "$WORK/tokenizer.json" >/dev/null 2>&1
read -r t1 m1 < "$WORK/t1"
/usr/bin/time -f "%e %M" -o "$WORK/t2" \
  dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" prepare --input "$WORK/stories.parquet" --out "$WORK/p2" --tokenizer "$WORK/tokenizer.json" \
  --filter-field subset --filter-value web_samples >/dev/null 2>&1
read -r t2 m2 < "$WORK/t2"
/usr/bin/time -f "%e %M" -o "$WORK/t3" \
  dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" prepare --input "$WORK/stories.txt" --out "$WORK/p3" --tokenizer "$WORK/tokenizer.json" >/dev/null 2>&1
read -r t3 m3 < "$WORK/t3"
cmp "$WORK/p1/train_000000.bin" "$WORK/p3/train_000000.bin" >/dev/null && same=yes || same=no

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %10s %16s %14s\n' task "MB" seconds "MB of text/s" "peak RSS MB"
row() { awk -v n="$1" -v mb="$2" -v s="$3" -v kb="$4" -v text="$txt_mb" 'BEGIN { printf "%-44s %8d %10.1f %16.1f %14.0f\n", n, mb, s, text / s, kb / 1024 }'; }
row "prepare, Parquet (snappy)" "$pq_mb" "$t1" "$m1"
row "prepare, Parquet, --filter-field (1 in 4)" "$pq_mb" "$t2" "$m2"
row "prepare, the same text as .txt" "$txt_mb" "$t3" "$m3"
echo "Parquet and .txt give the same train shard: $same"

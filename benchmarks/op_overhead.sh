#!/usr/bin/env bash
# Per-op overhead of llmtrain's libtorch binding against the same loops in PyTorch (Debian's python3-torch),
# run one after the other on this machine. Both are compared with the same loop in C++ (no binding at all):
# the overhead ratio is (Python - C++) / (llmtrain - C++). Usage: benchmarks/op_overhead.sh [ITERATIONS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# llmtrain lets idle OpenMP workers sleep (see OpenMpEnvironment.cs); PyTorch gets the same setting.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
N=${1:-100000}
dpkg -s python3-torch >/dev/null 2>&1 || { echo "needs Debian's python3-torch (apt-get install python3-torch)" >&2; exit 1; }
RUNS=${RUNS:-5}
# This measures the binding, not allocators: llmtrain uses libtorch's default CPU allocator here, as PyTorch does.
export LLMTRAIN_CPU_CACHE=0
# The two sides alternate RUNS times; each loop keeps its fastest run (other tenants of a shared machine only add time).
ours="" theirs=""
for _ in $(seq "$RUNS"); do
  ours+=$(dotnet "$ROOT/artifacts/llmtrain/llmtrain.dll" bench ops --iterations "$N" --json)$'\n'
  theirs+=$(/usr/bin/python3 "$ROOT/benchmarks/op_overhead.py" "$N")$'\n'
done
/usr/bin/python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = {}, {}
for line in sys.argv[1].split("\n"):
    if line.strip():
        d = json.loads(line)
        best = ours.setdefault(d["name"], d)
        best["ns_per_op"] = min(best["ns_per_op"], d["ns_per_op"])
        best["native_ns_per_op"] = min(best["native_ns_per_op"], d["native_ns_per_op"])
for line in sys.argv[2].split("\n"):
    if line.strip():
        d = json.loads(line)
        theirs[d["name"]] = min(theirs.get(d["name"], float("inf")), d["ns_per_op"])
ours = list(ours.values())
print("ns per op; 'C++' is the same loop calling libtorch directly, overhead = total - C++")
print(f"{'loop':32} {'C++':>7} {'llmtrain':>9} {'pytorch':>9} {'ours+':>7} {'python+':>8} {'overhead ratio':>15}")
for o in ours:
    t, c = theirs[o["name"]], o["native_ns_per_op"]
    ov, pv = max(o["ns_per_op"] - c, 1.0), t - c
    print(f"{o['name']:32} {c:>7.0f} {o['ns_per_op']:>9.0f} {t:>9.0f} {ov:>7.0f} {pv:>8.0f} {pv / ov:>14.1f}x")
PY

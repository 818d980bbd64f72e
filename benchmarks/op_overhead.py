#!/usr/bin/python3
"""The PyTorch side of `llmtrain bench ops`: the same loops, one thread, the fastest of 30 rounds. Prints JSON lines."""
import json, sys, time
import torch

torch.set_num_threads(1)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ROUNDS = 30
a, b = torch.ones(4), torch.ones(4)
m1, m2 = torch.randn(64, 64), torch.randn(64, 64)


def run(name, iters, fn):
    for _ in range(1000):
        fn()
    per_round, best = max(1, iters // ROUNDS), float("inf")
    for _ in range(ROUNDS):
        t = time.perf_counter_ns()
        for _ in range(per_round):
            fn()
        best = min(best, (time.perf_counter_ns() - t) / per_round)
    print(json.dumps({"name": name, "ns_per_op": round(best, 1)}))


run("add 4-element tensors", n, lambda: a + b)
run("add with a dispose scope per op", n, lambda: a + b)
run("matmul 64x64", n // 10, lambda: m1 @ m2)
run("in-place add_", n, lambda: a.add_(b))

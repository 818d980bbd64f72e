#!/usr/bin/python3
"""Computes reference values with PyTorch for the binding's tests; writes ops.json and adamw.json.

Run with Debian's python3-torch:  /usr/bin/python3 tests/LlmTrainer.Torch.Tests/Fixtures/make_fixtures.py
Inputs are deterministic functions of their index (no RNG), so the C# side rebuilds them exactly from the file.
"""
import json, math, os
import torch

torch.set_default_dtype(torch.float32)
HERE = os.path.dirname(os.path.abspath(__file__))


def det(shape, offset=0.0, scale=1.0):
    n = math.prod(shape)
    return (torch.sin(torch.arange(n, dtype=torch.float64) * 0.731 + offset) * scale).float().reshape(shape)


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(x) for x in t.double().flatten().tolist()]}


cases = []


def case(name, inputs, fn, grad=True, int_inputs=None, grad_of=None):
    """grad_of: the inputs whose gradients are recorded (default all); the others are constants to the op."""
    xs = {k: v.clone().requires_grad_(grad and (grad_of is None or k in grad_of)) for k, v in inputs.items()}
    out = fn(**xs, **(int_inputs or {}))
    entry = {"name": name, "inputs": {k: enc(v) for k, v in inputs.items()},
             "int_inputs": {k: {"shape": list(v.shape), "data": [int(x) for x in v.flatten().tolist()]} for k, v in (int_inputs or {}).items()},
             "output": enc(out)}
    if grad:
        w = det(list(out.shape), offset=0.5)
        (out * w).sum().backward()
        entry["grads"] = {k: enc(v.grad) for k, v in xs.items() if grad_of is None or k in grad_of}
    cases.append(entry)


a = det([3, 4])
b = det([3, 4], 1.0)
pos = det([3, 4], 0.3).abs() + 0.5
case("add", {"a": a, "b": b}, lambda a, b: a + b)
case("sub", {"a": a, "b": b}, lambda a, b: a - b)
case("mul", {"a": a, "b": b}, lambda a, b: a * b)
case("div", {"a": a, "b": pos}, lambda a, b: a / b)
case("add_scalar", {"a": a}, lambda a: a + 2.5)
case("rsub_scalar", {"a": a}, lambda a: 1.5 - a)
case("mul_scalar", {"a": a}, lambda a: a * -3.0)
case("div_scalar", {"a": a}, lambda a: a / 4.0)
case("neg", {"a": a}, lambda a: -a)
case("pow", {"a": pos}, lambda a: a.pow(2.5))
case("pow_scalar_base", {"a": a}, lambda a: torch.pow(1.0e4, a))
case("sqrt", {"a": pos}, lambda a: a.sqrt())
case("rsqrt", {"a": pos}, lambda a: a.rsqrt())
case("exp", {"a": a}, lambda a: a.exp())
case("log", {"a": pos}, lambda a: a.log())
case("tanh", {"a": a}, lambda a: a.tanh())
case("sigmoid", {"a": a}, lambda a: a.sigmoid())
case("silu", {"a": a}, lambda a: torch.nn.functional.silu(a))
case("gelu", {"a": a}, lambda a: torch.nn.functional.gelu(a))
case("matmul", {"a": det([2, 3, 4]), "b": det([4, 5], 2.0)}, lambda a, b: a.matmul(b))
case("bmm", {"a": det([2, 3, 4]), "b": det([2, 4, 5], 2.0)}, lambda a, b: a.bmm(b))
case("linear", {"x": det([2, 3, 4]), "w": det([5, 4], 1.0), "b": det([5], 2.0)}, lambda x, w, b: torch.nn.functional.linear(x, w, b))
case("sum_all", {"a": a}, lambda a: a.sum())
case("sum_dim", {"a": det([2, 3, 4])}, lambda a: a.sum(1, keepdim=True))
case("mean_all", {"a": a}, lambda a: a.mean())
case("mean_dims", {"a": det([2, 3, 4])}, lambda a: a.mean([0, 2]))
case("max_dim_values", {"a": a}, lambda a: a.max(1)[0])
case("amax", {"a": a}, lambda a: a.amax(0))
case("cumsum", {"a": a}, lambda a: a.cumsum(1))
case("softmax", {"a": det([2, 3, 5])}, lambda a: a.softmax(-1))
case("log_softmax", {"a": det([2, 3, 5])}, lambda a: a.log_softmax(-1))
case("masked_fill", {"a": a}, lambda a: a.masked_fill(a > 0.3, -7.0))
case("where", {"a": a, "b": b}, lambda a, b: torch.where(a > b, a, b * 2))
case("triu", {"a": det([4, 4])}, lambda a: a.triu(1))
case("tril", {"a": det([4, 4])}, lambda a: a.tril())
case("clamp", {"a": a}, lambda a: a.clamp(-0.5, 0.6))
case("view_transpose", {"a": det([2, 3, 4])}, lambda a: a.view(6, 4).transpose(0, 1).contiguous())
case("permute_reshape", {"a": det([2, 3, 4])}, lambda a: a.permute(2, 0, 1).reshape(4, 6))
case("narrow_slice", {"a": det([5, 6])}, lambda a: a.narrow(0, 1, 3)[:, 1:5:2])
case("cat", {"a": a, "b": b}, lambda a, b: torch.cat([a, b], 1))
case("stack", {"a": a, "b": b}, lambda a, b: torch.stack([a, b], 0))
case("split_chunk", {"a": det([6, 4])}, lambda a: a.split(4, 0)[1] * 2 + a.chunk(3, 0)[2].sum())
case("unsqueeze_expand", {"a": det([3])}, lambda a: a.unsqueeze(0).expand(4, 3))
case("squeeze_flatten", {"a": det([2, 1, 3, 2])}, lambda a: a.squeeze(1).flatten(1))
case("repeat_interleave", {"a": det([2, 3])}, lambda a: a.repeat_interleave(2, 0))
idx = torch.tensor([2, 0, 2], dtype=torch.int64)
case("index_select", {"a": det([4, 3])}, lambda a, idx: a.index_select(0, idx), int_inputs={"idx": idx})
gidx = torch.tensor([[0, 2], [1, 1], [2, 0]], dtype=torch.int64)
case("gather", {"a": det([3, 3])}, lambda a, idx: a.gather(1, idx), int_inputs={"idx": gidx})
tok = torch.tensor([[1, 4, 0], [3, 3, 2]], dtype=torch.int64)
case("embedding", {"w": det([5, 4])}, lambda w, idx: torch.nn.functional.embedding(idx, w), int_inputs={"idx": tok})
case("rms_norm", {"x": det([2, 3, 8]), "w": det([8], 1.0) + 1}, lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w)
# Rows longer than a vector register, with a ragged tail: the fused CPU kernels' loops.
case("rms_norm_wide", {"x": det([3, 5, 70], scale=2.0), "w": det([70], 1.0) + 1}, lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w)
case("swiglu", {"a": det([4, 37], scale=4.0), "b": det([4, 37], 1.0)}, lambda a, b: torch.nn.functional.silu(a) * b)


def rope_ref(x, cos, sin):
    """Rotate-half rotary embedding of x given as (B, T, H, D), applied as (B, H, T, D) like the model does."""
    x = x.transpose(1, 2)
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


ang = torch.outer(torch.arange(5, dtype=torch.float64), 1.0 / (10000 ** (torch.arange(0, 10, 2, dtype=torch.float64) / 10)))
ang = torch.cat([ang, ang], -1)
case("rope", {"x": det([2, 5, 3, 10]), "cos": ang.cos().float(), "sin": ang.sin().float()}, rope_ref, grad_of={"x"})
tgt = torch.tensor([1, 0, 4, -100, 2, 3], dtype=torch.int64)
case("cross_entropy", {"logits": det([6, 5], scale=3.0)}, lambda logits, t: torch.nn.functional.cross_entropy(logits, t, ignore_index=-100), int_inputs={"t": tgt})
case("cross_entropy_none", {"logits": det([6, 5], scale=3.0)}, lambda logits, t: torch.nn.functional.cross_entropy(logits, t, ignore_index=-100, reduction="none"), int_inputs={"t": tgt})
wide_tgt = torch.tensor([0, 299, 17, 3, 150, -1, 42], dtype=torch.int64)
case("cross_entropy_wide", {"logits": det([7, 300], scale=30.0)}, lambda logits, t: torch.nn.functional.cross_entropy(logits, t, ignore_index=-1), int_inputs={"t": wide_tgt})
case("cross_entropy_sum", {"logits": det([6, 5], scale=3.0)}, lambda logits, t: torch.nn.functional.cross_entropy(logits, t, ignore_index=-100, reduction="sum"), int_inputs={"t": tgt})


def sdpa_ref(q, k, v, causal, rep):
    if rep > 1:
        k = k.repeat_interleave(rep, -3)
        v = v.repeat_interleave(rep, -3)
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        L, S = q.shape[-2], k.shape[-2]
        s = s.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(), float("-inf"))
    return s.softmax(-1) @ v


case("sdpa_causal", {"q": det([2, 2, 5, 4]), "k": det([2, 2, 5, 4], 1.0), "v": det([2, 2, 5, 4], 2.0)}, lambda q, k, v: sdpa_ref(q, k, v, True, 1))
case("sdpa_gqa", {"q": det([1, 4, 5, 4]), "k": det([1, 2, 5, 4], 1.0), "v": det([1, 2, 5, 4], 2.0)}, lambda q, k, v: sdpa_ref(q, k, v, True, 2))
case("sdpa_full", {"q": det([1, 2, 3, 4]), "k": det([1, 2, 6, 4], 1.0), "v": det([1, 2, 6, 4], 2.0)}, lambda q, k, v: sdpa_ref(q, k, v, False, 1))
# Scatter-add with a repeated index (rows 1 and 3 land on row 0), as a mixture of experts brings outputs back to tokens.
aidx = torch.tensor([2, 0, 4, 0], dtype=torch.int64)
case("index_add", {"a": det([5, 3]), "src": det([4, 3], 1.0)}, lambda a, src, idx: a.index_add(0, idx, src, alpha=0.5), int_inputs={"idx": aidx})
bins = torch.tensor([3, 1, 3, 0, 3, 1], dtype=torch.int64)
case("bincount", {"w": det([6], 0.2)}, lambda w, idx: idx.bincount(w, minlength=6), grad=False, int_inputs={"idx": bins})
case("topk_values", {"a": det([3, 6])}, lambda a: a.topk(3, -1)[0])
case("sort_values", {"a": det([3, 6])}, lambda a: a.sort(-1, descending=True)[0])

with open(os.path.join(HERE, "ops.json"), "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f)

# AdamW: 10 steps on a small MLP with fixed weights and data, two parameter groups (decay / no decay).
w1 = det([8, 4], 0.1, 0.5); b1 = det([8], 0.2, 0.1); w2 = det([3, 8], 0.3, 0.5); b2 = det([3], 0.4, 0.1)
x = det([6, 4], 0.7); y = torch.tensor([0, 2, 1, 1, 0, 2])
params = [p.clone().requires_grad_(True) for p in (w1, b1, w2, b2)]
opt = torch.optim.AdamW([{"params": [params[0], params[2]], "weight_decay": 0.1}, {"params": [params[1], params[3]], "weight_decay": 0.0}],
                        lr=0.01, betas=(0.85, 0.97), eps=1e-7)
losses, norms = [], []
for step in range(10):
    opt.zero_grad(set_to_none=True)
    h = torch.nn.functional.silu(torch.nn.functional.linear(x, params[0], params[1]))
    loss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(h, params[2], params[3]), y)
    loss.backward()
    norms.append(float(torch.nn.utils.clip_grad_norm_(params, 0.5)))
    opt.step()
    losses.append(float(loss))
with open(os.path.join(HERE, "adamw.json"), "w") as f:
    json.dump({"losses": losses, "grad_norms": norms, "params": [enc(p) for p in params],
               "exp_avg_sq_0": enc(opt.state[params[0]]["exp_avg_sq"])}, f)
print(f"wrote {len(cases)} op cases and the AdamW trace with torch {torch.__version__}")

#!/usr/bin/python3
"""Reference evaluation numbers for a tiny LLaMA (Hugging Face LlamaForCausalLM semantics) in plain PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 tests/LlmTrainer.Tests/Evaluation/Fixtures/make_eval_fixture.py
Writes eval.json: the config, every weight under its HF name, a token stream, and the summed next-token loss of
each evaluation window (window i feeds tokens [i*T, i*T + n) and predicts [i*T + 1, i*T + n + 1), n = T except
for a shorter last window), for all of the stream and for its first MAX_TOKENS predictions.

The vocabulary is a byte-level tokenizer without merges: ids 0-255 are the bytes themselves and 256 is
<|endoftext|>, so the stream is plain text and its byte count can be worked out by hand.
"""
import json, math, os
import torch
import torch.nn.functional as F

torch.manual_seed(0)
V, D, L, H, HKV, FF, T, EPS, THETA = 257, 16, 2, 4, 2, 40, 8, 1e-5, 10000.0
HD = D // H
EOT = 256
MAX_TOKENS = 13
DOCUMENTS = ["Once upon a time, a cat", "Bye."]


def rms(x, w):
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + EPS)).to(x.dtype) * w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope(t):
    inv = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.float64) / HD))
    freqs = torch.outer(torch.arange(t, dtype=torch.float64), inv)
    emb = torch.cat((freqs, freqs), -1)
    return emb.cos().float(), emb.sin().float()


weights = {"model.embed_tokens.weight": torch.randn(V, D) * 0.5}
for i in range(L):
    p = f"model.layers.{i}."
    weights[p + "self_attn.q_proj.weight"] = torch.randn(H * HD, D) * 0.3
    weights[p + "self_attn.k_proj.weight"] = torch.randn(HKV * HD, D) * 0.3
    weights[p + "self_attn.v_proj.weight"] = torch.randn(HKV * HD, D) * 0.3
    weights[p + "self_attn.o_proj.weight"] = torch.randn(D, H * HD) * 0.3
    weights[p + "mlp.gate_proj.weight"] = torch.randn(FF, D) * 0.3
    weights[p + "mlp.up_proj.weight"] = torch.randn(FF, D) * 0.3
    weights[p + "mlp.down_proj.weight"] = torch.randn(D, FF) * 0.3
    weights[p + "input_layernorm.weight"] = 1 + torch.randn(D) * 0.1
    weights[p + "post_attention_layernorm.weight"] = 1 + torch.randn(D) * 0.1
weights["model.norm.weight"] = 1 + torch.randn(D) * 0.1
weights["lm_head.weight"] = torch.randn(V, D) * 0.3


def forward(idx):
    B, T_ = idx.shape
    x = F.embedding(idx, weights["model.embed_tokens.weight"])
    cos, sin = rope(T_)
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms(x, weights[p + "input_layernorm.weight"])
        q = F.linear(h, weights[p + "self_attn.q_proj.weight"]).view(B, T_, H, HD).transpose(1, 2)
        k = F.linear(h, weights[p + "self_attn.k_proj.weight"]).view(B, T_, HKV, HD).transpose(1, 2)
        v = F.linear(h, weights[p + "self_attn.v_proj.weight"]).view(B, T_, HKV, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // HKV, 1)
        v = v.repeat_interleave(H // HKV, 1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(HD)
        att = att.masked_fill(~torch.ones(T_, T_, dtype=torch.bool).tril(), float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T_, H * HD)
        x = x + F.linear(y, weights[p + "self_attn.o_proj.weight"])
        h = rms(x, weights[p + "post_attention_layernorm.weight"])
        m = F.linear(F.silu(F.linear(h, weights[p + "mlp.gate_proj.weight"])) * F.linear(h, weights[p + "mlp.up_proj.weight"]),
                     weights[p + "mlp.down_proj.weight"])
        x = x + m
    x = rms(x, weights["model.norm.weight"])
    return F.linear(x, weights["lm_head.weight"])


# Each document is written as <|endoftext|> followed by its bytes, as prepared shards hold it.
tokens = []
for d in DOCUMENTS:
    tokens += [EOT] + list(d.encode("utf-8"))


def windows(n_tokens, max_tokens=None):
    """Per window: start, number of targets, summed cross entropy (float64 sum of float32 per-token losses)."""
    targets = n_tokens - 1 if max_tokens is None else min(n_tokens - 1, max_tokens)
    out, start = [], 0
    while start < targets:
        n = min(T, targets - start)
        window = torch.tensor(tokens[start:start + n + 1])
        logits = forward(window[None, :-1])
        losses = F.cross_entropy(logits.view(-1, V), window[1:], reduction="none")
        out.append({"start": start, "length": n, "loss_sum": float(losses.double().sum())})
        start += n
    return out, targets


def summary(max_tokens=None):
    w, targets = windows(len(tokens), max_tokens)
    return {"max_tokens": max_tokens, "targets": targets, "windows": w, "loss": sum(x["loss_sum"] for x in w) / targets}


with torch.no_grad():
    cases = [summary(), summary(MAX_TOKENS)]
out = {
    "config": {"vocab_size": V, "d_model": D, "n_layer": L, "n_head": H, "n_kv_head": HKV, "ffn_hidden": FF, "block_size": T,
               "norm_eps": EPS, "rope_theta": THETA},
    # 9 significant digits give back every float32 exactly.
    "weights": {k: {"shape": list(v.shape), "data": [float(f"{x:.9g}") for x in v.flatten().tolist()]} for k, v in weights.items()},
    "documents": DOCUMENTS,
    "tokens": tokens,
    "cases": cases,
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "eval.json"), "w") as f:
    json.dump(out, f)
for c in cases:
    print(f"max_tokens {c['max_tokens']}: {c['targets']} targets in {len(c['windows'])} windows, loss {c['loss']:.6f}")
print(f"{len(tokens)} tokens, torch {torch.__version__}")

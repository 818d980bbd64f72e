#!/usr/bin/python3
"""Reference logits and loss for a tiny LLaMA (Hugging Face LlamaForCausalLM semantics) written in plain PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 tests/LlmTrainer.Tests/Model/Fixtures/make_llama_fixture.py
Writes llama.json: the config, every weight under its HF name, input ids, logits and the loss.
"""
import json, math, os
import torch
import torch.nn.functional as F

torch.manual_seed(0)
V, D, L, H, HKV, FF, T, EPS, THETA = 37, 16, 2, 4, 2, 40, 8, 1e-5, 10000.0
HD = D // H


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

idx = torch.randint(0, V, (2, T))
targets = torch.randint(0, V, (2, T))


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


logits = forward(idx)
loss = F.cross_entropy(logits.view(-1, V), targets.view(-1))
out = {
    "config": {"vocab_size": V, "d_model": D, "n_layer": L, "n_head": H, "n_kv_head": HKV, "ffn_hidden": FF, "block_size": T,
               "norm_eps": EPS, "rope_theta": THETA},
    "weights": {k: {"shape": list(v.shape), "data": v.flatten().tolist()} for k, v in weights.items()},
    "idx": idx.tolist(), "targets": targets.tolist(),
    "logits": {"shape": list(logits.shape), "data": logits.flatten().tolist()},
    "loss": float(loss),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama.json"), "w") as f:
    json.dump(out, f)
print(f"loss {float(loss):.6f} with torch {torch.__version__}")

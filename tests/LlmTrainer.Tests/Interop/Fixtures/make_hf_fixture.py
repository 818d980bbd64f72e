#!/usr/bin/python3
"""Logits of the Hugging Face export in hf/, computed by a LlamaForCausalLM forward written out in plain PyTorch.

Run with Debian's python3-torch (transformers is not installed here):
    /usr/bin/python3 tests/LlmTrainer.Tests/Interop/Fixtures/make_hf_fixture.py
It reads hf/config.json and hf/model.safetensors exactly as transformers would use them (the config's keys, the
safetensors layout, Hugging Face's tensor names) and follows modeling_llama: RMSNorm in float32, rotary embeddings with
rotate_half over the two halves of each head, repeat_kv for grouped-query attention, a causal softmax attention, the
SwiGLU MLP, and lm_head (or the embedding when tie_word_embeddings). Writes hf_logits.json: the ids and the logits.
"""
import json, math, os, struct
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
IDS = [5, 299, 17, 42, 42, 7, 256, 100, 3, 1, 250, 64]
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[base + begin:base + end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).float()
    return tensors


class RMSNorm:
    def __init__(self, weight, eps):
        self.weight, self.eps = weight, eps

    def __call__(self, x):
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, h, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


def forward(cfg, W, ids):
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    HD = D // H
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    x = W["model.embed_tokens.weight"][torch.tensor([ids])]
    B, T = 1, len(ids)
    inv_freq = 1.0 / (theta ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = RMSNorm(W[p + "input_layernorm.weight"], eps)(x)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(B, T, H, HD).transpose(1, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(B, T, KV, HD).transpose(1, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(B, T, KV, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, H // KV), repeat_kv(v, H // KV)
        scores = q @ k.transpose(2, 3) / math.sqrt(HD) + mask
        attn = F.softmax(scores, dim=-1, dtype=torch.float32)
        y = (attn @ v).transpose(1, 2).reshape(B, T, D)
        x = x + y @ W[p + "self_attn.o_proj.weight"].T
        h = RMSNorm(W[p + "post_attention_layernorm.weight"], eps)(x)
        gate = F.silu(h @ W[p + "mlp.gate_proj.weight"].T)
        up = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (gate * up) @ W[p + "mlp.down_proj.weight"].T
    x = RMSNorm(W["model.norm.weight"], eps)(x)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]
    return x @ head.T


with open(os.path.join(HERE, "hf", "config.json")) as f:
    config = json.load(f)
assert config["architectures"] == ["LlamaForCausalLM"] and config["hidden_act"] == "silu"
weights = load_safetensors(os.path.join(HERE, "hf", "model.safetensors"))
with torch.no_grad():
    logits = forward(config, weights, IDS)
with open(os.path.join(HERE, "hf_logits.json"), "w") as f:
    json.dump({"ids": IDS, "logits": {"shape": list(logits.shape), "data": logits.flatten().tolist()}}, f)
print(f"logits {tuple(logits.shape)}, max |logit| {logits.abs().max():.4f}, torch {torch.__version__}")

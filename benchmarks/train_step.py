#!/usr/bin/python3
"""The PyTorch eager side of `llmtrain bench train`: the same LLaMA, shapes, AdamW, clipping and thread count.

Usage: train_step.py RESOLVED_CONFIG_JSON STEPS WARMUP  (the JSON is what `llmtrain bench train --json` prints as "resolved").
Prints one JSON line: ms_per_step and tokens_per_sec.
"""
import json, math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

c = json.loads(sys.argv[1])
steps, warmup = int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else torch.get_num_threads())
V, D, L, H, HKV, FF, T, B = (c[k] for k in ("vocab_size", "d_model", "n_layer", "n_head", "n_kv_head", "ffn_hidden", "block_size", "batch_size"))
HD, EPS = D // H, c["norm_eps"]


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def rotate_half(x):
    return torch.cat((-x[..., HD // 2:], x[..., : HD // 2]), -1)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k = nn.Linear(D, H * HD, bias=False), nn.Linear(D, HKV * HD, bias=False)
        self.v, self.o = nn.Linear(D, HKV * HD, bias=False), nn.Linear(H * HD, D, bias=False)
        self.gate, self.up, self.down = nn.Linear(D, FF, bias=False), nn.Linear(D, FF, bias=False), nn.Linear(FF, D, bias=False)
        self.n1, self.n2 = RMSNorm(D), RMSNorm(D)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, t, H, HD).transpose(1, 2)
        k = self.k(h).view(b, t, HKV, HD).transpose(1, 2)
        v = self.v(h).view(b, t, HKV, HD).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if HKV != H:
            k, v = k.repeat_interleave(H // HKV, 1), v.repeat_interleave(H // HKV, 1)
        att = (q @ k.transpose(-2, -1) / math.sqrt(HD)).masked_fill(mask, float("-inf")).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).contiguous().view(b, t, H * HD))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.layers = nn.ModuleList(Layer() for _ in range(L))
        self.norm = RMSNorm(D)
        self.head = None if c["tie_embeddings"] else nn.Linear(D, V, bias=False)
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, HD, 2, dtype=torch.float64) / HD))
        emb = torch.cat([torch.outer(torch.arange(T, dtype=torch.float64), inv)] * 2, -1)
        self.cos, self.sin = emb.cos().float(), emb.sin().float()
        self.mask = ~torch.ones(T, T, dtype=torch.bool).tril()

    def forward(self, idx, targets):
        x = self.emb(idx)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        x = self.norm(x)
        logits = F.linear(x, self.emb.weight if self.head is None else self.head.weight)
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))


torch.manual_seed(c["seed"])
model = Llama()
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=c["learning_rate"], betas=(c["beta1"], c["beta2"]))


def step():
    for _ in range(c["grad_accum_steps"]):
        x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
        loss = model(x, y)
        (loss / c["grad_accum_steps"]).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
    opt.step()
    opt.zero_grad(set_to_none=True)


for _ in range(warmup):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
ms = (time.perf_counter() - t0) * 1000 / steps
print(json.dumps({"ms_per_step": round(ms, 2), "tokens_per_sec": round(B * T * c["grad_accum_steps"] / (ms / 1000), 1),
                  "threads": torch.get_num_threads(), "torch": torch.__version__}))

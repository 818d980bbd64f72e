"""A tiny LLaMA with Hugging Face LlamaForCausalLM semantics in plain PyTorch: the reference the fixture scripts share.

Not run by itself: make_llama_fixture.py (this folder) and Evaluation/Fixtures/make_eval_fixture.py import it.
"""
import math
import torch
import torch.nn.functional as F


class ReferenceLlama:
    def __init__(self, V, D, L, H, HKV, FF, EPS=1e-5, THETA=10000.0):
        """Draws every weight from torch's global RNG (seed it first), in a fixed order, under its HF name."""
        self.V, self.D, self.L, self.H, self.HKV, self.FF, self.EPS, self.THETA = V, D, L, H, HKV, FF, EPS, THETA
        self.HD = D // H
        HD = self.HD
        w = {"model.embed_tokens.weight": torch.randn(V, D) * 0.5}
        for i in range(L):
            p = f"model.layers.{i}."
            w[p + "self_attn.q_proj.weight"] = torch.randn(H * HD, D) * 0.3
            w[p + "self_attn.k_proj.weight"] = torch.randn(HKV * HD, D) * 0.3
            w[p + "self_attn.v_proj.weight"] = torch.randn(HKV * HD, D) * 0.3
            w[p + "self_attn.o_proj.weight"] = torch.randn(D, H * HD) * 0.3
            w[p + "mlp.gate_proj.weight"] = torch.randn(FF, D) * 0.3
            w[p + "mlp.up_proj.weight"] = torch.randn(FF, D) * 0.3
            w[p + "mlp.down_proj.weight"] = torch.randn(D, FF) * 0.3
            w[p + "input_layernorm.weight"] = 1 + torch.randn(D) * 0.1
            w[p + "post_attention_layernorm.weight"] = 1 + torch.randn(D) * 0.1
        w["model.norm.weight"] = 1 + torch.randn(D) * 0.1
        w["lm_head.weight"] = torch.randn(V, D) * 0.3
        self.weights = w

    def config(self, block_size):
        return {"vocab_size": self.V, "d_model": self.D, "n_layer": self.L, "n_head": self.H, "n_kv_head": self.HKV,
                "ffn_hidden": self.FF, "block_size": block_size, "norm_eps": self.EPS, "rope_theta": self.THETA}

    def rms(self, x, w):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.EPS)).to(x.dtype) * w

    @staticmethod
    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def rope(self, t):
        inv = 1.0 / (self.THETA ** (torch.arange(0, self.HD, 2, dtype=torch.float64) / self.HD))
        freqs = torch.outer(torch.arange(t, dtype=torch.float64), inv)
        emb = torch.cat((freqs, freqs), -1)
        return emb.cos().float(), emb.sin().float()

    def forward(self, idx):
        """Logits (B, T, V) for token ids (B, T)."""
        W, H, HKV, HD = self.weights, self.H, self.HKV, self.HD
        B, T_ = idx.shape
        x = F.embedding(idx, W["model.embed_tokens.weight"])
        cos, sin = self.rope(T_)
        for i in range(self.L):
            p = f"model.layers.{i}."
            h = self.rms(x, W[p + "input_layernorm.weight"])
            q = F.linear(h, W[p + "self_attn.q_proj.weight"]).view(B, T_, H, HD).transpose(1, 2)
            k = F.linear(h, W[p + "self_attn.k_proj.weight"]).view(B, T_, HKV, HD).transpose(1, 2)
            v = F.linear(h, W[p + "self_attn.v_proj.weight"]).view(B, T_, HKV, HD).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            k = k.repeat_interleave(H // HKV, 1)
            v = v.repeat_interleave(H // HKV, 1)
            att = (q @ k.transpose(-2, -1)) / math.sqrt(HD)
            att = att.masked_fill(~torch.ones(T_, T_, dtype=torch.bool).tril(), float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(B, T_, H * HD)
            x = x + F.linear(y, W[p + "self_attn.o_proj.weight"])
            h = self.rms(x, W[p + "post_attention_layernorm.weight"])
            m = F.linear(F.silu(F.linear(h, W[p + "mlp.gate_proj.weight"])) * F.linear(h, W[p + "mlp.up_proj.weight"]),
                         W[p + "mlp.down_proj.weight"])
            x = x + m
        x = self.rms(x, W["model.norm.weight"])
        return F.linear(x, W["lm_head.weight"])

"""A tiny LLaMA with Hugging Face LlamaForCausalLM semantics in plain PyTorch: the reference the fixture scripts share.
With E experts it is a MixtralForCausalLM: every MLP is Mixtral's sparse mixture of experts (sparse_moe below).

Not run by itself: make_llama_fixture.py, make_moe_fixture.py (this folder) and Evaluation/Fixtures/make_eval_fixture.py
import it.
"""
import math
import torch
import torch.nn.functional as F


def top_k(probs, k):
    """torch.topk over the last dimension, with ties going to the lower index (torch.topk leaves ties unspecified)."""
    values, indices = probs.sort(dim=-1, descending=True, stable=True)
    return values[..., :k], indices[..., :k]


def swiglu_expert(x, W, p):
    """Mixtral's expert (MixtralBlockSparseTop2MLP): w2(silu(w1(x)) * w3(x))."""
    return F.linear(F.silu(F.linear(x, W[p + "w1.weight"])) * F.linear(x, W[p + "w3.weight"]), W[p + "w2.weight"])


def sparse_moe(x, W, p, E, K, capacity_factor=0.0):
    """Hugging Face's MixtralSparseMoeBlock.forward on x (B, T, D) with the weights under prefix p, top-k as top_k above.

    With a capacity factor, each expert takes at most ceil(factor * N * K / E) of the N tokens, lowest positions
    first, and the others skip it (Switch Transformer's capacity; Mixtral has none). Returns the output, the router
    logits (N, E) and the number of (token, expert) assignments dropped.
    """
    B, T_, D = x.shape
    h = x.reshape(-1, D)
    N = h.shape[0]
    router_logits = F.linear(h, W[p + "gate.weight"])
    routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
    routing_weights, selected_experts = top_k(routing_weights, K)
    routing_weights = routing_weights / routing_weights.sum(dim=-1, keepdim=True)
    routing_weights = routing_weights.to(h.dtype)
    final = torch.zeros_like(h)
    expert_mask = F.one_hot(selected_experts, num_classes=E).permute(2, 1, 0)  # (E, K, N)
    capacity = math.ceil(capacity_factor * N * K / E) if capacity_factor > 0 else N
    dropped = 0
    for e in range(E):
        idx, top_x = torch.where(expert_mask[e])
        order = top_x.argsort()  # by token position: first come, first served
        idx, top_x = idx[order], top_x[order]
        dropped += max(0, len(top_x) - capacity)
        idx, top_x = idx[:capacity], top_x[:capacity]
        current = swiglu_expert(h[top_x], W, p + f"experts.{e}.") * routing_weights[top_x, idx, None]
        final = final.index_add(0, top_x, current.to(h.dtype))
    return final.reshape(B, T_, D), router_logits, dropped


def load_balancing_loss(router_logits, E, K):
    """Transformers' load_balancing_loss_func (Mixtral) for one layer's router logits, divided by top_k: E * sum_i f_i P_i
    with f_i the share of the N*K assignments routed to expert i and P_i its mean router probability (1 when balanced,
    Switch Transformer's normalisation)."""
    routing_weights = F.softmax(router_logits, dim=-1)
    _, selected_experts = top_k(routing_weights, K)
    expert_mask = F.one_hot(selected_experts, E)
    tokens_per_expert = torch.mean(expert_mask.float(), dim=0)
    router_prob_per_expert = torch.mean(routing_weights, dim=0)
    return torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0)) * E / K


def router_z_loss(router_logits):
    """ST-MoE's router z-loss: the mean squared logsumexp of the router logits."""
    return torch.logsumexp(router_logits.float(), dim=-1).square().mean()


class ReferenceLlama:
    def __init__(self, V, D, L, H, HKV, FF, EPS=1e-5, THETA=10000.0, E=0, K=2):
        """Draws every weight from torch's global RNG (seed it first), in a fixed order, under its HF name."""
        self.V, self.D, self.L, self.H, self.HKV, self.FF, self.EPS, self.THETA = V, D, L, H, HKV, FF, EPS, THETA
        self.E, self.K = E, K
        self.HD = D // H
        HD = self.HD
        w = {"model.embed_tokens.weight": torch.randn(V, D) * 0.5}
        for i in range(L):
            p = f"model.layers.{i}."
            w[p + "self_attn.q_proj.weight"] = torch.randn(H * HD, D) * 0.3
            w[p + "self_attn.k_proj.weight"] = torch.randn(HKV * HD, D) * 0.3
            w[p + "self_attn.v_proj.weight"] = torch.randn(HKV * HD, D) * 0.3
            w[p + "self_attn.o_proj.weight"] = torch.randn(D, H * HD) * 0.3
            if E:
                w[p + "block_sparse_moe.gate.weight"] = torch.randn(E, D) * 0.3
                for e in range(E):
                    w[p + f"block_sparse_moe.experts.{e}.w1.weight"] = torch.randn(FF, D) * 0.3
                    w[p + f"block_sparse_moe.experts.{e}.w2.weight"] = torch.randn(D, FF) * 0.3
                    w[p + f"block_sparse_moe.experts.{e}.w3.weight"] = torch.randn(FF, D) * 0.3
            else:
                w[p + "mlp.gate_proj.weight"] = torch.randn(FF, D) * 0.3
                w[p + "mlp.up_proj.weight"] = torch.randn(FF, D) * 0.3
                w[p + "mlp.down_proj.weight"] = torch.randn(D, FF) * 0.3
            w[p + "input_layernorm.weight"] = 1 + torch.randn(D) * 0.1
            w[p + "post_attention_layernorm.weight"] = 1 + torch.randn(D) * 0.1
        w["model.norm.weight"] = 1 + torch.randn(D) * 0.1
        w["lm_head.weight"] = torch.randn(V, D) * 0.3
        self.weights = w

    def config(self, block_size):
        c = {"vocab_size": self.V, "d_model": self.D, "n_layer": self.L, "n_head": self.H, "n_kv_head": self.HKV,
             "ffn_hidden": self.FF, "block_size": block_size, "norm_eps": self.EPS, "rope_theta": self.THETA}
        if self.E:
            c.update({"n_experts": self.E, "experts_per_token": self.K})
        return c

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
        return self.forward_with_router(idx)[0]

    def forward_with_router(self, idx):
        """Logits (B, T, V) for token ids (B, T), and each MoE layer's router logits (none for a dense model)."""
        W, H, HKV, HD = self.weights, self.H, self.HKV, self.HD
        B, T_ = idx.shape
        x = F.embedding(idx, W["model.embed_tokens.weight"])
        cos, sin = self.rope(T_)
        router_logits = []
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
            if self.E:
                m, logits, _ = sparse_moe(h, W, p + "block_sparse_moe.", self.E, self.K)
                router_logits.append(logits)
            else:
                m = F.linear(F.silu(F.linear(h, W[p + "mlp.gate_proj.weight"])) * F.linear(h, W[p + "mlp.up_proj.weight"]),
                             W[p + "mlp.down_proj.weight"])
            x = x + m
        x = self.rms(x, W["model.norm.weight"])
        return F.linear(x, W["lm_head.weight"]), router_logits

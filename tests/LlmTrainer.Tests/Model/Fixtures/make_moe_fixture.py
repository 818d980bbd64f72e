#!/usr/bin/python3
"""Reference values and gradients for Mixtral's sparse mixture of experts (Hugging Face MixtralForCausalLM semantics)
written in plain PyTorch (reference_llama.py).

Run with Debian's python3-torch:  /usr/bin/python3 tests/LlmTrainer.Tests/Model/Fixtures/make_moe_fixture.py
Writes moe.json:
  block     one MoE block on its own: weights, input, output, router losses, expert counts, and the gradients of
            sum(output * out_weights) + 0.3 * aux + 0.7 * z. Experts 1 and 2 have the same router row, so their
            probabilities tie for every token: some tokens pick both, some must break the tie at the k-th place.
  capacity  the same block with capacity factor 0.6, so that full experts drop tokens: output, dropped count, gradients.
  model     a two-layer MixtralForCausalLM: weights, ids, logits, loss, router losses, and the gradients of
            loss + 0.02 * aux + 0.005 * z for a few weights.
"""
import json, os
import torch
import torch.nn.functional as F
from reference_llama import ReferenceLlama, sparse_moe, load_balancing_loss, router_z_loss, top_k


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(x) for x in t.double().flatten().tolist()]}


torch.manual_seed(0)
D, FF, E, K = 8, 12, 4, 2
block = {"gate.weight": torch.randn(E, D) * 0.5}
block["gate.weight"][2] = block["gate.weight"][1]
for e in range(E):
    block[f"experts.{e}.w1.weight"] = torch.randn(FF, D) * 0.3
    block[f"experts.{e}.w2.weight"] = torch.randn(D, FF) * 0.3
    block[f"experts.{e}.w3.weight"] = torch.randn(FF, D) * 0.3
x = torch.randn(2, 6, D)
out_weights = torch.randn(2, 6, D)


def run_block(capacity_factor):
    w = {k: v.clone().requires_grad_(True) for k, v in block.items()}
    xs = x.clone().requires_grad_(True)
    y, logits, dropped = sparse_moe(xs, w, "", E, K, capacity_factor)
    aux, z = load_balancing_loss(logits, E, K), router_z_loss(logits)
    ((y * out_weights).sum() + 0.3 * aux + 0.7 * z).backward()
    chosen = top_k(F.softmax(logits, -1), K)[1]
    probs = F.softmax(logits, -1)
    # The fixture must hold both kinds of tie: a token choosing both tied experts, and one breaking the tie at place k.
    both = ((chosen == 1).any(-1) & (chosen == 2).any(-1)).any()
    sorted_probs = probs.sort(-1, descending=True)[0]
    at_k = (sorted_probs[:, K - 1] == sorted_probs[:, K]).any()
    assert both and at_k, "re-draw: the block's tokens do not exercise both kinds of tie"
    return {
        "capacity_factor": capacity_factor,
        "output": enc(y), "aux_loss": float(aux), "z_loss": float(z), "dropped": dropped,
        "routed": torch.bincount(chosen.flatten(), minlength=E).tolist(),
        "grads": {k: enc(v.grad) for k, v in w.items()} | {"x": enc(xs.grad)},
    }


out = {
    "block": {"d_model": D, "ffn_hidden": FF, "n_experts": E, "experts_per_token": K,
              "weights": {k: enc(v) for k, v in block.items()}, "x": enc(x), "out_weights": enc(out_weights)},
}
out["block"].update(run_block(0.0))
out["capacity"] = run_block(0.6)
assert out["capacity"]["dropped"] > 0

torch.manual_seed(1)
V, T = 37, 8
model = ReferenceLlama(V=V, D=16, L=2, H=4, HKV=2, FF=24, E=4, K=2)
weights = {k: v.requires_grad_(True) for k, v in model.weights.items()}
model.weights = weights
idx = torch.randint(0, V, (2, T))
targets = torch.randint(0, V, (2, T))
logits, router_logits = model.forward_with_router(idx)
loss = F.cross_entropy(logits.view(-1, V), targets.view(-1))
aux = sum(load_balancing_loss(r, 4, 2) for r in router_logits) / len(router_logits)
z = sum(router_z_loss(r) for r in router_logits) / len(router_logits)
(loss + 0.02 * aux + 0.005 * z).backward()
graded = ["model.embed_tokens.weight", "model.layers.0.block_sparse_moe.gate.weight",
          "model.layers.1.block_sparse_moe.experts.3.w2.weight", "model.layers.0.self_attn.q_proj.weight"]
out["model"] = {
    "config": model.config(T),
    "weights": {k: enc(v) for k, v in weights.items()},
    "idx": idx.tolist(), "targets": targets.tolist(),
    "logits": enc(logits), "loss": float(loss), "aux_loss": float(aux), "z_loss": float(z),
    "aux_loss_coef": 0.02, "z_loss_coef": 0.005,
    "grads": {k: enc(weights[k].grad) for k in graded},
}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "moe.json"), "w") as f:
    json.dump(out, f)
print(f"block aux {out['block']['aux_loss']:.6f}, model loss {float(loss):.6f} aux {float(aux):.6f} with torch {torch.__version__}")

#!/usr/bin/python3
"""Reference logits and loss for a tiny LLaMA (Hugging Face LlamaForCausalLM semantics) written in plain PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 tests/LlmTrainer.Tests/Model/Fixtures/make_llama_fixture.py
Writes llama.json: the config, every weight under its HF name, input ids, logits and the loss.
"""
import json, os
import torch
import torch.nn.functional as F
from reference_llama import ReferenceLlama

torch.manual_seed(0)
V, T = 37, 8
model = ReferenceLlama(V=V, D=16, L=2, H=4, HKV=2, FF=40)
weights = model.weights

idx = torch.randint(0, V, (2, T))
targets = torch.randint(0, V, (2, T))

logits = model.forward(idx)
loss = F.cross_entropy(logits.view(-1, V), targets.view(-1))
out = {
    "config": model.config(T),
    "weights": {k: {"shape": list(v.shape), "data": v.flatten().tolist()} for k, v in weights.items()},
    "idx": idx.tolist(), "targets": targets.tolist(),
    "logits": {"shape": list(logits.shape), "data": logits.flatten().tolist()},
    "loss": float(loss),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama.json"), "w") as f:
    json.dump(out, f)
print(f"loss {float(loss):.6f} with torch {torch.__version__}")

#!/usr/bin/python3
"""Reference evaluation numbers for a tiny LLaMA (Hugging Face LlamaForCausalLM semantics) in plain PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 tests/LlmTrainer.Tests/Evaluation/Fixtures/make_eval_fixture.py
Writes eval.json: the config, every weight under its HF name, a token stream, and the summed next-token loss of
each evaluation window (window i feeds tokens [i*T, i*T + n) and predicts [i*T + 1, i*T + n + 1), n = T except
for a shorter last window), for all of the stream and for its first MAX_TOKENS predictions.

The vocabulary is a byte-level tokenizer without merges: ids 0-255 are the bytes themselves and 256 is
<|endoftext|>, so the stream is plain text and its byte count can be worked out by hand.
"""
import json, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Model", "Fixtures"))
from reference_llama import ReferenceLlama  # noqa: E402

torch.manual_seed(0)
V, T = 257, 8
EOT = 256
MAX_TOKENS = 13
DOCUMENTS = ["Once upon a time, a cat", "Bye."]
model = ReferenceLlama(V=V, D=16, L=2, H=4, HKV=2, FF=40)
weights = model.weights


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
        logits = model.forward(window[None, :-1])
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
    "config": model.config(T),
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

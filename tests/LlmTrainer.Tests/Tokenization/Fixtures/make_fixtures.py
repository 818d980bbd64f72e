#!/usr/bin/env python3
"""Builds the tokenizer fixtures from scratch, independently of the C# code.

A tiny BPE vocabulary is learnt here with a naive trainer, written in GPT-2's file formats
(encoder.json + vocab.bpe) and as a tiktoken rank file; then reference encodings are computed with
tiktoken's algorithm (regex pieces from the `regex` module, whole-piece lookup, then the lowest-rank
adjacent pair merged first, leftmost on ties). Run with a python3 that has `regex`:
    python3 make_fixtures.py
"""
import base64
import json
import os
import random

import regex

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
HERE = os.path.dirname(os.path.abspath(__file__))

SENTENCES = [
    "Once upon a time, there was a little girl named Lily.",
    "She loved to play outside in the sunshine with her dog, Max.",
    "One day, they found a shiny red ball under the old oak tree!",
    "\"Look, Max!\" she said. \"It's the best ball I've ever seen.\"",
    "They'll play until 5:30 pm, and then they're going home.",
    "Tom didn't want to share; he said, \"It is mine!\"",
    "The café served crème brûlée to 12 happy children.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "東京は大きな都市です。人々はとても親切です。",
    "Привет, как дела? Всё хорошо.",
    "Emoji time: 😀 👍🏽 👨‍👩‍👧 and 🇫🇷!",
    "Numbers: 3.14159, 2718281828, and 1,000,000.",
    "Tabs\tand  double  spaces   and\n\nnew lines.",
    "def add(a, b):\n    return a + b\n",
]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return bs, {b: chr(c) for b, c in zip(bs, cs)}


def train(corpus, n_merges):
    counts = {}
    for piece in regex.findall(GPT2, corpus):
        key = tuple(bytes([b]) for b in piece.encode("utf-8"))
        counts[key] = counts.get(key, 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for word, c in counts.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        new_counts = {}
        for word, c in counts.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_counts[tuple(out)] = new_counts.get(tuple(out), 0) + c
        counts = new_counts
    return merges


def encode(text, pattern, ranks):
    ids = []
    for piece in regex.findall(pattern, text):
        data = piece.encode("utf-8")
        if data in ranks:
            ids.append(ranks[data])
            continue
        parts = [bytes([b]) for b in data]
        while True:
            best, at = None, -1
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if at < 0:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        ids.extend(ranks[p] for p in parts)
    return ids


def test_strings():
    rng = random.Random(1234)
    fixed = [
        "", "a", " ", "  ", "hello world", "Hello  world", "hello\nworld", "it's", "IT'S", "they'll've'd",
        "don't   stop", "  leading", "trailing  ", "\n\n\n", " \n \n ", "\t\ttab", "x\r\ny\r\n\r\nz",
        "1234567", " 12 345 6789", "3.14", "a1b2c3", "...!!!???", " ...abc", "'quoted'", "''s", "'S 'Ll 'VE 'ſ",
        "𝐀𝐁𝐂 math bold", "a𝐀b 𝐀", "𠀀𠀁 extension B", "😀😀 😀", "👨‍👩‍👧‍👦 family", "e\u0301\u0301 combining",
        "\u00a0nbsp\u00a0\u00a0x", "\u3000ideographic\u3000space", "\u2028line\u2029para", "\x1c\x1d\x1e\x1f\x85 controls",
        "\x00\x01\x07 nul", "٣٤٥ arabic digits", "Ⅻ roman", "½ ¾", "ﬁ ligature", "İstanbul ıi", "ǅungla",
        "   \n   x", "x   ", "a \n b", " " * 40 + "x", "\n" * 10 + "y", "!" * 30,
    ]
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789     \n\n\t\r'\".,!?;:-()[]{}") + [
        "é", "ß", "ж", "東", "京", "😀", "👍", "🏽", "\u200d", "\u0301", "𝐀", "\u00a0", "\u3000", "\x1f", "\x85", "ſ",
    ]
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(150)]
    return fixed + SENTENCES + randoms


def main():
    corpus = "\n".join(SENTENCES * 3) + "\n" + " ".join(SENTENCES[:6]) * 4
    merges = train(corpus, 300)
    bs, byte_encoder = bytes_to_unicode()

    def to_str(data):
        return "".join(byte_encoder[b] for b in data)

    ranks = {bytes([b]): i for i, b in enumerate(bs)}
    for a, b in merges:
        ranks[a + b] = len(ranks)
    encoder = {to_str(t): r for t, r in ranks.items()}
    encoder["<|endoftext|>"] = len(ranks)

    with open(os.path.join(HERE, "encoder.json"), "w", encoding="utf-8") as f:
        json.dump(encoder, f, ensure_ascii=False)
    with open(os.path.join(HERE, "vocab.bpe"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{to_str(a)} {to_str(b)}\n")
    with open(os.path.join(HERE, "small.tiktoken"), "w", encoding="ascii") as f:
        for t, r in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f"{base64.b64encode(t).decode()} {r}\n")

    cases = []
    for s in test_strings():
        cases.append({
            "text": s,
            "gpt2_pieces": regex.findall(GPT2, s),
            "cl100k_pieces": regex.findall(CL100K, s),
            "gpt2_ids": encode(s, GPT2, ranks),
            "cl100k_ids": encode(s, CL100K, ranks),
        })
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"vocab_size": len(ranks) + 1, "merges": len(merges), "cases": cases}, f, ensure_ascii=True)
    print(f"{len(merges)} merges, {len(cases)} cases")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Builds the SentencePiece fixtures with the `sentencepiece` library itself (Debian: python3-sentencepiece).

    /usr/bin/python3 make_sentencepiece_fixtures.py

Writes, next to this script:
  sp_bpe.model           a small BPE model trained with Llama 2's options (byte fallback, digits split,
                         identity normalization, extra whitespace kept, dummy prefix)
  sp_plain.model         a small BPE model with sentencepiece's whitespace defaults, no byte fallback and
                         one user-defined symbol (unknown characters become <unk>)
  sp_bpe.tokenizer.bin   sp_bpe.model in llama2.c's tokenizer.bin layout, written as llama2.c's
                         tokenizer.py exports it (pieces with U+2581 as a space, bos/eos as "\\n<s>\\n"/"\\n</s>\\n")
  sp_bpe.tokenizer.json  sp_bpe.model as a Hugging Face tokenizer.json in the layout of the Llama converter
                         (vocab by id, merges by the merged piece's score, Prepend/Replace normalizer,
                         Replace/ByteFallback/Fuse/Strip decoder, byte_fallback BPE)
  sentencepiece.json     for each model: the adversarial strings, sentencepiece's ids and its decode of them,
                         and id sequences with sentencepiece's decode of each
"""
import json
import os
import random
import struct
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))

STORY = [
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.",
    "One day, she found a shiny red ball under the old oak tree. \"Look, Mom!\" she said.",
    "Tom and Sue went to the park. They played on the swings and laughed all day long.",
    "The cat was very hungry, so it ate the fish. Then it slept on the warm mat.",
    "Ben had 3 apples and 12 pears; he gave 2 to Anna, who said: \"Thank you!!\"",
    "Numbers: 3.14159, 2718281828, 1,000,000 and 42.",
    "The café served crème brûlée. Über den Wolken. Привет, как дела?",
    "東京は大きな都市です。人々はとても親切です。",
    "aaaa bbbb aaaaaaaa    !!!! ---- ....   \t\ttabs\nnew line\n\n",
    "def add(a, b):\n    return a + b\n",
    "Emoji 😀 and more 😀😀 words.",
]

# Strings nobody trained on: unknown characters (byte fallback), runs, whitespace of every kind.
ADVERSARIAL = [
    "",
    " ",
    "  ",
    "    ",
    "\t",
    "\n",
    "\n\n",
    " \n \t ",
    "a",
    "aa",
    "aaa",
    "aaaa",
    "aaaaaaaa",
    "aaaaaaaaaaaaaaaaa",
    "bbbbbbbbbbbb aaaaaaa",
    "!!!!",
    "!!!!!!!!!",
    "....",
    "----------",
    "Hello world",
    " Hello world",
    "Hello  world ",
    "Hello\tworld\n",
    "  leading and trailing  ",
    "Once upon a time, there was a little girl named Lily.",
    "She said, \"It's mine!\" and ran.",
    "12345678901234567890",
    "3.14159 and 2,718",
    "東京は大きな都市です。",
    "中文字符测试，没有见过的字。",
    "한국어 텍스트",
    "😀",
    "😀😀😀",
    "👍🏽 👨‍👩‍👧 🇫🇷",
    "emoji😀inside",
    "café crème brûlée",
    "Привет мир",
    "مرحبا بالعالم",
    "∑ ∫ ≈ ≠ ∞",
    "\u2581",
    "a\u2581b \u2581 c",
    "\u00a0non-breaking\u00a0space",
    "zero\u200bwidth",
    "\r\n windows line",
    "<s> not a control token </s>",
    "<unk>",
    "<0x41>",
    "x" * 40,
    " " * 20,
    "ab" * 15,
    "The quick brown fox jumps over the lazy dog. " * 3,
    "\U0001F600 astral character written out",
    "mixed\u3000ideographic\u3000space",
    "tab\there\tand\there",
    "line1\nline2\r\nline3",
    "\x00nul\x01ctl",
]

# Long texts: many words, most of them repeated (the encoders reuse the ids of words seen before).
LONG = [
    " ".join(ADVERSARIAL),
    "\n".join(STORY * 3),
    "  ".join(STORY) + "\t\t" + " \u2581 ".join(STORY),
]

PLAIN_EXTRA = [
    "a <tag> b",
    "<tag><tag>",
    "unknown ☃☃ snowmen ★",
    "   spaces   everywhere   ",
]


def train(prefix, text_path, **options):
    spm.SentencePieceTrainer.train(input=text_path, model_prefix=prefix, **options)
    return prefix + ".model"


def id_sequences(sp, rng):
    """Sequences whose decoding exercises byte pieces (valid and broken UTF-8), control tokens, <unk> and spaces."""
    n = sp.get_piece_size()
    byte = {sp.id_to_piece(i): i for i in range(n) if sp.is_byte(i)}
    seqs = []
    if byte:
        b = lambda v: byte["<0x%02X>" % v]
        seqs += [
            [b(0xE4), b(0xB8), b(0xAD)],            # a whole character
            [b(0xE4), b(0xB8)],                     # truncated
            [b(0xE4), b(0xB8), sp.piece_to_id("▁a")],
            [b(0xFF), b(0x41), b(0x80)],            # invalid bytes around a valid one
            [b(0xC0), b(0xAF)],                     # overlong
            [b(0xED), b(0xA0), b(0x80)],            # surrogate
            [b(0x20), sp.piece_to_id("▁a")],       # a byte-piece space first
            [b(0xF0), b(0x9F), b(0x98), b(0x80), b(0xF0), b(0x9F)],
        ]
    seqs += [
        [sp.bos_id(), sp.piece_to_id("▁a")] if sp.bos_id() >= 0 else [sp.piece_to_id("▁a")],
        [sp.piece_to_id("▁"), sp.piece_to_id("▁a")],
        [sp.piece_to_id("▁"), sp.piece_to_id("▁"), sp.piece_to_id("a")],
        [sp.unk_id(), sp.piece_to_id("▁a"), sp.unk_id()],
        [sp.eos_id(), sp.piece_to_id("▁a"), sp.eos_id()] if sp.eos_id() >= 0 else [sp.piece_to_id("a")],
    ]
    for _ in range(40):
        seqs.append([rng.randrange(n) for _ in range(rng.randrange(1, 12))])
    return seqs


def fixture(sp, strings, rng):
    cases = []
    for s in strings:
        ids = sp.encode(s)
        cases.append({"text": s, "ids": ids, "decoded": sp.decode(ids)})
    decodes = [{"ids": ids, "text": sp.decode(ids)} for ids in id_sequences(sp, rng)]
    pieces = [{"piece": sp.id_to_piece(i), "score": sp.get_score(i)} for i in range(sp.get_piece_size())]
    return {
        "vocab_size": sp.get_piece_size(),
        "bos_id": sp.bos_id(),
        "eos_id": sp.eos_id(),
        "unk_id": sp.unk_id(),
        "pieces": pieces,
        "encode": cases,
        "decode": decodes,
    }


def write_tokenizer_bin(sp, path):
    # As llama2.c's tokenizer.py export(): bos/eos marked with newlines, U+2581 turned into a space, the score kept.
    tokens, scores = [], []
    for i in range(sp.get_piece_size()):
        t = sp.id_to_piece(i)
        if i == sp.bos_id():
            t = "\n<s>\n"
        elif i == sp.eos_id():
            t = "\n</s>\n"
        tokens.append(t.replace("▁", " ").encode("utf-8"))
        scores.append(sp.get_score(i))
    with open(path, "wb") as f:
        f.write(struct.pack("I", max(len(t) for t in tokens)))
        for b, s in zip(tokens, scores):
            f.write(struct.pack("fI", s, len(b)))
            f.write(b)


def write_tokenizer_json(sp, path):
    """The tokenizer.json that the Hugging Face Llama converter writes for a byte-fallback BPE model."""
    n = sp.get_piece_size()
    vocab = {sp.id_to_piece(i): i for i in range(n)}
    scores = {sp.id_to_piece(i): sp.get_score(i) for i in range(n)}
    # Merges, as the converter's SentencePieceExtractor makes them: every split of a piece into two pieces,
    # the splits of one piece ordered by the ids of their halves, all of them by the merged piece's score.
    merges = []
    for piece, score in scores.items():
        local = []
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                local.append((left, right, score))
        local.sort(key=lambda m: (vocab[m[0]], vocab[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: m[2], reverse=True)
    special = [i for i in range(n) if sp.is_control(i) or sp.is_unknown(i)]
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": sp.id_to_piece(i), "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i in special
        ],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
            ],
        },
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [sp.bos_id()], "tokens": ["<s>"]}},
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "vocab": vocab,
            "merges": [f"{l} {r}" for l, r, _ in merges],
        },
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    rng = random.Random(1234)
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "text.txt")
        lines = []
        for i in range(400):
            lines.append(STORY[i % len(STORY)] + (" " + str(i) if i % 7 == 0 else ""))
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

        llama = train(os.path.join(tmp, "sp_bpe"), text, model_type="bpe", vocab_size=500,
                      character_coverage=1.0, byte_fallback=True, split_digits=True, add_dummy_prefix=True,
                      normalization_rule_name="identity", remove_extra_whitespaces=False,
                      allow_whitespace_only_pieces=True, split_by_unicode_script=True,
                      max_sentencepiece_length=16, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
                      num_threads=1, minloglevel=2)
        plain = train(os.path.join(tmp, "sp_plain"), text, model_type="bpe", vocab_size=300,
                      character_coverage=0.98, normalization_rule_name="identity",
                      user_defined_symbols=["<tag>"], num_threads=1, minloglevel=2)
        for src, name in ((llama, "sp_bpe.model"), (plain, "sp_plain.model")):
            with open(src, "rb") as f, open(os.path.join(HERE, name), "wb") as g:
                g.write(f.read())

    sp = spm.SentencePieceProcessor(model_file=os.path.join(HERE, "sp_bpe.model"))
    sp_plain = spm.SentencePieceProcessor(model_file=os.path.join(HERE, "sp_plain.model"))
    write_tokenizer_bin(sp, os.path.join(HERE, "sp_bpe.tokenizer.bin"))
    write_tokenizer_json(sp, os.path.join(HERE, "sp_bpe.tokenizer.json"))
    out = {
        "sentencepiece_version": spm.__version__,
        "sp_bpe": fixture(sp, ADVERSARIAL + LONG, rng),
        "sp_plain": fixture(sp_plain, ADVERSARIAL + PLAIN_EXTRA + LONG, rng),
    }
    with open(os.path.join(HERE, "sentencepiece.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes HF tokenizer.json files built from GPT-2's encoder.json + vocab.bpe, with the merges
spelled both ways: legacy "a b" strings (tokenizers < 0.20) and ["a", "b"] pairs (>= 0.20).

Usage: tests/text/make_tokenizer_json.py OUT_DIR
  -> OUT_DIR/merges_strings/tokenizer.json and OUT_DIR/merges_pairs/tokenizer.json
Not committed (about 2 MB each); test_byte_bpe.cpp builds the same documents in memory from
tests/data/text/gpt2/ and checks that both spellings give gpt2_golden.jsonl's ids. Use these files
to try `vtrans tokenize --tokenizer OUT_DIR/merges_pairs` by hand.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GPT2 = os.path.join(ROOT, "tests", "data", "text", "gpt2")


def document(vocab, merges, pairs):
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": dict(byte_level, trim_offsets=False),
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": [list(m) if pairs else " ".join(m) for m in merges]},
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(os.path.join(GPT2, "encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(GPT2, "vocab.bpe"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split(" ")) for line in lines[1:] if line]  # first line: "#version: 0.2"
    for name, pairs in (("merges_strings", False), ("merges_pairs", True)):
        out = os.path.join(sys.argv[1], name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(document(vocab, merges, pairs), f, ensure_ascii=False)
        print(os.path.join(out, "tokenizer.json"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the fuzz seeds in tests/fuzz/seeds/<harness>/: small valid inputs of every loader.
Deterministic; the SentencePiece models are trained with libsentencepiece (Debian's
libsentencepiece-dev) through a few lines of C++. Only to regenerate the committed seeds."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "seeds")
MODELS = os.path.join(ROOT, "tests", "data", "models")


def put(harness, name, data):
    os.makedirs(os.path.join(OUT, harness), exist_ok=True)
    with open(os.path.join(OUT, harness, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, offset, data = {}, 0, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    shutil.rmtree(OUT, ignore_errors=True)

    put("safetensors", "f32.safetensors", safetensors(
        [("embeddings.weight", "F32", [2, 3], struct.pack("<6f", *range(6))), ("bias", "F32", [3], struct.pack("<3f", 1, 2, 3))],
        {"format": "pt"}))
    put("safetensors", "mixed.safetensors", safetensors([
        ("a.f16", "F16", [2], struct.pack("<2H", 0x3C00, 0x7C00)), ("b.bf16", "BF16", [1, 2], struct.pack("<2H", 0x3F80, 0xFFC0)),
        ("c.i64", "I64", [2], struct.pack("<2q", -1, 2**62)), ("d.bool", "BOOL", [3], b"\x00\x01\x02"),
        ("e.u8", "U8", [1], b"\xff"), ("f.f64", "F64", [1], struct.pack("<d", 1e300)), ("g.empty", "F32", [0, 4], b"")]))
    put("safetensors", "empty.safetensors", safetensors([], {}))

    for model in ("bert-pruned-heads", "gpt2-cls", "llama-hetero", "roberta-cls"):
        with open(os.path.join(MODELS, model, "config.json"), "rb") as f:
            put("config", model + ".json", f.read())

    put("shard_index", "index.json", json.dumps({
        "metadata": {"total_size": 42},
        "weight_map": {"embed.weight": "model-00001-of-00002.safetensors", "layer.0.w": "model-00001-of-00002.safetensors",
                       "norm.weight": "model-00002-of-00002.safetensors"}}, indent=2))
    put("shard_index", "partial.json", json.dumps({"weight_map": {"norm.weight": "model-00002-of-00002.safetensors"}}))

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "jury", "said", "un", "##aff", "##able", "a", "b", "c",
             "##a", "##b", "##c", ".", ",", "caf", "##e", "日", "本"]
    put("vocab_txt", "vocab.txt", "\n".join(words) + "\n")
    put("vocab_txt", "crlf.txt", "\r\n".join(words[:8]) + "\r\n")

    g = "\u0120"  # GPT-2's space symbol
    vocab = {c: i for i, c in enumerate(["a", "b", "c", "d", "e", "h", "l", "o", "r", "w", g, "!", ","])}
    merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), (g, "w"), (g + "w", "o"), ("r", "l"), (g + "wo", "rl")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<|endoftext|>"] = len(vocab)
    put("bpe_files", "gpt2.txt", json.dumps(vocab, ensure_ascii=False) + "\n#merges.txt\n#version: 0.2\n" +
        "\n".join(a + " " + b for a, b in merges) + "\n")
    roberta = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for t in list(vocab)[:-1]:
        roberta[t] = len(roberta)
    roberta["<mask>"] = len(roberta)
    put("bpe_files", "roberta.txt", json.dumps(roberta, ensure_ascii=False) + "\n#merges.txt\n" +
        "\n".join(a + " " + b for a, b in merges[:4]) + "\n")

    bpe_json = {
        "version": "1.0",
        "added_tokens": [{"id": len(vocab), "content": "<x>", "special": True}, {"id": len(vocab) - 1, "content": "<|endoftext|>"}],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel", "add_prefix_space": True}]},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<x>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<x>": {"id": "<x>", "ids": [len(vocab)], "tokens": ["<x>"]}}},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": vocab, "merges": [[a, b] for a, b in merges[:5]] + [a + " " + b for a, b in merges[5:]],
                  "unk_token": None, "ignore_merges": False}}
    put("tokenizer_json", "bpe.json", json.dumps(bpe_json, ensure_ascii=False, indent=1))
    roberta_json = dict(bpe_json, added_tokens=[], post_processor={"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]},
                        model={"type": "BPE", "vocab": roberta, "merges": [a + " " + b for a, b in merges]})
    put("tokenizer_json", "roberta.json", json.dumps(roberta_json, ensure_ascii=False))
    wp_json = {
        "added_tokens": [{"id": 4, "content": "[MASK]", "special": True}],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": {w: i for i, w in enumerate(words)}}}
    put("tokenizer_json", "wordpiece.json", json.dumps(wp_json, ensure_ascii=False, indent=1))

    corpus = ("the jury said it did find that the city\nhello world, this is a test.\ncafe naive 123 45\n"
              "The quick brown fox jumps over the lazy dog.\n")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "train.cpp")
        with open(src, "w") as f:
            f.write('#include <sentencepiece_trainer.h>\nint main(int, char** argv) {\n'
                    '  return sentencepiece::SentencePieceTrainer::Train(argv[1]).ok() ? 0 : 1;\n}\n')
        with open(os.path.join(tmp, "corpus.txt"), "w") as f:
            f.write(corpus)
        exe = os.path.join(tmp, "train")
        subprocess.run(["g++", "-std=c++17", src, "-o", exe, "-lsentencepiece_train", "-lsentencepiece"], check=True)
        for name, args in (("bpe", "--model_type=bpe --vocab_size=40"), ("unigram", "--model_type=unigram --vocab_size=40"),
                           ("bpe_bytes", "--model_type=bpe --vocab_size=300 --byte_fallback=true")):
            subprocess.run([exe, f"--input=corpus.txt --model_prefix={name} {args} --character_coverage=1.0 "
                                 "--normalization_rule_name=identity --minloglevel=2"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(os.path.join(tmp, name + ".model"), "rb") as f:
                put("sentencepiece", name + ".model", f.read())

    put("text_encode", "english.txt", "Hello world, it's a test. Don't they'll we've.\n  Spaces\tand tabs.")
    put("text_encode", "unicode.txt", "café naïve — “quotes” 日本語 😀 Σίσυφος İstanbul")
    put("text_encode", "specials.txt", "<|endoftext|> [CLS] [MASK] <s> </s> 3.14159 1,000,000")

    # tsv: first byte = options (bit 0: GLUE, task = byte / 2 % 9; else text-pair options).
    put("tsv", "pairs.tsv", b"\x00" + "good day\tpos\nbad day\tneg\n\ncafé\tpos\n".encode())
    put("tsv", "pair_header.tsv", b"\x0a" + b"text\tpair\tlabel\na\tb\tyes\nc\td\tno\n")
    put("tsv", "regression.tsv", b"\x10" + b"a\t0.5\nb\t-1.25\r\n")
    put("tsv", "sst2.tsv", bytes([1 | 2 * 1]) + b"sentence\tlabel\nit is good\t1\nit is bad\t0\n")
    put("tsv", "mnli.tsv", bytes([1 | 2 * 5]) + b"index\tp\tg\ts1\ts2\tp1\tp2\tsa\tsent1\tsent2\tl1\tgold\n"
        b"0\t1\t2\t3\t4\t5\t6\t7\tA man.\tA person.\tentailment\tentailment\n")
    put("tsv", "qqp_test.tsv", bytes([1 | 2 * 3 | 128]) + b"id\tquestion1\tquestion2\n0\tWhy?\tHow?\n")

    rows = [{"text": "a good day", "label": "pos"}, {"text": "bad", "text_pair": "day", "label": "neg", "id": 7},
            {"text": "x", "label": 3}]
    put("jsonl", "labels.jsonl", b"\x00" + "\n".join(json.dumps(r) for r in rows).encode() + b"\n")
    put("jsonl", "regression.jsonl", b"\x10" + b'{"text": "a", "label": 0.25}\n\n{"text": "b", "label": 2}\n')


if __name__ == "__main__":
    sys.exit(main())

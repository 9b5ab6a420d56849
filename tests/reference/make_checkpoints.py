#!/usr/bin/python3
"""Independent numeric reference for vtrans: tiny Hugging Face-format checkpoints + goldens.

Run with Debian's python (the only interpreter with torch here):

    /usr/bin/python3 tests/reference/make_checkpoints.py --out tests/data/models

Everything is deterministic (one torch.Generator per model, fixed seeds, CPU only).
Nothing from `transformers` / `safetensors` is used: the four architectures are re-implemented
below in plain torch following HF's modeling code (BertModel & heads, RobertaForSequenceClassification,
GPT2Model & heads, LlamaModel), and safetensors files are written by `save_safetensors`.

Numerics: goldens are computed in float64 from the exact values stored on disk (weights are
read back from the written safetensors and up-cast), then cast to float32.  The same forward is
also run in float32 and the max |f32 - f64| difference is recorded in each model's golden.json
so that C++ tests can pick a tolerance.  RoPE cos/sin are computed in float32 exactly like HF
(`inv_freq` and `freqs` in float32) and then up-cast.

Self-checks (abort on failure):
  * safetensors round trip: read back every file with an independent reader, check layout rules
    (header multiple of 8, no holes, dtype/shape/offsets), bit-compare with what was meant.
  * padding invariance: each padded row gives the same outputs on its real tokens as the same row
    run unpadded (also the pooled / last-token classification logits).
  * causality (GPT-2, LLaMA): perturbing tokens after position t leaves outputs <= t unchanged.
  * BERT / GPT-2 layers vs torch.nn.TransformerEncoderLayer (post-norm / pre-norm) with copied weights.
  * LLaMA vs a second, Meta-style implementation (complex-number RoPE on un-permuted q/k rows,
    per-head loops) -> validates the HF rotate_half convention and GQA grouping.
  * pruned BERT == unpruned BERT with the removed heads masked out (HF head_mask semantics).
"""
import argparse
import collections
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_grad_enabled(False)
torch.set_num_threads(1)

# ----------------------------------------------------------------------------------------------
# safetensors writer / reader
# ----------------------------------------------------------------------------------------------
_ST_DTYPE = {
    torch.float64: ("F64", 8), torch.float32: ("F32", 4), torch.float16: ("F16", 2),
    torch.bfloat16: ("BF16", 2), torch.int64: ("I64", 8), torch.int32: ("I32", 4),
    torch.uint8: ("U8", 1), torch.bool: ("BOOL", 1),
}
_NP_DTYPE = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
             "U8": "u1", "BOOL": "?"}


def _tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).numpy().tobytes()
    a = t.numpy()
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch.Tensor. Data ordered by (descending element size, name) like the
    reference implementation, so every tensor is aligned to its element size."""
    metadata = {"format": "pt"} if metadata is None else metadata
    items = sorted(tensors.items(), key=lambda kv: (-_ST_DTYPE[kv[1].dtype][1], kv[0]))
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, t in items:
        b = _tensor_bytes(t)
        assert len(b) == t.numel() * _ST_DTYPE[t.dtype][1]
        header[name] = {"dtype": _ST_DTYPE[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    return off  # payload bytes


def load_safetensors(path):
    """Independent reader with layout checks; returns (OrderedDict name -> torch.Tensor, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0, "header not padded to 8"
    hraw = data[8:8 + n]
    assert hraw[:1] == b"{"
    hdr = json.loads(hraw.decode("utf-8"))
    buf = data[8 + n:]
    meta = hdr.pop("__metadata__", None)
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in hdr.items())
    pos = 0
    for s, e, k in spans:
        assert s == pos, "hole/overlap before %s" % k
        pos = e
    assert pos == len(buf), "trailing bytes"
    out = collections.OrderedDict()
    for k in sorted(hdr):
        v = hdr[k]
        s, e = v["data_offsets"]
        shape = v["shape"]
        dt = v["dtype"]
        a = np.frombuffer(buf[s:e], dtype=np.dtype(_NP_DTYPE[dt])).reshape(shape)
        assert a.nbytes == e - s
        if dt == "BF16":
            t = torch.from_numpy(a.astype(np.int16).copy()).view(torch.bfloat16)
        elif dt == "BOOL":
            t = torch.from_numpy(a.copy())
        else:
            t = torch.from_numpy(a.astype(a.dtype.newbyteorder("=")).copy())
        out[k] = t
    return out, meta


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------
class Rng:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, *shape, std=0.3, mean=0.0):
        return (torch.randn(*shape, generator=self.g, dtype=torch.float32) * std + mean)

    def ln(self, n):  # non-trivial LayerNorm / RMSNorm parameters
        return self.normal(n, std=0.2, mean=1.0), self.normal(n, std=0.1)

    def ints(self, low, high, n):
        return torch.randint(low, high, (n,), generator=self.g).tolist()


def layer_cfg(cfg, layer, key, default=None):
    plc = cfg.get("per_layer_config") or {}
    entry = plc.get(str(layer), {})
    if key in entry:
        return entry[key]
    return cfg.get(key, default)


def layer_skips(cfg, layer):
    plc = cfg.get("per_layer_config") or {}
    return set(plc.get(str(layer), {}).get("skip", []))


def linear(x, w, b=None):  # torch.nn.Linear: w is [out, in]
    y = x @ w.t()
    return y + b if b is not None else y


def conv1d(x, w, b):  # transformers.pytorch_utils.Conv1D: w is [in, out]
    return x @ w + b


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):  # LlamaRMSNorm
    var = (x * x).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def gelu_erf(x):  # ACT2FN["gelu"]
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_new(x):  # ACT2FN["gelu_new"]
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x * torch.sigmoid(x)


def attention(q, k, v, n_heads, n_kv, head_dim, key_mask, causal, rope=None, head_mask=None, window=None):
    """q [B,S,nh*hd], k/v [B,S,nkv*hd]; key_mask [B,S] (1 keep); returns [B,S,nh*hd].
    Masked scores are excluded exactly (HF adds finfo.min, whose exp underflows to exactly 0).
    window: sliding window, query i sees keys j with i - window < j (masking_utils.sliding_window_overlay)."""
    B, S, _ = q.shape
    q = q.view(B, S, n_heads, head_dim).transpose(1, 2)
    k = k.view(B, S, n_kv, head_dim).transpose(1, 2)
    v = v.view(B, S, n_kv, head_dim).transpose(1, 2)
    if rope is not None:
        cos, sin = rope  # [S, hd]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
    rep = n_heads // n_kv
    assert rep * n_kv == n_heads
    k = k.repeat_interleave(rep, dim=1)  # == HF repeat_kv: kv head j serves q heads j*rep..j*rep+rep-1
    v = v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
    allowed = key_mask.bool()[:, None, None, :].expand(B, 1, S, S)
    if causal:
        allowed = allowed & torch.ones(S, S, dtype=torch.bool).tril()[None, None]
    if window is not None:
        i, j = torch.arange(S)[:, None], torch.arange(S)[None, :]
        allowed = allowed & (j > i - window)[None, None]
    assert allowed.any(-1).all(), "fully masked query row"
    scores = scores.masked_fill(~allowed, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    if head_mask is not None:
        p = p * head_mask.to(p.dtype)[None, :, None, None]
    return (p @ v).transpose(1, 2).reshape(B, S, n_heads * head_dim)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(head_dim, theta, seq_len, dtype):
    """LlamaRotaryEmbedding (rope_type 'default'), computed in float32 like HF, then cast."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    pos = torch.arange(seq_len).float()
    freqs = (inv_freq[:, None] @ pos[None, :]).t()  # [S, hd/2], float32
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rope_theta_of(cfg):
    rp = cfg.get("rope_parameters")
    if isinstance(rp, dict) and "rope_theta" in rp:
        return float(rp["rope_theta"])
    return float(cfg.get("rope_theta", 10000.0))


# ----------------------------------------------------------------------------------------------
# BERT / RoBERTa
# ----------------------------------------------------------------------------------------------
def roberta_position_ids(ids, padding_idx):
    # create_position_ids_from_input_ids(input_ids, padding_idx, past_key_values_length=0)
    mask = ids.ne(padding_idx).int()
    return (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + padding_idx


def bert_encoder(W, cfg, ids, mask, token_type_ids=None, position_ids=None, p="bert.", head_masks=None):
    B, S = ids.shape
    H = cfg["hidden_size"]
    nh0 = cfg["num_attention_heads"]
    hd = H // nh0
    eps = cfg["layer_norm_eps"]
    pruned = {int(k): v for k, v in (cfg.get("pruned_heads") or {}).items()}
    if position_ids is None:
        position_ids = torch.arange(S)[None].expand(B, S)
    if token_type_ids is None:
        token_type_ids = torch.zeros(B, S, dtype=torch.long)
    e = p + "embeddings."
    x = (W[e + "word_embeddings.weight"][ids] + W[e + "position_embeddings.weight"][position_ids]
         + W[e + "token_type_embeddings.weight"][token_type_ids])
    x = layer_norm(x, W[e + "LayerNorm.weight"], W[e + "LayerNorm.bias"], eps)
    for l in range(cfg["num_hidden_layers"]):
        L = "%sencoder.layer.%d." % (p, l)
        nh = nh0 - len(pruned.get(l, []))
        ff = layer_cfg(cfg, l, "intermediate_size")
        assert W[L + "attention.self.query.weight"].shape == (nh * hd, H)
        assert W[L + "intermediate.dense.weight"].shape == (ff, H)
        q = linear(x, W[L + "attention.self.query.weight"], W[L + "attention.self.query.bias"])
        k = linear(x, W[L + "attention.self.key.weight"], W[L + "attention.self.key.bias"])
        v = linear(x, W[L + "attention.self.value.weight"], W[L + "attention.self.value.bias"])
        hm = head_masks[l] if head_masks is not None else None
        ctx = attention(q, k, v, nh, nh, hd, mask, causal=False, head_mask=hm)
        a = linear(ctx, W[L + "attention.output.dense.weight"], W[L + "attention.output.dense.bias"])
        x = layer_norm(a + x, W[L + "attention.output.LayerNorm.weight"],
                       W[L + "attention.output.LayerNorm.bias"], eps)
        i = gelu_erf(linear(x, W[L + "intermediate.dense.weight"], W[L + "intermediate.dense.bias"]))
        o = linear(i, W[L + "output.dense.weight"], W[L + "output.dense.bias"])
        x = layer_norm(o + x, W[L + "output.LayerNorm.weight"], W[L + "output.LayerNorm.bias"], eps)
    return x


def bert_pooler_cls(W, x, p="bert."):
    pooled = torch.tanh(linear(x[:, 0], W[p + "pooler.dense.weight"], W[p + "pooler.dense.bias"]))
    return linear(pooled, W["classifier.weight"], W["classifier.bias"])


def bert_mlm_head(W, cfg, x, p="bert."):
    t = linear(x, W["cls.predictions.transform.dense.weight"], W["cls.predictions.transform.dense.bias"])
    t = gelu_erf(t)
    t = layer_norm(t, W["cls.predictions.transform.LayerNorm.weight"],
                   W["cls.predictions.transform.LayerNorm.bias"], cfg["layer_norm_eps"])
    dec = W.get("cls.predictions.decoder.weight", W[p + "embeddings.word_embeddings.weight"])  # tied
    return linear(t, dec, W["cls.predictions.bias"])


def roberta_cls_head(W, x):
    h = torch.tanh(linear(x[:, 0], W["classifier.dense.weight"], W["classifier.dense.bias"]))
    return linear(h, W["classifier.out_proj.weight"], W["classifier.out_proj.bias"])


def make_bert_weights(rng, cfg, p="bert.", pooler=True):
    """Returns (W, W_full): W has pruned heads sliced out (HF prune_linear_layer order), W_full is the
    same model before pruning (only differs when cfg has pruned_heads)."""
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    nh0 = cfg["num_attention_heads"]
    hd = H // nh0
    pruned = {int(k): v for k, v in (cfg.get("pruned_heads") or {}).items()}
    W, Wf = collections.OrderedDict(), collections.OrderedDict()

    def put(name, t, full=None):
        W[name] = t
        Wf[name] = t if full is None else full

    e = p + "embeddings."
    put(e + "word_embeddings.weight", rng.normal(V, H, std=0.5))
    put(e + "position_embeddings.weight", rng.normal(cfg["max_position_embeddings"], H, std=0.3))
    put(e + "token_type_embeddings.weight", rng.normal(cfg["type_vocab_size"], H, std=0.3))
    g, b = rng.ln(H)
    put(e + "LayerNorm.weight", g)
    put(e + "LayerNorm.bias", b)
    for l in range(cfg["num_hidden_layers"]):
        L = "%sencoder.layer.%d." % (p, l)
        ff = layer_cfg(cfg, l, "intermediate_size")
        keep = [h for h in range(nh0) if h not in pruned.get(l, [])]
        rows = torch.cat([torch.arange(h * hd, (h + 1) * hd) for h in keep])
        for nm, std in (("query", 0.25), ("key", 0.25), ("value", 0.3)):
            w, bb = rng.normal(nh0 * hd, H, std=std), rng.normal(nh0 * hd, std=0.1)
            put(L + "attention.self.%s.weight" % nm, w[rows].contiguous(), w)
            put(L + "attention.self.%s.bias" % nm, bb[rows].contiguous(), bb)
        w = rng.normal(H, nh0 * hd, std=0.3)
        put(L + "attention.output.dense.weight", w[:, rows].contiguous(), w)
        put(L + "attention.output.dense.bias", rng.normal(H, std=0.1))
        g, b = rng.ln(H)
        put(L + "attention.output.LayerNorm.weight", g)
        put(L + "attention.output.LayerNorm.bias", b)
        put(L + "intermediate.dense.weight", rng.normal(ff, H, std=0.3))
        put(L + "intermediate.dense.bias", rng.normal(ff, std=0.1))
        put(L + "output.dense.weight", rng.normal(H, ff, std=0.25))
        put(L + "output.dense.bias", rng.normal(H, std=0.1))
        g, b = rng.ln(H)
        put(L + "output.LayerNorm.weight", g)
        put(L + "output.LayerNorm.bias", b)
    if pooler:
        put(p + "pooler.dense.weight", rng.normal(H, H, std=0.3))
        put(p + "pooler.dense.bias", rng.normal(H, std=0.1))
    return W, Wf


# ----------------------------------------------------------------------------------------------
# GPT-2
# ----------------------------------------------------------------------------------------------
def gpt2_model(W, cfg, ids, mask, p="transformer."):
    B, S = ids.shape
    H, nh = cfg["n_embd"], cfg["n_head"]
    hd = H // nh
    eps = cfg["layer_norm_epsilon"]
    pos = torch.arange(S)[None].expand(B, S)  # HF: arange when position_ids is None (even with padding)
    x = W[p + "wte.weight"][ids] + W[p + "wpe.weight"][pos]
    for l in range(cfg["n_layer"]):
        L = "%sh.%d." % (p, l)
        h = layer_norm(x, W[L + "ln_1.weight"], W[L + "ln_1.bias"], eps)
        qkv = conv1d(h, W[L + "attn.c_attn.weight"], W[L + "attn.c_attn.bias"])
        q, k, v = qkv.split(H, dim=-1)
        a = attention(q, k, v, nh, nh, hd, mask, causal=True)
        x = x + conv1d(a, W[L + "attn.c_proj.weight"], W[L + "attn.c_proj.bias"])
        h = layer_norm(x, W[L + "ln_2.weight"], W[L + "ln_2.bias"], eps)
        m = gelu_new(conv1d(h, W[L + "mlp.c_fc.weight"], W[L + "mlp.c_fc.bias"]))
        x = x + conv1d(m, W[L + "mlp.c_proj.weight"], W[L + "mlp.c_proj.bias"])
    return layer_norm(x, W[p + "ln_f.weight"], W[p + "ln_f.bias"], eps)


def gpt2_cls_index(ids, pad_token_id):
    # GPT2ForSequenceClassification (transformers >= 4.48): rightmost token that is not pad_token_id
    non_pad = (ids != pad_token_id).long()
    return (torch.arange(ids.shape[1])[None] * non_pad).argmax(-1)


def make_gpt2_weights(rng, cfg, p="transformer."):
    H, V = cfg["n_embd"], cfg["vocab_size"]
    ff = cfg.get("n_inner") or 4 * H
    W = collections.OrderedDict()
    W[p + "wte.weight"] = rng.normal(V, H, std=0.4)
    W[p + "wpe.weight"] = rng.normal(cfg["n_positions"], H, std=0.2)
    for l in range(cfg["n_layer"]):
        L = "%sh.%d." % (p, l)
        W[L + "ln_1.weight"], W[L + "ln_1.bias"] = rng.ln(H)
        W[L + "attn.c_attn.weight"] = rng.normal(H, 3 * H, std=0.25)
        W[L + "attn.c_attn.bias"] = rng.normal(3 * H, std=0.1)
        W[L + "attn.c_proj.weight"] = rng.normal(H, H, std=0.3)
        W[L + "attn.c_proj.bias"] = rng.normal(H, std=0.1)
        W[L + "ln_2.weight"], W[L + "ln_2.bias"] = rng.ln(H)
        W[L + "mlp.c_fc.weight"] = rng.normal(H, ff, std=0.3)
        W[L + "mlp.c_fc.bias"] = rng.normal(ff, std=0.1)
        W[L + "mlp.c_proj.weight"] = rng.normal(ff, H, std=0.2)
        W[L + "mlp.c_proj.bias"] = rng.normal(H, std=0.1)
    W[p + "ln_f.weight"], W[p + "ln_f.bias"] = rng.ln(H)
    return W


# ----------------------------------------------------------------------------------------------
# LLaMA
# ----------------------------------------------------------------------------------------------
def llama_dims(cfg, l):
    H = cfg["hidden_size"]
    hd = cfg.get("head_dim") or H // cfg["num_attention_heads"]
    nh = layer_cfg(cfg, l, "num_attention_heads")
    nkv = layer_cfg(cfg, l, "num_key_value_heads") or nh
    ff = layer_cfg(cfg, l, "intermediate_size")
    return H, hd, nh, nkv, ff, layer_skips(cfg, l)


def llama_model(W, cfg, ids, mask, windows=None):
    """LlamaModel; also Qwen2Model (q/k/v biases, found in W) and MistralModel. windows: per-layer
    sliding window or None (full causal attention)."""
    B, S = ids.shape
    eps = cfg["rms_norm_eps"]
    x = W["model.embed_tokens.weight"][ids]
    hd0 = llama_dims(cfg, 0)[1]
    rope = rope_cos_sin(hd0, rope_theta_of(cfg), S, x.dtype)  # position_ids = arange(S)
    for l in range(cfg["num_hidden_layers"]):
        H, hd, nh, nkv, ff, skips = llama_dims(cfg, l)
        L = "model.layers.%d." % l
        if "attention" not in skips:
            h = rms_norm(x, W[L + "input_layernorm.weight"], eps)
            q, k, v = (linear(h, W[L + "self_attn.%s_proj.weight" % n], W.get(L + "self_attn.%s_proj.bias" % n)) for n in "qkv")
            assert q.shape[-1] == nh * hd and k.shape[-1] == nkv * hd
            a = attention(q, k, v, nh, nkv, hd, mask, causal=True, rope=rope, window=windows[l] if windows else None)
            x = x + linear(a, W[L + "self_attn.o_proj.weight"], W.get(L + "self_attn.o_proj.bias"))
        if "mlp" not in skips:
            h = rms_norm(x, W[L + "post_attention_layernorm.weight"], eps)
            assert W[L + "mlp.gate_proj.weight"].shape[0] == ff
            m = silu(linear(h, W[L + "mlp.gate_proj.weight"])) * linear(h, W[L + "mlp.up_proj.weight"])
            x = x + linear(m, W[L + "mlp.down_proj.weight"])
    return rms_norm(x, W["model.norm.weight"], eps)


def llama_lm_head(W, cfg, x):
    w = W.get("lm_head.weight")
    if w is None:
        assert cfg.get("tie_word_embeddings", False)
        w = W["model.embed_tokens.weight"]
    return linear(x, w)


def make_llama_weights(rng, cfg, qkv_bias=False):
    V = cfg["vocab_size"]
    W = collections.OrderedDict()
    H = cfg["hidden_size"]
    W["model.embed_tokens.weight"] = rng.normal(V, H, std=0.5)
    for l in range(cfg["num_hidden_layers"]):
        H, hd, nh, nkv, ff, skips = llama_dims(cfg, l)
        L = "model.layers.%d." % l
        if "attention" not in skips:
            W[L + "input_layernorm.weight"] = rng.normal(H, std=0.2, mean=1.0)
            W[L + "self_attn.q_proj.weight"] = rng.normal(nh * hd, H, std=0.25)
            W[L + "self_attn.k_proj.weight"] = rng.normal(nkv * hd, H, std=0.25)
            W[L + "self_attn.v_proj.weight"] = rng.normal(nkv * hd, H, std=0.3)
            W[L + "self_attn.o_proj.weight"] = rng.normal(H, nh * hd, std=0.3)
            if qkv_bias:  # Qwen2: biases on q, k and v only
                W[L + "self_attn.q_proj.bias"] = rng.normal(nh * hd, std=0.3)
                W[L + "self_attn.k_proj.bias"] = rng.normal(nkv * hd, std=0.3)
                W[L + "self_attn.v_proj.bias"] = rng.normal(nkv * hd, std=0.3)
        if "mlp" not in skips:  # a skipped MLP also drops its post_attention_layernorm
            W[L + "post_attention_layernorm.weight"] = rng.normal(H, std=0.2, mean=1.0)
            W[L + "mlp.gate_proj.weight"] = rng.normal(ff, H, std=0.3)
            W[L + "mlp.up_proj.weight"] = rng.normal(ff, H, std=0.3)
            W[L + "mlp.down_proj.weight"] = rng.normal(H, ff, std=0.25)
    W["model.norm.weight"] = rng.normal(H, std=0.2, mean=1.0)
    if not cfg.get("tie_word_embeddings", False):
        W["lm_head.weight"] = rng.normal(V, H, std=0.3)
    return W


# ----------------------------------------------------------------------------------------------
# independent cross-check implementations
# ----------------------------------------------------------------------------------------------
def check_bert_vs_torch_layer(W, cfg, ids, mask, tt, p):
    """Run BERT's encoder with torch.nn.TransformerEncoderLayer (post-norm) and compare."""
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    S = ids.shape[1]
    e = p + "embeddings."
    x = (W[e + "word_embeddings.weight"][ids] + W[e + "position_embeddings.weight"][torch.arange(S)][None]
         + W[e + "token_type_embeddings.weight"][tt])
    x = F.layer_norm(x, (H,), W[e + "LayerNorm.weight"], W[e + "LayerNorm.bias"], cfg["layer_norm_eps"])
    for l in range(cfg["num_hidden_layers"]):
        L = "%sencoder.layer.%d." % (p, l)
        ff = layer_cfg(cfg, l, "intermediate_size")
        m = torch.nn.TransformerEncoderLayer(H, nh, ff, dropout=0.0, activation=lambda t: F.gelu(t),
                                             layer_norm_eps=cfg["layer_norm_eps"], batch_first=True,
                                             norm_first=False).double().eval()
        m.self_attn.in_proj_weight.copy_(torch.cat([W[L + "attention.self.%s.weight" % n] for n in ("query", "key", "value")]))
        m.self_attn.in_proj_bias.copy_(torch.cat([W[L + "attention.self.%s.bias" % n] for n in ("query", "key", "value")]))
        m.self_attn.out_proj.weight.copy_(W[L + "attention.output.dense.weight"])
        m.self_attn.out_proj.bias.copy_(W[L + "attention.output.dense.bias"])
        m.norm1.weight.copy_(W[L + "attention.output.LayerNorm.weight"])
        m.norm1.bias.copy_(W[L + "attention.output.LayerNorm.bias"])
        m.linear1.weight.copy_(W[L + "intermediate.dense.weight"])
        m.linear1.bias.copy_(W[L + "intermediate.dense.bias"])
        m.linear2.weight.copy_(W[L + "output.dense.weight"])
        m.linear2.bias.copy_(W[L + "output.dense.bias"])
        m.norm2.weight.copy_(W[L + "output.LayerNorm.weight"])
        m.norm2.bias.copy_(W[L + "output.LayerNorm.bias"])
        x = m(x, src_key_padding_mask=(mask == 0))
    return x


def check_gpt2_vs_torch_layer(W, cfg, ids, mask, p):
    H, nh = cfg["n_embd"], cfg["n_head"]
    B, S = ids.shape
    ff = cfg.get("n_inner") or 4 * H
    eps = cfg["layer_norm_epsilon"]
    x = W[p + "wte.weight"][ids] + W[p + "wpe.weight"][:S][None]
    causal = torch.ones(S, S, dtype=torch.bool).triu(1)  # True = not allowed
    for l in range(cfg["n_layer"]):
        L = "%sh.%d." % (p, l)
        m = torch.nn.TransformerEncoderLayer(H, nh, ff, dropout=0.0,
                                             activation=lambda t: F.gelu(t, approximate="tanh"),
                                             layer_norm_eps=eps, batch_first=True, norm_first=True).double().eval()
        m.self_attn.in_proj_weight.copy_(W[L + "attn.c_attn.weight"].t())
        m.self_attn.in_proj_bias.copy_(W[L + "attn.c_attn.bias"])
        m.self_attn.out_proj.weight.copy_(W[L + "attn.c_proj.weight"].t())
        m.self_attn.out_proj.bias.copy_(W[L + "attn.c_proj.bias"])
        m.norm1.weight.copy_(W[L + "ln_1.weight"]); m.norm1.bias.copy_(W[L + "ln_1.bias"])
        m.norm2.weight.copy_(W[L + "ln_2.weight"]); m.norm2.bias.copy_(W[L + "ln_2.bias"])
        m.linear1.weight.copy_(W[L + "mlp.c_fc.weight"].t()); m.linear1.bias.copy_(W[L + "mlp.c_fc.bias"])
        m.linear2.weight.copy_(W[L + "mlp.c_proj.weight"].t()); m.linear2.bias.copy_(W[L + "mlp.c_proj.bias"])
        x = m(x, src_mask=causal, src_key_padding_mask=(mask == 0))
    return F.layer_norm(x, (H,), W[p + "ln_f.weight"], W[p + "ln_f.bias"], eps)


def meta_llama_logits(W, cfg, ids, mask, windows=None):
    """Meta-style LLaMA: q/k rows converted back to Meta's interleaved layout (inverse of
    convert_llama_weights_to_hf.permute), complex-number RoPE, per-(batch, head) loops over the
    keys each query sees (causal, not padding, within the sliding window when there is one)."""
    B, S = ids.shape
    eps = cfg["rms_norm_eps"]
    theta = rope_theta_of(cfg)

    def unpermute(w, n_heads, hd):
        return w.view(n_heads, 2, hd // 2, -1).transpose(1, 2).reshape(n_heads * hd, *w.shape[1:])

    def bias(name, n_heads=None, hd=None):
        b = W.get(name, None)
        if b is None:
            return 0.0
        return unpermute(b[:, None], n_heads, hd)[:, 0] if n_heads else b

    def rms(t, w):
        return w * (t / torch.sqrt(t.pow(2).mean(-1, keepdim=True) + eps))

    x = W["model.embed_tokens.weight"][ids].clone()
    for l in range(cfg["num_hidden_layers"]):
        H, hd, nh, nkv, ff, skips = llama_dims(cfg, l)
        L = "model.layers.%d." % l
        freqs = 1.0 / (theta ** (torch.arange(0, hd, 2).double() / hd))
        cis = torch.polar(torch.ones(S, hd // 2, dtype=torch.float64), torch.outer(torch.arange(S).double(), freqs))
        if "attention" not in skips:
            h = rms(x, W[L + "input_layernorm.weight"])
            wq = unpermute(W[L + "self_attn.q_proj.weight"], nh, hd)
            wk = unpermute(W[L + "self_attn.k_proj.weight"], nkv, hd)
            xq = (h @ wq.t() + bias(L + "self_attn.q_proj.bias", nh, hd)).view(B, S, nh, hd)
            xk = (h @ wk.t() + bias(L + "self_attn.k_proj.bias", nkv, hd)).view(B, S, nkv, hd)
            xv = (h @ W[L + "self_attn.v_proj.weight"].t() + bias(L + "self_attn.v_proj.bias")).view(B, S, nkv, hd)
            win = windows[l] if windows else None
            xq = torch.view_as_real(torch.view_as_complex(xq.reshape(B, S, nh, hd // 2, 2).contiguous()) * cis[None, :, None]).reshape(B, S, nh, hd)
            xk = torch.view_as_real(torch.view_as_complex(xk.reshape(B, S, nkv, hd // 2, 2).contiguous()) * cis[None, :, None]).reshape(B, S, nkv, hd)
            out = torch.zeros(B, S, nh, hd, dtype=x.dtype)
            for b in range(B):
                for hh in range(nh):
                    kv = hh // (nh // nkv)
                    for i in range(S):
                        js = [j for j in range(i + 1) if mask[b, j] == 1 and (win is None or j > i - win)]
                        s = torch.stack([xq[b, i, hh] @ xk[b, j, kv] for j in js]) / math.sqrt(hd)
                        pr = torch.exp(s - s.max())
                        pr = pr / pr.sum()
                        out[b, i, hh] = sum(pr[n] * xv[b, j, kv] for n, j in enumerate(js))
            x = x + out.reshape(B, S, nh * hd) @ W[L + "self_attn.o_proj.weight"].t() + bias(L + "self_attn.o_proj.bias")
        if "mlp" not in skips:
            h = rms(x, W[L + "post_attention_layernorm.weight"])
            g = h @ W[L + "mlp.gate_proj.weight"].t()
            x = x + (F.silu(g) * (h @ W[L + "mlp.up_proj.weight"].t())) @ W[L + "mlp.down_proj.weight"].t()
    x = rms(x, W["model.norm.weight"])
    return x @ W.get("lm_head.weight", W["model.embed_tokens.weight"]).t()


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------
def make_inputs(rng, S, lengths, lo, hi, pad_id, bos=None, eos=None, exclude=()):
    ids, mask = [], []
    for L in lengths:
        row = []
        while len(row) < L:
            t = rng.ints(lo, hi, 1)[0]
            if t not in exclude:
                row.append(t)
        if bos is not None:
            row[0] = bos
        if eos is not None:
            row[L - 1] = eos
        ids.append(row + [pad_id] * (S - L))
        mask.append([1] * L + [0] * (S - L))
    return torch.tensor(ids), torch.tensor(mask)


def write_matrix(path, m):
    with open(path, "w") as f:
        for row in m.tolist():
            f.write(" ".join(str(int(v)) for v in row) + "\n")


# ----------------------------------------------------------------------------------------------
# generic emitter
# ----------------------------------------------------------------------------------------------
def to_compute(W, dtype):
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in W.items()}


def max_diff(a, b):
    return float((a.double() - b.double()).abs().max())


TOL64 = 1e-10
REPORT = []


def emit(out_root, name, cfg, stored, canon_of, forward, ids, mask, tt=None, kind="",
         shards=None, checks=None, golden_extra=None):
    """stored: dict file-name -> tensor (storage dtype). canon_of: stored name -> canonical name (or
    None to ignore, e.g. buffers). forward(Wcanon, ids, mask, tt) -> (out, hidden).
    shards: list of (filename, [names]) for a sharded checkpoint."""
    d = os.path.join(out_root, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    if shards is None:
        save_safetensors(os.path.join(d, "model.safetensors"), stored)
        files = ["model.safetensors"]
    else:
        wm, total = {}, 0
        files = []
        for fn, names in shards:
            total += save_safetensors(os.path.join(d, fn), {n: stored[n] for n in names})
            for n in names:
                wm[n] = fn
            files.append(fn)
        assert sorted(wm) == sorted(stored)
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))}, f, indent=2)
            f.write("\n")

    # read back what is on disk and rebuild the canonical state dict from it
    loaded = {}
    for fn in files:
        t, meta = load_safetensors(os.path.join(d, fn))
        assert meta == {"format": "pt"}
        for k, v in t.items():
            assert k not in loaded
            loaded[k] = v
    assert sorted(loaded) == sorted(stored), name
    Wc = {}
    for k, v in loaded.items():
        ref = stored[k]
        assert v.dtype == ref.dtype and tuple(v.shape) == tuple(ref.shape), k
        assert torch.equal(v.view(-1).to(torch.float64) if v.is_floating_point() else v, 
                           ref.view(-1).to(torch.float64) if ref.is_floating_point() else ref), k
        c = canon_of(k)
        if c is not None:
            Wc[c] = v

    W64 = to_compute(Wc, torch.float64)
    W32 = to_compute(Wc, torch.float32)
    out64, hid64 = forward(W64, ids, mask, tt)
    out32, hid32 = forward(W32, ids, mask, tt)
    f32diff = max_diff(out64, out32)
    f32diff_h = max_diff(hid64, hid32)

    # padding invariance: each padded row == same row unpadded, on its real tokens
    lengths = mask.sum(1).tolist()
    S = ids.shape[1]
    pad_checked = 0
    for b, L in enumerate(lengths):
        if L == S:
            continue
        o1, h1 = forward(W64, ids[b:b + 1, :L], mask[b:b + 1, :L], None if tt is None else tt[b:b + 1, :L])
        assert max_diff(h1[0], hid64[b, :L]) < TOL64, (name, "padding invariance (hidden)", b)
        if out64.dim() == 3:
            assert max_diff(o1[0], out64[b, :L]) < TOL64, (name, "padding invariance (out)", b)
        else:
            assert max_diff(o1[0], out64[b]) < TOL64, (name, "padding invariance (pooled)", b)
        pad_checked += 1
    for c in (checks or []):
        c(W64, ids, mask, tt, out64, hid64)

    np.save(os.path.join(d, "expected.npy"), out64.to(torch.float32).numpy())
    np.save(os.path.join(d, "expected_hidden.npy"), hid64.to(torch.float32).numpy())
    write_matrix(os.path.join(d, "input_ids.txt"), ids)
    write_matrix(os.path.join(d, "attention_mask.txt"), mask)
    if tt is not None:
        write_matrix(os.path.join(d, "token_type_ids.txt"), tt)
    golden = {
        "architecture": cfg["architectures"][0],
        "output": kind,
        "expected_shape": list(out64.shape),
        "expected_hidden_shape": list(hid64.shape),
        "compute_dtype": "float64 (cast to float32 on save)",
        "max_abs_expected": float(out64.abs().max()),
        "max_abs_diff_float32_forward": f32diff,
        "max_abs_diff_float32_forward_hidden": f32diff_h,
        "padded_positions_included": True,
        "token_type_ids": "token_type_ids.txt" if tt is not None else "all zeros (not given)",
        "weight_files": files,
        "padded_rows_checked": pad_checked,
    }
    golden.update(golden_extra or {})
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    REPORT.append((name, cfg["architectures"][0], list(out64.shape), f32diff, float(out64.abs().max())))
    print("[ok] %-18s %-36s expected %-14s |f32-f64| %.2e" % (name, cfg["architectures"][0], list(out64.shape), f32diff))


def identity(k):
    return k


def causal_check(fwd_logits):
    def chk(W, ids, mask, tt, out, hid):
        B, S = ids.shape
        for t in range(1, S - 1):
            ids2 = ids.clone()
            ids2[:, t + 1:] = (ids2[:, t + 1:] + 7) % 5 + 3  # different, non-special tokens
            o2, h2 = fwd_logits(W, ids2, mask, tt)
            assert max_diff(h2[:, :t + 1], hid[:, :t + 1]) < TOL64, "causality"
            assert max_diff(o2[:, :t + 1], out[:, :t + 1]) < TOL64, "causality"
    return chk


# ----------------------------------------------------------------------------------------------
# model definitions
# ----------------------------------------------------------------------------------------------
TV = "4.44.2"


def bert_config(arch, H=32, L=2, nh=4, ff=64, V=120, P=16, **kw):
    c = {
        "architectures": [arch], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
        "intermediate_size": ff, "layer_norm_eps": 1e-12, "max_position_embeddings": P, "model_type": "bert",
        "num_attention_heads": nh, "num_hidden_layers": L, "pad_token_id": 0,
        "position_embedding_type": "absolute", "torch_dtype": "float32", "transformers_version": TV,
        "type_vocab_size": 2, "use_cache": True, "vocab_size": V,
    }
    c.update(kw)
    return c


def labels(names):
    return {"id2label": {str(i): n for i, n in enumerate(names)}, "label2id": {n: i for i, n in enumerate(names)}}


# BERT special ids used in the inputs (vocab layout is arbitrary for these tiny models)
B_PAD, B_CLS, B_SEP, B_MASK, B_FIRST = 0, 2, 3, 4, 5


def second_half_types(mask):
    tt = torch.zeros_like(mask)
    for b, L in enumerate(mask.sum(1).tolist()):
        tt[b, L // 2:L] = 1
    return tt


def model_bert_cls(out):
    rng = Rng(101)
    cfg = bert_config("BertForSequenceClassification", L=2, **labels(["negative", "neutral", "positive"]))
    cfg["problem_type"] = "single_label_classification"
    W, _ = make_bert_weights(rng, cfg)
    W["classifier.weight"] = rng.normal(3, 32, std=0.4)
    W["classifier.bias"] = rng.normal(3, std=0.1)
    ids, mask = make_inputs(rng, 8, [8, 6, 4], B_FIRST, cfg["vocab_size"], B_PAD, bos=B_CLS, eos=B_SEP)
    tt = second_half_types(mask)

    def fwd(W, ids, mask, tt):
        x = bert_encoder(W, cfg, ids, mask, token_type_ids=tt)
        return bert_pooler_cls(W, x), x

    def chk(W, ids, mask, tt, out, hid):
        ref = check_bert_vs_torch_layer(W, cfg, ids, mask, tt, "bert.")
        m = mask.bool()
        d = max_diff(ref[m], hid[m])
        assert d < 1e-9, ("bert vs nn.TransformerEncoderLayer", d)

    emit(out, "bert-cls", cfg, W, identity, fwd, ids, mask, tt, kind="logits [batch, num_labels]", checks=[chk])


def model_bert_oldnames(out):
    rng = Rng(102)
    cfg = bert_config("BertModel", L=2, V=100)
    Wc, _ = make_bert_weights(rng, cfg, p="")
    stored = collections.OrderedDict()
    for k, v in Wc.items():
        k2 = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        stored[k2] = v

    def canon(k):
        return k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")

    ids, mask = make_inputs(rng, 7, [7, 7, 7], B_FIRST, cfg["vocab_size"], B_PAD, bos=B_CLS, eos=B_SEP)

    def fwd(W, ids, mask, tt):
        x = bert_encoder(W, cfg, ids, mask, p="")
        return x, x

    emit(out, "bert-base-oldnames", cfg, stored, canon, fwd, ids, mask, None, kind="last_hidden_state [batch, seq, hidden]")


def model_bert_mlm(out):
    rng = Rng(103)
    cfg = bert_config("BertForMaskedLM", L=2, V=150, tie_word_embeddings=True)
    W, _ = make_bert_weights(rng, cfg, pooler=False)
    W["cls.predictions.transform.dense.weight"] = rng.normal(32, 32, std=0.3)
    W["cls.predictions.transform.dense.bias"] = rng.normal(32, std=0.1)
    W["cls.predictions.transform.LayerNorm.weight"], W["cls.predictions.transform.LayerNorm.bias"] = rng.ln(32)
    W["cls.predictions.bias"] = rng.normal(150, std=0.2)
    ids, mask = make_inputs(rng, 9, [9, 7, 9], B_FIRST, cfg["vocab_size"], B_PAD, bos=B_CLS, eos=B_SEP)
    ids[0, 3] = B_MASK
    ids[1, 2] = B_MASK

    def fwd(W, ids, mask, tt):
        x = bert_encoder(W, cfg, ids, mask)
        return bert_mlm_head(W, cfg, x), x

    emit(out, "bert-mlm", cfg, W, identity, fwd, ids, mask, None, kind="logits [batch, seq, vocab]")


def model_bert_token_cls(out):
    rng = Rng(104)
    cfg = bert_config("BertForTokenClassification", L=2, V=110, **labels(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]))
    W, _ = make_bert_weights(rng, cfg, pooler=False)
    W["classifier.weight"] = rng.normal(5, 32, std=0.4)
    W["classifier.bias"] = rng.normal(5, std=0.1)
    ids, mask = make_inputs(rng, 8, [8, 8, 5], B_FIRST, cfg["vocab_size"], B_PAD, bos=B_CLS, eos=B_SEP)

    def fwd(W, ids, mask, tt):
        x = bert_encoder(W, cfg, ids, mask)
        return linear(x, W["classifier.weight"], W["classifier.bias"]), x

    emit(out, "bert-token-cls", cfg, W, identity, fwd, ids, mask, None, kind="logits [batch, seq, num_labels]")


def model_bert_pruned(out):
    rng = Rng(110)
    cfg = bert_config("BertForSequenceClassification", L=3, ff=64, V=100, **labels(["LABEL_0", "LABEL_1"]))
    cfg["pruned_heads"] = {"0": [1], "1": [0, 2]}
    cfg["per_layer_config"] = {"1": {"intermediate_size": 48}, "2": {"intermediate_size": 40}}
    W, Wfull = make_bert_weights(rng, cfg)
    cw, cb = rng.normal(2, 32, std=0.4), rng.normal(2, std=0.1)
    for D in (W, Wfull):
        D["classifier.weight"], D["classifier.bias"] = cw, cb
    ids, mask = make_inputs(rng, 8, [8, 5, 7], B_FIRST, cfg["vocab_size"], B_PAD, bos=B_CLS, eos=B_SEP)
    tt = second_half_types(mask)

    def fwd(W, ids, mask, tt):
        x = bert_encoder(W, cfg, ids, mask, token_type_ids=tt)
        return bert_pooler_cls(W, x), x

    def chk(W, ids, mask, tt, out, hid):
        # unpruned model with HF head_mask zeroing the pruned heads must give the same numbers
        cfg_full = dict(cfg)
        cfg_full.pop("pruned_heads")
        hm = [torch.tensor([0.0 if h in cfg["pruned_heads"].get(str(l), []) else 1.0 for h in range(4)])
              for l in range(3)]
        Wf = to_compute(Wfull, torch.float64)
        x = bert_encoder(Wf, cfg_full, ids, mask, token_type_ids=tt, head_masks=hm)
        assert max_diff(x, hid) < 1e-9 and max_diff(bert_pooler_cls(Wf, x), out) < 1e-9, "pruned != head-masked"
        # and the pruning must matter
        x0 = bert_encoder(Wf, cfg_full, ids, mask, token_type_ids=tt)
        assert max_diff(x0, hid) > 1e-2

    emit(out, "bert-pruned-heads", cfg, W, identity, fwd, ids, mask, tt, kind="logits [batch, num_labels]",
         checks=[chk], golden_extra={"heads_per_layer": [3, 2, 4], "intermediate_per_layer": [64, 48, 40]})


def model_roberta_cls(out):
    rng = Rng(105)
    S = 9
    cfg = bert_config("RobertaForSequenceClassification", L=2, V=130, P=16 + 2, model_type="roberta",
                      layer_norm_eps=1e-5, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                      **labels(["LABEL_0", "LABEL_1", "LABEL_2"]))
    cfg["model_type"] = "roberta"
    W, _ = make_bert_weights(rng, cfg, p="roberta.", pooler=False)
    W["classifier.dense.weight"] = rng.normal(32, 32, std=0.3)
    W["classifier.dense.bias"] = rng.normal(32, std=0.1)
    W["classifier.out_proj.weight"] = rng.normal(3, 32, std=0.4)
    W["classifier.out_proj.bias"] = rng.normal(3, std=0.1)
    stored = collections.OrderedDict(W)
    # persistent buffer saved by transformers < 4.31 (not a parameter; loaders must ignore it)
    stored["roberta.embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"], dtype=torch.int64)[None]
    ids, mask = make_inputs(rng, S, [9, 6, 7], 3, cfg["vocab_size"], 1, bos=0, eos=2)

    def canon(k):
        return None if k.endswith("position_ids") else k

    def fwd(W, ids, mask, tt):
        pos = roberta_position_ids(ids, cfg["pad_token_id"])
        x = bert_encoder(W, cfg, ids, mask, position_ids=pos, p="roberta.")
        return roberta_cls_head(W, x), x

    def chk(W, ids, mask, tt, out, hid):
        pos = roberta_position_ids(ids, 1)
        assert pos[1].tolist() == [2, 3, 4, 5, 6, 7, 1, 1, 1], pos[1].tolist()
        assert pos[0].tolist() == list(range(2, 11))

    emit(out, "roberta-cls", cfg, stored, canon, fwd, ids, mask, None, kind="logits [batch, num_labels]",
         checks=[chk], golden_extra={"position_ids": roberta_position_ids(ids, 1).tolist()})


def gpt2_config(arch, H=32, L=2, nh=4, V=150, P=16, n_inner=None, **kw):
    c = {
        "activation_function": "gelu_new", "architectures": [arch], "attn_pdrop": 0.1, "bos_token_id": V - 1,
        "embd_pdrop": 0.1, "eos_token_id": V - 1, "initializer_range": 0.02, "layer_norm_epsilon": 1e-5,
        "model_type": "gpt2", "n_ctx": P, "n_embd": H, "n_head": nh, "n_inner": n_inner, "n_layer": L,
        "n_positions": P, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True, "torch_dtype": "float32",
        "transformers_version": TV, "use_cache": True, "vocab_size": V,
    }
    c.update(kw)
    return c


def model_gpt2_lm(out):
    rng = Rng(106)
    cfg = gpt2_config("GPT2LMHeadModel", L=2, V=150, P=16)
    W = make_gpt2_weights(rng, cfg, p="")
    stored = collections.OrderedDict(W)
    P = cfg["n_positions"]
    tri = torch.ones(P, P, dtype=torch.bool).tril().view(1, 1, P, P)
    stored["h.0.attn.bias"] = tri.to(torch.uint8)  # old pickles: uint8
    stored["h.1.attn.bias"] = tri.clone()  # newer: bool
    for l in range(cfg["n_layer"]):
        stored["h.%d.attn.masked_bias" % l] = torch.tensor(-1e4, dtype=torch.float32)  # 0-rank
    eos = cfg["eos_token_id"]
    ids, mask = make_inputs(rng, 8, [8, 5, 7], 0, eos, eos)

    def canon(k):
        return None if (k.endswith(".attn.bias") or k.endswith(".attn.masked_bias")) else k

    def fwd(W, ids, mask, tt):
        x = gpt2_model(W, cfg, ids, mask, p="")
        return x @ W["wte.weight"].t(), x

    def chk(W, ids, mask, tt, out, hid):
        ref = check_gpt2_vs_torch_layer(W, cfg, ids, mask, "")
        m = mask.bool()
        d = max_diff(ref[m], hid[m])
        assert d < 1e-9, ("gpt2 vs nn.TransformerEncoderLayer", d)

    emit(out, "gpt2-lm", cfg, stored, canon, fwd, ids, mask, None, kind="logits [batch, seq, vocab]",
         checks=[chk, causal_check(fwd)])


def model_gpt2_cls(out):
    rng = Rng(107)
    V = 140
    cfg = gpt2_config("GPT2ForSequenceClassification", L=3, V=V, P=16, pad_token_id=V - 1,
                      **labels(["NEGATIVE", "POSITIVE"]))
    W = make_gpt2_weights(rng, cfg, p="transformer.")
    W["score.weight"] = rng.normal(2, 32, std=0.4)
    pad = cfg["pad_token_id"]
    ids, mask = make_inputs(rng, 8, [8, 3, 6], 0, V - 1, pad)

    def fwd(W, ids, mask, tt):
        x = gpt2_model(W, cfg, ids, mask, p="transformer.")
        logits = linear(x, W["score.weight"])  # [B, S, num_labels]
        idx = gpt2_cls_index(ids, pad)
        return logits[torch.arange(ids.shape[0]), idx], x

    def chk(W, ids, mask, tt, out, hid):
        assert gpt2_cls_index(ids, pad).tolist() == (mask.sum(1) - 1).tolist()
        # older rule (first pad - 1, modulo seq) agrees for right padding
        old = (torch.eq(ids, pad).int().argmax(-1) - 1) % ids.shape[1]
        assert old.tolist() == (mask.sum(1) - 1).tolist()

    emit(out, "gpt2-cls", cfg, W, identity, fwd, ids, mask, None, kind="logits [batch, num_labels]",
         checks=[chk], golden_extra={"pooled_token_index": (mask.sum(1) - 1).tolist()})


def model_gpt2_f16(out):
    rng = Rng(112)
    cfg = gpt2_config("GPT2LMHeadModel", L=2, V=130, P=12, n_inner=48, torch_dtype="float16")
    W = make_gpt2_weights(rng, cfg, p="transformer.")
    stored = collections.OrderedDict((k, v.to(torch.float16)) for k, v in W.items())
    eos = cfg["eos_token_id"]
    ids, mask = make_inputs(rng, 7, [7, 7, 4], 0, eos, eos)

    def fwd(W, ids, mask, tt):
        x = gpt2_model(W, cfg, ids, mask)
        return x @ W["transformer.wte.weight"].t(), x

    def chk(W, ids, mask, tt, out, hid):
        ref = check_gpt2_vs_torch_layer(W, cfg, ids, mask, "transformer.")
        m = mask.bool()
        assert max_diff(ref[m], hid[m]) < 1e-9

    emit(out, "gpt2-f16", cfg, stored, identity, fwd, ids, mask, None, kind="logits [batch, seq, vocab]",
         checks=[chk, causal_check(fwd)],
         golden_extra={"note": "goldens use the F16-rounded weights, computed in float64"})


def llama_config(H=32, L=2, nh=4, nkv=2, ff=64, V=160, **kw):
    c = {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 1, "eos_token_id": 2, "head_dim": H // nh, "hidden_act": "silu", "hidden_size": H,
        "initializer_range": 0.02, "intermediate_size": ff, "max_position_embeddings": 32, "mlp_bias": False,
        "model_type": "llama", "num_attention_heads": nh, "num_hidden_layers": L, "num_key_value_heads": nkv,
        "pretraining_tp": 1, "rms_norm_eps": 1e-6, "rope_scaling": None, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": TV, "use_cache": True,
        "vocab_size": V,
    }
    c.update(kw)
    return c


def llama_checks(cfg, fwd, windows=None):
    def meta(W, ids, mask, tt, out, hid):
        ref = meta_llama_logits(W, cfg, ids, mask, windows)
        m = mask.bool()
        d = max_diff(ref[m], out[m])
        # rope: HF cos/sin in float32 vs Meta-style float64 polar -> ~1e-7 level differences
        assert d < 1e-4, ("llama vs meta-style", d)
    return [meta, causal_check(fwd)]


def _llama_gqa_parts():
    rng = Rng(108)
    cfg = llama_config()
    W = make_llama_weights(rng, cfg)
    ids, mask = make_inputs(rng, 9, [9, 6, 8], 3, cfg["vocab_size"], 0, bos=1)
    return cfg, W, ids, mask


def model_llama_gqa(out):
    cfg, W, ids, mask = _llama_gqa_parts()

    def fwd(W, ids, mask, tt):
        x = llama_model(W, cfg, ids, mask)
        return llama_lm_head(W, cfg, x), x

    emit(out, "llama-gqa", cfg, W, identity, fwd, ids, mask, None, kind="logits [batch, seq, vocab]",
         checks=llama_checks(cfg, fwd))


def model_llama_sharded(out):
    cfg, W, ids, mask = _llama_gqa_parts()
    cfg = dict(cfg, torch_dtype="bfloat16")
    stored = collections.OrderedDict((k, v.to(torch.bfloat16)) for k, v in W.items())
    s1 = [k for k in stored if k.startswith("model.embed_tokens") or k.startswith("model.layers.0.")]
    s2 = [k for k in stored if k not in s1]

    def fwd(W, ids, mask, tt):
        x = llama_model(W, cfg, ids, mask)
        return llama_lm_head(W, cfg, x), x

    emit(out, "llama-sharded", cfg, stored, identity, fwd, ids, mask, None, kind="logits [batch, seq, vocab]",
         shards=[("model-00001-of-00002.safetensors", s1), ("model-00002-of-00002.safetensors", s2)],
         checks=llama_checks(cfg, fwd),
         golden_extra={"note": "same weights/inputs as llama-gqa, rounded to BF16; goldens from the BF16 values in float64"})


def model_llama_hetero(out):
    rng = Rng(109)
    cfg = llama_config(L=3, nh=4, nkv=2, ff=48, V=128, tie_word_embeddings=True)
    del cfg["rope_theta"], cfg["rope_scaling"], cfg["torch_dtype"], cfg["pretraining_tp"]
    cfg["rope_parameters"] = {"rope_theta": 500000.0, "rope_type": "default"}
    cfg["dtype"] = "float32"
    cfg["transformers_version"] = "5.17.0"
    cfg["per_layer_config"] = {"1": {"num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 24},
                               "2": {"skip": ["mlp"]}}
    W = make_llama_weights(rng, cfg)
    ids, mask = make_inputs(rng, 8, [8, 8, 5], 3, cfg["vocab_size"], 0, bos=1)

    def fwd(W, ids, mask, tt):
        x = llama_model(W, cfg, ids, mask)
        return llama_lm_head(W, cfg, x), x

    emit(out, "llama-hetero", cfg, W, identity, fwd, ids, mask, None, kind="logits [batch, seq, vocab]",
         checks=llama_checks(cfg, fwd),
         golden_extra={"layers": [{"heads": 4, "kv_heads": 2, "ffn": 48}, {"heads": 2, "kv_heads": 1, "ffn": 24},
                                  {"heads": 4, "kv_heads": 2, "ffn": None, "note": "no mlp, no post_attention_layernorm"}],
                       "head_dim": 8, "rope_theta": 500000.0})


def qwen2_config(arch="Qwen2ForCausalLM", H=32, L=2, nh=4, nkv=2, ff=64, V=150, **kw):
    c = {
        "architectures": [arch], "attention_dropout": 0.0, "bos_token_id": V - 2, "eos_token_id": V - 1,
        "hidden_act": "silu", "hidden_size": H, "initializer_range": 0.02, "intermediate_size": ff,
        "max_position_embeddings": 64, "max_window_layers": L, "model_type": "qwen2", "num_attention_heads": nh,
        "num_hidden_layers": L, "num_key_value_heads": nkv, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "sliding_window": 64, "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": TV,
        "use_cache": True, "use_sliding_window": False, "vocab_size": V,
    }
    c.update(kw)
    return c


def qwen2_windows(cfg):
    """Qwen2Config: sliding_window only with use_sliding_window; then on the layers layer_types marks
    "sliding_attention", by default those from max_window_layers up."""
    n = cfg["num_hidden_layers"]
    if not cfg.get("use_sliding_window", False) or cfg.get("sliding_window") is None:
        return [None] * n
    types = cfg.get("layer_types") or ["sliding_attention" if i >= cfg.get("max_window_layers", 28) else "full_attention"
                                       for i in range(n)]
    return [cfg["sliding_window"] if t == "sliding_attention" else None for t in types]


def window_matters(cfg, fwd_with_windows, wrong_windows):
    """The goldens must notice a wrong window rule: outputs with `wrong_windows` differ clearly."""
    def chk(W, ids, mask, tt, out, hid):
        o2, _ = fwd_with_windows(W, ids, mask, wrong_windows)
        d = max_diff(o2[mask.bool()], out[mask.bool()])
        assert d > 1e-2, ("window rule does not matter", d)
    return chk


def emit_rotary_lm(out, name, cfg, W, ids, mask, windows, wrong_windows, golden_extra):
    def fwd_w(W, ids, mask, wins):
        x = llama_model(W, cfg, ids, mask, wins)
        return llama_lm_head(W, cfg, x), x

    def fwd(W, ids, mask, tt):
        return fwd_w(W, ids, mask, windows)

    emit(out, name, cfg, W, identity, fwd, ids, mask, None, kind="logits [batch, seq, vocab]",
         checks=llama_checks(cfg, fwd, windows) + [window_matters(cfg, fwd_w, wrong_windows)],
         golden_extra=dict(golden_extra, windows=windows))


def model_qwen2_lm(out):
    # use_sliding_window false: the small sliding_window must be ignored
    rng = Rng(113)
    cfg = qwen2_config(L=2, tie_word_embeddings=True, sliding_window=3, max_window_layers=1)
    W = make_llama_weights(rng, cfg, qkv_bias=True)
    ids, mask = make_inputs(rng, 9, [9, 7, 8], 3, cfg["vocab_size"] - 2, 0, bos=cfg["bos_token_id"])
    windows = qwen2_windows(cfg)
    assert windows == [None, None]
    emit_rotary_lm(out, "qwen2-lm", cfg, W, ids, mask, windows, [None, 3],
                   {"note": "biases on q/k/v only; tied lm_head; use_sliding_window false, so sliding_window 3 is ignored"})


def model_qwen2_window(out):
    # use_sliding_window true: layers from max_window_layers (1) up attend within 3 keys
    rng = Rng(114)
    cfg = qwen2_config(L=3, nh=4, nkv=1, ff=48, V=140, use_sliding_window=True, sliding_window=3, max_window_layers=1)
    W = make_llama_weights(rng, cfg, qkv_bias=True)
    ids, mask = make_inputs(rng, 9, [9, 7, 8], 3, cfg["vocab_size"] - 2, 0, bos=cfg["bos_token_id"])
    windows = qwen2_windows(cfg)
    assert windows == [None, 3, 3]
    emit_rotary_lm(out, "qwen2-window", cfg, W, ids, mask, windows, [None, None, None],
                   {"note": "sliding window 3 on layers 1 and 2 (max_window_layers 1); multi-query attention; untied lm_head"})


def mistral_config(H=32, L=2, nh=4, nkv=2, ff=48, V=130, **kw):
    c = {
        "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "head_dim": H // nh, "hidden_act": "silu", "hidden_size": H, "initializer_range": 0.02, "intermediate_size": ff,
        "max_position_embeddings": 64, "model_type": "mistral", "num_attention_heads": nh, "num_hidden_layers": L,
        "num_key_value_heads": nkv, "rms_norm_eps": 1e-5, "rope_theta": 1000000.0, "sliding_window": 4,
        "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": TV, "use_cache": True,
        "vocab_size": V,
    }
    c.update(kw)
    return c


def model_mistral_lm(out):
    # every layer attends within 4 keys; sequences of 9 tokens
    rng = Rng(115)
    cfg = mistral_config()
    W = make_llama_weights(rng, cfg)
    ids, mask = make_inputs(rng, 9, [9, 6, 8], 3, cfg["vocab_size"], 0, bos=1)
    windows = [cfg["sliding_window"]] * cfg["num_hidden_layers"]
    emit_rotary_lm(out, "mistral-lm", cfg, W, ids, mask, windows, [None] * cfg["num_hidden_layers"],
                   {"note": "sliding window 4 on every layer, sequence length 9; rms_norm_eps 1e-5"})


MODELS = [model_bert_cls, model_bert_oldnames, model_bert_mlm, model_bert_token_cls, model_roberta_cls,
          model_gpt2_lm, model_gpt2_cls, model_llama_gqa, model_llama_hetero, model_bert_pruned,
          model_llama_sharded, model_gpt2_f16, model_qwen2_lm, model_qwen2_window, model_mistral_lm]


def self_test_primitives():
    x = torch.randn(5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2
    w, b = torch.rand(7, dtype=torch.float64) + 0.5, torch.randn(7, dtype=torch.float64)
    assert max_diff(layer_norm(x, w, b, 1e-5), F.layer_norm(x, (7,), w, b, 1e-5)) < 1e-12
    assert max_diff(gelu_erf(x), F.gelu(x)) < 1e-12
    assert max_diff(gelu_new(x), F.gelu(x, approximate="tanh")) < 1e-12
    assert max_diff(silu(x), F.silu(x)) < 1e-12
    # safetensors: 0-rank, bool, bf16, f16, i64 round trip
    import tempfile
    t = {"a": torch.tensor(-1e4), "b": torch.tensor([[True, False]]), "c": torch.randn(3).to(torch.bfloat16),
         "d": torch.randn(2, 2).to(torch.float16), "e": torch.arange(3), "z": torch.zeros(0, 4)}
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "t.safetensors")
        save_safetensors(p, t)
        r, meta = load_safetensors(p)
        assert meta == {"format": "pt"}
        for k in t:
            assert r[k].dtype == t[k].dtype and r[k].shape == t[k].shape and torch.equal(r[k], t[k]), k


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "models"))
    ap.add_argument("--only", nargs="*", help="model folder names to (re)generate")
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    self_test_primitives()
    for m in MODELS:
        nm = m.__name__
        if args.only and not any(nm == "model_" + o.replace("-", "_") or o in nm for o in args.only):
            continue
        m(out)

    print("\n%-20s %-36s %10s" % ("folder/file", "", "bytes"))
    grand = 0
    for d in sorted(os.listdir(out)):
        dd = os.path.join(out, d)
        if not os.path.isdir(dd):
            continue
        sub = 0
        for fn in sorted(os.listdir(dd)):
            sz = os.path.getsize(os.path.join(dd, fn))
            sub += sz
            print("  %-54s %10d" % (d + "/" + fn, sz))
        print("  %-54s %10d" % (d + "/ (total)", sub))
        grand += sub
    print("TOTAL %d bytes (%.1f KiB)" % (grand, grand / 1024.0))


if __name__ == "__main__":
    main()

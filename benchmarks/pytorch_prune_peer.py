#!/usr/bin/python3
"""PyTorch peer of bench_prune_step: a plain PyTorch 1.13 script doing one VTrans pruning step as
vtrans does it, on the same Hugging Face checkpoint (BERT with a sequence-classification head, or
a LLaMA causal LM), in fp32:

  teacher forward under no_grad; the student with VIB masks (z = mu + eps * exp(log_var / 2),
  fresh noise per token) on the hidden units (embeddings, every sub-layer output and the
  residual stream, as vtrans places them), the heads (per key/value group), the FFN neurons and
  whole sub-layers; loss = task cross-entropy + logit KD (tau 2) + the masks' KL terms; backward
  into the masks only (faster: the student shares the teacher's frozen weights) or into masks
  and weights (vtrans: the student owns a copy, AdamW with clipping); AdamW on the masks.

Prints one JSON line: median step time, peak RSS during the steps (VmHWM reset first) and
overall, minor page faults per step, and from one profiled step the share of op time in the
linear layers' GEMMs (aten::mm/addmm) and in attention's batched matmuls (aten::bmm).
Run by bench_prune_step as /usr/bin/python3 (Debian's python3-torch loads only there).
--device cuda runs the same step on the GPU (a CUDA PyTorch; scripts/gpu-check) and reports the
peak device memory PyTorch allocated instead of the op shares (--tf32: TF32 products)."""
import argparse
import json
import math
import mmap
import os
import resource
import statistics
import sys
import time

from pytorch_peer import blas_report, reset_peak, status_mib


def open_checkpoint(folder):
    """name -> fp32 tensor, from model.safetensors or the shards of model.safetensors.index.json."""
    import numpy as np
    import torch
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        files = [single]
    else:
        with open(os.path.join(folder, "model.safetensors.index.json")) as f:
            files = sorted({os.path.join(folder, v) for v in json.load(f)["weight_map"].values()})
    weights = {}
    for path in files:
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        n = int.from_bytes(mm[:8], "little")
        header = json.loads(mm[8:8 + n])
        header.pop("__metadata__", None)
        for name, e in header.items():
            begin, end = e["data_offsets"]
            count = math.prod(e["shape"])
            if e["dtype"] == "F32":
                t = torch.from_numpy(np.frombuffer(mm, np.float32, count, 8 + n + begin).copy())
            elif e["dtype"] == "BF16":
                t = torch.from_numpy(np.frombuffer(mm, np.int16, count, 8 + n + begin).copy()).view(torch.bfloat16).float()
            else:
                raise ValueError("%s: %s has dtype %s" % (path, name, e["dtype"]))
            weights[name] = t.view(*e["shape"])
        del mm
    return weights


class VIB:
    """One VIB mask unit of n values."""

    def __init__(self, n, gen, dev):
        import torch
        self.mu = (1.0 + 0.01 * torch.randn(n, generator=gen)).to(dev).requires_grad_(True)
        self.log_var = (-9.0 + 0.01 * torch.randn(n, generator=gen)).to(dev).requires_grad_(True)

    def sample(self, rows):
        import torch
        return self.mu + torch.randn(rows, self.mu.numel(), device=self.mu.device) * torch.exp(0.5 * self.log_var)

    def kl(self):
        import torch
        return 0.5 * (torch.log(torch.exp(self.log_var) + self.mu ** 2) - self.log_var).sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--variant", default="faster", choices=["faster", "vtrans"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu-clock", action="store_true", help="time steps with process CPU time instead of wall-clock")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tf32", action="store_true", help="--device cuda: TF32 products")
    a = ap.parse_args()
    clock = time.process_time if a.cpu_clock else time.perf_counter
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure means "no peer"
        print(json.dumps({"error": "cannot import torch in %s: %s" % (sys.executable, e)}))
        return 0

    if a.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "torch %s in %s has no usable CUDA device" % (torch.__version__, sys.executable)}))
        return 0
    dev = torch.device(a.device)
    gpu = a.device == "cuda"
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    torch.set_num_threads(a.threads)
    blas = blas_report(a.threads)
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    t0 = time.perf_counter()
    W = {k: v.to(dev) for k, v in open_checkpoint(a.model).items()}
    load_s = time.perf_counter() - t0
    rss_loaded, peak_load = status_mib("VmRSS:"), status_mib("VmHWM:")

    llama = cfg["model_type"] == "llama"
    pre = "model." if llama else "bert."
    B, S = a.batch, a.seq
    D, L, H = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    I, V = cfg["intermediate_size"], cfg["vocab_size"]
    hd = D // H
    rows = B * S
    trains_weights = a.variant == "vtrans"
    teacher = W
    if trains_weights:  # the student owns a trainable copy
        student_w = {k: v.clone().requires_grad_(True) for k, v in W.items()}
    else:               # Faster: the frozen weights are shared
        student_w = W

    gen = torch.Generator().manual_seed(1)
    masks = {"hidden": VIB(D, gen, dev), "attention": VIB(L, gen, dev), "mlp": VIB(L, gen, dev),
             "heads": [VIB(KV, gen, dev) for _ in range(L)], "intermediate": [VIB(I, gen, dev) for _ in range(L)]}
    mask_params = [masks["hidden"].mu, masks["hidden"].log_var, masks["attention"].mu, masks["attention"].log_var,
                   masks["mlp"].mu, masks["mlp"].log_var]
    for u in masks["heads"] + masks["intermediate"]:
        mask_params += [u.mu, u.log_var]

    ids = torch.tensor([[1 + (hash((b, s)) % (V - 1)) for s in range(S)] for b in range(B)], device=dev)
    labels = torch.tensor([b % 2 for b in range(B)], device=dev)
    p_drop = 0.0 if llama else cfg.get("hidden_dropout_prob", 0.1)
    group = H // KV

    def linear(x, w, name, bias=True):
        return F.linear(x, w[name + ".weight"], w.get(name + ".bias") if bias else None)

    def head_mask(u):  # [rows, KV] -> [B, S, H * hd]: query head h reads key/value group h // group
        return u.sample(rows).repeat_interleave(group * hd, dim=1).view(B, S, H * hd)

    def layer_mask(u, l):
        return u.sample(rows)[:, l:l + 1].view(B, S, 1)

    def attention(q, k, v, causal):
        q = q.view(B, S, H, hd).transpose(1, 2)
        k = k.view(B, S, KV, hd).transpose(1, 2)
        v = v.view(B, S, KV, hd).transpose(1, 2)
        if group > 1:
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        if causal:
            scores = scores + torch.full((S, S), float("-inf"), device=dev).triu(1)
        return torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(B, S, H * hd)

    if llama:
        inv_freq = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
        angles = torch.outer(torch.arange(S).float(), inv_freq)
        cos, sin = torch.cat([angles.cos()] * 2, -1).to(dev), torch.cat([angles.sin()] * 2, -1).to(dev)
        eps = cfg.get("rms_norm_eps", 1e-6)

    def rope(x, heads):
        x = x.view(B, S, heads, hd)
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        rot = torch.cat([-x2, x1], -1)
        return (x * cos[None, :, None, :] + rot * sin[None, :, None, :]).view(B, S, heads * hd)

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def forward(w, m, training):
        hm = (lambda x: x * m["hidden"].sample(rows).view(B, S, D)) if m else (lambda x: x)
        drop = (lambda x: F.dropout(x, p_drop, training)) if p_drop > 0 else (lambda x: x)
        if llama:
            h = hm(w["model.embed_tokens.weight"][ids])
            for l in range(L):
                p = "model.layers.%d." % l
                x = rms(h, w[p + "input_layernorm.weight"])
                q = rope(linear(x, w, p + "self_attn.q_proj", False), H)
                k = rope(linear(x, w, p + "self_attn.k_proj", False), KV)
                ctx = attention(q, k, linear(x, w, p + "self_attn.v_proj", False), True)
                if m:
                    ctx = ctx * head_mask(m["heads"][l])
                a_out = linear(ctx, w, p + "self_attn.o_proj", False)
                h = h + (hm(a_out) * layer_mask(m["attention"], l) if m else a_out)
                x = rms(h, w[p + "post_attention_layernorm.weight"])
                inner = F.silu(linear(x, w, p + "mlp.gate_proj", False)) * linear(x, w, p + "mlp.up_proj", False)
                if m:
                    inner = inner * m["intermediate"][l].sample(rows).view(B, S, I)
                f = linear(inner, w, p + "mlp.down_proj", False)
                h = h + (hm(f) * layer_mask(m["mlp"], l) if m else f)
            return F.linear(hm(rms(h, w["model.norm.weight"])), w["lm_head.weight"])
        e = w[pre + "embeddings.word_embeddings.weight"][ids] + w[pre + "embeddings.position_embeddings.weight"][:S][None]
        e = hm(e + w[pre + "embeddings.token_type_embeddings.weight"][0])
        ln = lambda x, name: F.layer_norm(x, (D,), w[name + ".weight"], w[name + ".bias"], cfg.get("layer_norm_eps", 1e-12))  # noqa: E731
        h = drop(hm(ln(e, pre + "embeddings.LayerNorm")))
        for l in range(L):
            p = pre + "encoder.layer.%d." % l
            ctx = attention(linear(h, w, p + "attention.self.query"), linear(h, w, p + "attention.self.key"),
                            linear(h, w, p + "attention.self.value"), False)
            if m:
                ctx = ctx * head_mask(m["heads"][l])
            a_out = linear(ctx, w, p + "attention.output.dense")
            if m:
                a_out = hm(a_out) * layer_mask(m["attention"], l)
            h = hm(ln(drop(a_out) + h, p + "attention.output.LayerNorm"))
            inner = F.gelu(linear(h, w, p + "intermediate.dense"))
            if m:
                inner = inner * m["intermediate"][l].sample(rows).view(B, S, I)
            f = linear(inner, w, p + "output.dense")
            if m:
                f = hm(f) * layer_mask(m["mlp"], l)
            h = hm(ln(drop(f) + h, p + "output.LayerNorm"))
        pooled = torch.tanh(linear(h[:, 0], w, pre + "pooler.dense"))
        return linear(drop(pooled), w, "classifier")

    tau = 2.0
    mask_opt = torch.optim.AdamW(mask_params, lr=0.1, weight_decay=0.0)
    weight_opt = torch.optim.AdamW(list(student_w.values()), lr=1e-4, weight_decay=0.01) if trains_weights else None

    def step():
        with torch.no_grad():
            t_logits = forward(teacher, None, False)
        s_logits = forward(student_w, masks, True)
        if llama:
            task = F.cross_entropy(s_logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        else:
            task = F.cross_entropy(s_logits, labels)
        C = s_logits.shape[-1]
        kd = F.kl_div(F.log_softmax(s_logits.reshape(-1, C) / tau, -1), F.log_softmax(t_logits.reshape(-1, C) / tau, -1),
                      reduction="batchmean", log_target=True) * tau * tau
        loss = task + kd
        for u in [masks["hidden"], masks["attention"], masks["mlp"]] + masks["heads"] + masks["intermediate"]:
            loss = loss + u.kl() * (0.01 / u.mu.numel())
        loss.backward()
        if weight_opt:
            torch.nn.utils.clip_grad_norm_(list(student_w.values()), 1.0)
            weight_opt.step()
            weight_opt.zero_grad(set_to_none=True)
        mask_opt.step()
        mask_opt.zero_grad(set_to_none=True)
        return float(loss)

    for _ in range(a.warmup):
        step()
    peak_before = status_mib("VmHWM:")
    reset = reset_peak()
    if gpu:
        sync()
        torch.cuda.reset_peak_memory_stats()
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for _ in range(a.steps):
        faults_before_last = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = clock()
        loss = step()
        sync()
        times.append(clock() - t0)
    faults_last = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before_last
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / a.steps
    peak_steps = status_mib("VmHWM:") if reset else -1.0
    peak_total = max(peak_before, status_mib("VmHWM:"))

    if gpu:
        print(json.dumps({
            "torch": torch.__version__, "device": torch.cuda.get_device_name(), "tf32": a.tf32, "load_s": load_s,
            "step_s": statistics.median(times), "step_min_s": min(times), "step_max_s": max(times),
            "device_peak_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
            "device_peak_reserved_mib": torch.cuda.max_memory_reserved() / 2**20, "loss": loss,
        }))
        return 0

    # one profiled step: which share of the op time goes to GEMMs
    from torch.autograd import profiler
    with profiler.profile(with_flops=True) as prof:
        step()
    averages = prof.key_averages()
    self_us = {e.key: e.self_cpu_time_total for e in averages}
    gemm_flop = sum(e.flops for e in averages if e.key in ("aten::mm", "aten::addmm", "aten::bmm"))
    total = sum(self_us.values()) or 1.0
    gemm = sum(self_us.get(k, 0.0) for k in ("aten::mm", "aten::addmm"))
    bmm = self_us.get("aten::bmm", 0.0)

    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
        "load_s": load_s, "rss_loaded_mib": rss_loaded, "peak_load_mib": peak_load,
        "step_s": statistics.median(times), "step_min_s": min(times), "step_max_s": max(times),
        "faults_per_step": faults, "faults_last_step": faults_last, "peak_steps_mib": peak_steps,
        "peak_total_mib": peak_total,
        "gemm_share": gemm / total, "bmm_share": bmm / total, "loss": loss,
        "gemm_s": (gemm + bmm) * 1e-6, "gemm_gflop": gemm_flop * 1e-9,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

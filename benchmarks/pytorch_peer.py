#!/usr/bin/python3
"""PyTorch peer of bench_encoder_layer: the same BERT-base post-norm encoder layer, fp32, same
shapes, padding mask, GELU(erf), dropout off, timed forward (no_grad) and forward+backward
(loss = sum of outputs). Prints one JSON line (and, with --profile, a per-op table first).

Run by bench_encoder_layer as /usr/bin/python3 (Debian's python3-torch loads only there); it
inherits OPENBLAS_CORETYPE and the other environment of the benchmark."""
import argparse
import json
import math
import os
import statistics
import sys
import time


def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return -1.0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def blas_report(threads):
    """Which BLAS library the process loaded, and OpenBLAS's kernel name when it is OpenBLAS.
    torch.set_num_threads does not reach a generic libblas, so OpenBLAS's own pool is set to the
    same thread count here."""
    import ctypes
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            name = os.path.basename(path)
            if name.startswith(("libblas", "libopenblas", "libmkl")):
                libs.add(path)
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = lib.openblas_get_corename().decode()
            lib.openblas_set_num_threads(ctypes.c_int(threads))
            n = lib.openblas_get_num_threads()
            return "%s (OpenBLAS %s kernels, %d threads)" % (os.path.realpath(path), core, n)
        except (OSError, AttributeError):
            continue
    return ", ".join(sorted(libs)) or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=3072)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--cpu-clock", action="store_true", help="time with process CPU time instead of wall-clock")
    a = ap.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure means "no peer"
        print(json.dumps({"error": "cannot import torch in %s: %s" % (sys.executable, e)}))
        return 0

    torch.set_num_threads(a.threads)
    blas = blas_report(a.threads)
    clock = time.process_time if a.cpu_clock else time.perf_counter
    rss_import = status_mib("VmRSS:")
    g = torch.Generator().manual_seed(0)
    H, FF, nh = a.hidden, a.ffn, a.heads
    hd = H // nh

    def p(*shape, offset=0.0):
        return (offset + 0.02 * torch.randn(*shape, generator=g)).requires_grad_(True)

    wq, bq, wk, bk, wv, bv, wo, bo = p(H, H), p(H), p(H, H), p(H), p(H, H), p(H), p(H, H), p(H)
    g1, be1 = p(H, offset=1.0), p(H)
    w1, b1, w2, b2 = p(FF, H), p(FF), p(H, FF), p(H)
    g2, be2 = p(H, offset=1.0), p(H)
    params = [wq, bq, wk, bk, wv, bv, wo, bo, g1, be1, w1, b1, w2, b2, g2, be2]
    x = torch.randn(a.batch, a.seq, H, generator=g).requires_grad_(True)
    keep = torch.zeros(a.batch, a.seq)
    for b in range(a.batch):
        keep[b, : max(1, a.seq - 8 * b)] = 1.0
    # HF BERT's extended attention mask: 0 where attended, the most negative float where padded
    add_mask = ((1.0 - keep) * torch.finfo(torch.float32).min)[:, None, None, :]
    scale = 1.0 / math.sqrt(hd)
    rss_inputs = status_mib("VmRSS:")

    def heads(t):  # [b, s, H] -> [b, nh, s, hd]
        return t.view(a.batch, a.seq, nh, hd).permute(0, 2, 1, 3)

    def layer(x):
        q, k, v = heads(F.linear(x, wq, bq)), heads(F.linear(x, wk, bk)), heads(F.linear(x, wv, bv))
        scores = torch.matmul(q, k.transpose(-1, -2)) * scale + add_mask
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(a.batch, a.seq, H)
        h1 = F.layer_norm(F.linear(ctx, wo, bo) + x, (H,), g1, be1, 1e-12)
        f = F.linear(F.gelu(F.linear(h1, w1, b1)), w2, b2)
        return F.layer_norm(f + h1, (H,), g2, be2, 1e-12)

    def fwd():
        with torch.no_grad():
            return layer(x)

    def fwdbwd():
        for t in params + [x]:
            t.grad = None
        layer(x).sum().backward()

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        reset_peak()
        ts = []
        for _ in range(a.reps):
            t0 = clock()
            fn()
            ts.append(clock() - t0)
        return ts, status_mib("VmHWM:")

    t_fwd, peak_fwd = timed(fwd)
    t_fb, peak_fb = timed(fwdbwd)

    if a.profile:
        from torch.autograd import profiler
        with profiler.profile() as prof:
            for _ in range(a.reps):
                fwdbwd()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas,
        "fwd_ms": 1e3 * statistics.median(t_fwd),
        "fwdbwd_ms": 1e3 * statistics.median(t_fb),
        "fwd_min_ms": 1e3 * min(t_fwd),
        "fwd_max_ms": 1e3 * max(t_fwd),
        "fwdbwd_min_ms": 1e3 * min(t_fb),
        "fwdbwd_max_ms": 1e3 * max(t_fb),
        "fwd_all_ms": [round(1e3 * t, 2) for t in t_fwd],
        "fwdbwd_all_ms": [round(1e3 * t, 2) for t in t_fb],
        "rss_import_mib": rss_import,
        "rss_inputs_mib": rss_inputs,
        "peak_fwd_mib": peak_fwd,
        "peak_fwdbwd_mib": peak_fb,
        "check_sum_dw1": float(w1.grad.sum()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

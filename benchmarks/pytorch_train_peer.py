#!/usr/bin/python3
"""PyTorch peer of bench_train: the same small BERT (sequence classification) or GPT-2 (causal
LM) as the vtrans teachers, fp32, trained on random tokens with AdamW + gradient clipping, one
optimizer step per batch; prints one JSON line with the median step time and tokens/s.

Written in plain torch (transformers is not installed next to Debian's torch 1.13): post-norm
BERT layers with embedding LayerNorm, tanh pooler and classifier; pre-norm GPT-2 layers with
ln_f and the LM head tied to the token embeddings; GELU (erf for BERT, tanh for GPT-2); dropout
as given. Run by bench_train as /usr/bin/python3 with the same thread count."""
import argparse
import json
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["bert", "gpt2"], default="bert")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--labels", type=int, default=15)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure means "no peer"
        print(json.dumps({"error": "cannot import torch in %s: %s" % (sys.executable, e)}))
        return 0
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    D, H, causal = a.hidden, a.heads, a.model == "gpt2"

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(D, 3 * D)
            self.o = nn.Linear(D, D)

        def forward(self, x):
            b, s, _ = x.shape
            q, k, v = self.qkv(x).split(D, dim=-1)
            sh = lambda t: t.view(b, s, H, D // H).transpose(1, 2)  # noqa: E731
            q, k, v = sh(q), sh(k), sh(v)
            att = (q @ k.transpose(-1, -2)) / (D // H) ** 0.5
            if causal:
                att = att.masked_fill(torch.triu(torch.ones(s, s, dtype=torch.bool), 1), float("-inf"))
            y = att.softmax(-1) @ v
            return self.o(y.transpose(1, 2).reshape(b, s, D))

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn, self.n1, self.n2 = Attention(), nn.LayerNorm(D), nn.LayerNorm(D)
            self.up, self.down = nn.Linear(D, a.ffn), nn.Linear(a.ffn, D)
            self.drop = nn.Dropout(a.dropout)
            self.act = (lambda t: F.gelu(t, approximate="tanh")) if causal else F.gelu

        def forward(self, x):
            if causal:
                x = x + self.drop(self.attn(self.n1(x)))
                return x + self.drop(self.down(self.act(self.up(self.n2(x)))))
            x = self.n1(x + self.drop(self.attn(x)))
            return self.n2(x + self.drop(self.down(self.act(self.up(x)))))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(a.vocab, D), nn.Embedding(a.seq, D)
            self.layers = nn.ModuleList([Layer() for _ in range(a.layers)])
            self.norm = nn.LayerNorm(D)
            self.drop = nn.Dropout(a.dropout)
            if not causal:
                self.typ = nn.Embedding(2, D)
                self.pool, self.cls = nn.Linear(D, D), nn.Linear(D, a.labels)

        def forward(self, ids):
            pos = torch.arange(ids.shape[1]).unsqueeze(0)
            h = self.tok(ids) + self.pos(pos)
            if not causal:
                h = self.norm(h + self.typ(torch.zeros_like(ids)))
            h = self.drop(h)
            for l in self.layers:
                h = l(h)
            if causal:
                return self.norm(h) @ self.tok.weight.t()
            return self.cls(self.drop(torch.tanh(self.pool(h[:, 0]))))

    model = Model()
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)

    def step():
        ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)
        logits = model(ids)
        if causal:
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        else:
            loss = F.cross_entropy(logits, torch.randint(0, a.labels, (a.batch,), generator=g))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "step_s": med,
                      "tokens_per_s": a.batch * a.seq / med,
                      "parameters": sum(p.numel() for p in model.parameters())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Train premix's stage-2 predictor and export it to ONNX (issue 11, part 3).

    premix predictor data --songs 80 --settings 24 --seed 1000 -o train.jsonl
    python scripts/dev/train_predictor.py train.jsonl models/stage2-predictor

The data are premix's own: generated songs, their stage-1 stems, and mixes of
those stems made with random console settings (Diff-MST's self-supervision,
ALGORITHMS.md section 2.4). Each line holds the model's input tokens (one for
the mix, then one per stem; the layout is `src/ml/predictor.rs`'s `tokens`)
and the target: the settings as corrections to the class priors' starting
point of the fit (one row for the master, then one per stem). A model that
knows nothing predicts zeros, i.e. the priors' start.

The network is a small set encoder (a per-token MLP, two self-attention
blocks, per-token heads): any number of stems, and the stems' order does not
matter. It trains on two CPU cores in a few minutes. Feature and target
normalisation are constants inside the exported graph, so premix feeds raw
features and reads real units. The script writes `predictor.onnx` and
`MODEL.md` (sha256, contract, data, training figures) into the output folder.

Requirements: scripts/dev/requirements-train.txt (torch, onnx, onnxruntime).
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import random
import sys
from collections import defaultdict

import numpy as np
import torch
from torch import nn

TOKEN = 126  # src/ml/predictor.rs TOKEN
OUT = 10  # src/ml/predictor.rs OUT
STEM_NAMES = ["level", "pan", "eq1", "eq2", "eq3", "eq4", "eq5", "eq6", "threshold", "u"]
FITTED = 1_000_000  # src/cli/predictor.rs FITTED_SONGS
MASTER_NAMES = ["eq1", "eq2", "eq3", "eq4", "eq5", "eq6", "threshold", "u", "ln_attack", "ln_release"]


def load(path):
    """Examples grouped by song: {song: [(tokens [n+1, TOKEN], target [n+1, OUT])]}."""
    songs = defaultdict(list)
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            n = e["stems"] + 1
            t = np.asarray(e["tokens"], dtype=np.float32).reshape(n, TOKEN)
            y = np.asarray(e["target"], dtype=np.float32).reshape(n, OUT)
            songs[e["song"]].append((t, y))
    return songs


class Block(nn.Module):
    """Pre-norm self-attention and feed-forward, written with plain ops so
    the ONNX export is a handful of MatMuls (no fused attention kernel)."""

    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.n1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.n2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.n1(x)).chunk(3, dim=-1)
        dh = d // self.h

        def split(t):
            return t.reshape(b, n, self.h, dh).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
        o = (a @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(o)
        return x + self.ff(self.n2(x))


class Predictor(nn.Module):
    def __init__(self, mu, sd, omu, osd, d=64, heads=4, layers=2):
        super().__init__()
        self.register_buffer("mu", torch.tensor(mu))
        self.register_buffer("sd", torch.tensor(sd))
        self.register_buffer("omu", torch.tensor(omu))
        self.register_buffer("osd", torch.tensor(osd))
        self.embed = nn.Sequential(nn.Linear(TOKEN, d), nn.GELU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(d)
        self.master = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, OUT))
        self.stem = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, OUT))

    def normalised(self, tokens):
        """Outputs in normalised units (what the loss compares)."""
        h = self.embed((tokens - self.mu) / self.sd)
        for blk in self.blocks:
            h = blk(h)
        h = self.norm(h)
        ref = h[:, :1, :]
        stems = h[:, 1:, :]
        ctx = h.mean(dim=1, keepdim=True)
        m = self.master(torch.cat([ref, ctx], dim=-1))
        s = self.stem(torch.cat([stems, ref.expand_as(stems)], dim=-1))
        return torch.cat([m, s], dim=1)

    def forward(self, tokens):
        # Row 0 is the master's, rows 1.. the stems': each kind has its own
        # output scale.
        y = self.normalised(tokens)
        master = y[:, :1, :] * self.osd[0] + self.omu[0]
        stems = y[:, 1:, :] * self.osd[1] + self.omu[1]
        return torch.cat([master, stems], dim=1)


def stats(examples):
    toks = np.concatenate([t for t, _ in examples])
    mu = toks.mean(0)
    sd = toks.std(0)
    sd[sd < 1e-3] = 1.0  # constant features (one-hot columns never set)
    ys = [y for _, y in examples]
    master = np.stack([y[0] for y in ys])
    stems = np.concatenate([y[1:] for y in ys])
    omu = np.stack([master.mean(0), stems.mean(0)])
    osd = np.stack([master.std(0), stems.std(0)])
    osd[osd < 1e-3] = 1.0
    return mu, sd, omu, osd


def expand(o, n):
    """Per-row output statistics for a set of n stems: master row, then stems."""
    return np.concatenate([o[:1], np.repeat(o[1:2], n, axis=0)])


def batches(songs, ids, rng):
    """One batch per song (its examples share the stem count), shuffled."""
    order = list(ids)
    rng.shuffle(order)
    for s in order:
        ex = songs[s]
        t = torch.tensor(np.stack([e[0] for e in ex]))
        y = torch.tensor(np.stack([e[1] for e in ex]))
        yield t, y


def loss_of(model, t, y, omu, osd):
    n = t.shape[1] - 1
    mu = torch.tensor(expand(omu, n))
    sd = torch.tensor(expand(osd, n))
    pred = model.normalised(t)
    return ((pred - (y - mu) / sd) ** 2).mean()


def r2_table(model, songs, ids):
    """Per parameter: R² of the prediction on the given songs."""
    with torch.no_grad():
        pm, ym, ps, ys = [], [], [], []
        for s in ids:
            for t, y in songs[s]:
                p = model(torch.tensor(t)[None])[0].numpy()
                pm.append(p[0])
                ym.append(y[0])
                ps.append(p[1:])
                ys.append(y[1:])
    pm, ym = np.stack(pm), np.stack(ym)
    ps, ys = np.concatenate(ps), np.concatenate(ys)

    def r2(p, y):
        # A setting that (almost) never varies has no R² worth printing
        # (the fit leaves the master's attack where it starts, for one).
        v = y.var(0)
        return np.where(v > 1e-6, 1.0 - ((p - y) ** 2).mean(0) / np.maximum(v, 1e-12), np.nan)

    return r2(ps, ys), r2(pm, ym)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+", help="JSON-lines files from `premix predictor data`")
    ap.add_argument("out_dir")
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-songs", type=float, default=0.15)
    ap.add_argument("--fitted-weight", type=int, default=4,
                    help="how many times per epoch each fitted song is seen (they are fewer)")
    ap.add_argument("--fixture", help="write torch's output on a few validation examples here (JSON)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(2)
    songs = {}
    for path in args.data:
        songs.update(load(path))
    ids = sorted(songs)
    # Fitted examples (`premix predictor data --fitted`) have song ids from
    # FITTED; a song's two kinds go to the same side of the split.
    bases = sorted({i % FITTED for i in ids})
    nval = max(1, int(round(len(bases) * args.val_songs)))
    val_bases = set(bases[-nval:])
    val = [i for i in ids if i % FITTED in val_bases]
    train = [i for i in ids if i % FITTED not in val_bases]
    val_fitted = [i for i in val if i >= FITTED]
    mu, sd, omu, osd = stats([e for s in train for e in songs[s]])
    model = Predictor(mu, sd, omu, osd)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    rng = random.Random(args.seed)
    started = datetime.datetime.now()
    best = (float("inf"), None, -1)
    for epoch in range(args.epochs):
        model.train()
        tl = []
        seen = train + [i for i in train if i >= FITTED] * (args.fitted_weight - 1)
        for t, y in batches(songs, seen, rng):
            opt.zero_grad()
            l = loss_of(model, t, y, omu, osd)
            l.backward()
            opt.step()
            tl.append(l.item())
        sched.step()
        model.eval()
        with torch.no_grad():
            vl = float(np.mean([loss_of(model, t, y, omu, osd).item() for t, y in batches(songs, val, rng)]))
            vf = (float(np.mean([loss_of(model, t, y, omu, osd).item()
                                 for t, y in batches(songs, val_fitted, rng)]))
                  if val_fitted else vl)
        # Early stopping: keep the epoch with the best validation loss on the
        # fitted examples (references from other mixes: the real use) when
        # there are any.
        if vf < best[0]:
            best = (vf, {k: v.clone() for k, v in model.state_dict().items()}, epoch)
        if epoch % 10 == 0 or epoch == args.epochs - 1:
            print(f"epoch {epoch:4d}  train {np.mean(tl):.4f}  val {vl:.4f}  val fitted {vf:.4f}", flush=True)
    seconds = (datetime.datetime.now() - started).total_seconds()
    model.load_state_dict(best[1])
    model.eval()
    r2_stem, r2_master = r2_table(model, songs, val)
    if val_fitted:
        r2f_stem, r2f_master = r2_table(model, songs, val_fitted)
    with torch.no_grad():
        vl = float(np.mean([loss_of(model, t, y, omu, osd).item() for t, y in batches(songs, val, rng)]))
        vf = (float(np.mean([loss_of(model, t, y, omu, osd).item() for t, y in batches(songs, val_fitted, rng)]))
              if val_fitted else float("nan"))

    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "predictor.onnx")
    dummy = torch.tensor(songs[val[0]][0][0])[None]
    torch.onnx.export(
        model,
        (dummy,),
        onnx_path,
        input_names=["tokens"],
        output_names=["params"],
        dynamic_axes={"tokens": {1: "n"}, "params": {1: "n"}},
        opset_version=17,
        dynamo=False,
    )
    # onnxruntime must agree with torch on every validation example.
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for s in val:
            for t, _ in songs[s]:
                a = model(torch.tensor(t)[None]).numpy()
                b = sess.run(["params"], {"tokens": t[None]})[0]
                worst = max(worst, float(np.abs(a - b).max()))
    if args.fixture:
        cases = []
        with torch.no_grad():
            for s in val[:3]:
                t = songs[s][0][0]
                y = model(torch.tensor(t)[None])[0].numpy()
                cases.append({
                    "rows": int(t.shape[0]),
                    "tokens": [float(x) for x in t.reshape(-1)],
                    "params": [float(x) for x in y.reshape(-1)],
                })
        with open(args.fixture, "w") as f:
            json.dump({
                "source": "scripts/dev/train_predictor.py: the torch model's output before ONNX export",
                "cases": cases,
            }, f)
    data = open(onnx_path, "rb").read()
    sha = hashlib.sha256(data).hexdigest()
    nex = sum(len(songs[s]) for s in ids)
    stems_seen = sorted({songs[s][0][0].shape[0] - 1 for s in ids})
    fmt = lambda v: " | ".join("—" if math.isnan(x) else f"{x:.2f}" for x in v)  # noqa: E731
    md = f"""# Stage-2 predictor (ONNX)

premix's `--init model` (issue 11, part 3): a set encoder that maps per-stem
feature summaries and the reference's features to a starting point of the
stage-2 fit. Trained and exported by `scripts/dev/train_predictor.py`
(pinned: `scripts/dev/requirements-train.txt`) on data written by
`premix predictor data`; evaluated by `premix predictor eval` (BENCHMARKS.md).

- file: `predictor.onnx`, {len(data)} bytes
- sha256: `{sha}`
- licence: the project's (MIT OR Apache-2.0); trained only on premix's own
  generated material, no third-party data or weights
- exported with torch {torch.__version__}, `torch.onnx.export` (TorchScript
  exporter), opset 17; onnxruntime {ort.__version__} agrees with torch within
  {worst:.1e} (max abs) on every validation example

## Contract

- input `tokens`: float32 `[1, N, {TOKEN}]`, N = 1 + number of stems (dynamic):
  row 0 the reference, then one row per stem, in the layout of
  `src/ml/predictor.rs::tokens`: kind, loudness re −18 LUFS, the signal's
  summary (RMS dB ×2, crest dB ×2, width, imbalance, 24 ln Bark magnitudes of
  mid and of side), 16-class one-hot, and the summary minus that of the mix at
  the priors' starting point. Raw values: the normalisation is inside the graph.
- output `params`: float32 `[1, N, {OUT}]`: corrections to the priors' starting
  point in the fit's natural units (`mix::fit::StartPoint`): row 0 the master
  ({", ".join(MASTER_NAMES)}), rows 1.. each stem ({", ".join(STEM_NAMES)});
  premix adds them to the priors' start and clamps into the fit's bounds.

## Training

- data: {", ".join(f"`{os.path.basename(d)}`" for d in args.data)}: {nex} examples of {len(bases)} generated songs
  ({min(stems_seen)}–{max(stems_seen)} stems), {sum(len(songs[i]) for i in ids if i >= FITTED)} of them fitted
  (references from other mixes, target = the prior-initialised fit's result); validation: the last
  {nval} songs (held out whole, both kinds), training: the other {len(bases) - nval}
- network: per-token MLP {TOKEN}→64→64, 2 pre-norm self-attention blocks (4 heads,
  feed-forward 128), per-token heads on [token, reference] (stems) and
  [reference, mean] (master); {sum(p.numel() for p in model.parameters())} parameters
- loss: mean squared error of the settings, each standardised by its training
  spread; AdamW (lr 2e-3, cosine to 0, weight decay 1e-4), {args.epochs} epochs,
  one batch per song and kind (fitted songs seen {args.fitted_weight}× per epoch), seed {args.seed}; {seconds:.0f} s on {torch.get_num_threads()} CPU threads
- validation loss {vl:.3f}, on the fitted examples {vf:.3f}, at the epoch kept ({best[2]}: the best
  on the fitted examples, or on all when there are none; 1.0 = predicting the mean)
- validation R² per stem setting ({", ".join(STEM_NAMES)}): {fmt(r2_stem)}
- validation R² per master setting ({", ".join(MASTER_NAMES)}): {fmt(r2_master)}
"""
    if val_fitted:
        md += f"""- on the fitted validation examples only, R² per stem setting: {fmt(r2f_stem)}
- on the fitted validation examples only, R² per master setting: {fmt(r2f_master)}
"""
    with open(os.path.join(args.out_dir, "MODEL.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

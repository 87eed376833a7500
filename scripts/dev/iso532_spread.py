#!/usr/bin/env python3
"""Perceived loudness spread inside each group after stage-1 balancing,
measured with an independent ISO 532-1 (Zwicker) implementation: MoSQITo.

A report, not a test: nothing in the test suite runs it. It answers "after
premix balances a group by `lufs`, `f0band` or `centroid`, how far apart are
its tracks in ISO 532-1 loudness level?" (BENCHMARKS.md, "Stage 1: perceived
loudness spread").

Install (own virtual environment; MoSQITo imports matplotlib at import time):

    python3 -m venv /tmp/iso-venv
    /tmp/iso-venv/bin/pip install mosqito==1.2.1 rpp==0.5 numpy soundfile scipy matplotlib

Run (premix's release binary makes the plans itself with --premix):

    premix generate --out /tmp/iso-demo --tracks 24 --seconds 30
    /tmp/iso-venv/bin/python scripts/dev/iso532_spread.py /tmp/iso-demo/premix-demo.RPP \\
        --premix target/release/premix --json-out /tmp/iso532.json

or with plans saved beforehand
(`premix mix S.RPP --dry-run --json --loudness M > plan-M.json`):

    iso532_spread.py S.RPP --plan lufs=plan-lufs.json --plan f0band=plan-f0band.json ...

What is measured, exactly
-------------------------
* Each track's audio is read from the RPP with the `rpp` package: the TRACK's
  single ITEM (POSITION 0, SOFFS 0, PLAYRATE 1, as `premix generate` writes
  them), its SOURCE FILE (relative to the RPP), times the item's VOLPAN
  volume, cut to the item LENGTH. Other layouts are refused, not guessed.
  The plan's track `index` is the 0-based position among all TRACKs (folders
  included); names are cross-checked.
* Fader gain: the plan's final fader, 10^((old_gain_db + change_db)/20).
  "before" is the fader as the session has it (old_gain_db; 0 dB for the
  generated session). Track pan is ignored (premix balances pre-pan).
* Calibration: digital full scale sine = 100 dB SPL, i.e. a sample value x is
  x * sqrt(2) * 20e-6 * 10^(100/20) Pa (a full-scale sine has RMS 1/sqrt(2),
  which maps to 20e-6 * 10^5 Pa RMS = 100 dB SPL). Zwicker loudness is level
  dependent, so the phon spreads depend somewhat on this choice.
* Mono/stereo: MoSQITo's Zwicker model is single-channel. A mono file is
  measured as it is. A stereo file is measured on its mid signal (L+R)/2
  (`--stereo mid`, the default). Because the mid loses level when L and R are
  decorrelated (up to 3 dB, about 0.2 to 1.1 dB on the demo's stereo tracks),
  `--stereo power` instead averages the third-octave band *powers* of L and R
  (a power-preserving mono equivalent, like BS.1770's channel power sum); both
  are computed and reported.
* Loudness: MoSQITo's time-varying Zwicker (ISO 532-1:2017 method for
  time-varying sounds, free field), N5 = the loudness exceeded 5 % of the time
  (the 95th percentile of N(t), 2 ms steps), converted to loudness level with
  MoSQITo's `sone_to_phon` (40 + 10 log2 N for N >= 1 sone). The mean
  loudness's level is kept in the JSON too.
* Speed: `loudness_zwtv` takes ~45 s for 30 s of audio here, almost all in its
  nonlinear temporal decay (a Python loop over 1.44 M sub-steps, vectorised
  only over the 21 core-loudness bands). Since a fader gain g only scales the
  third-octave band powers by g^2, the script runs MoSQITo's own pipeline
  step by step: `_third_octave_levels` once per signal (levels converted back
  to band powers), then per gain `_main_loudness`, and `_nl_loudness` on many
  gains' core loudness stacked as extra rows (every row is independent in that
  function), then `_calc_slopes` and `_temporal_weighting` per gain and the
  same 2 ms decimation as `loudness_zwtv`. `--self-check` compares this with
  `loudness_zwtv` itself on a short excerpt. All functions are MoSQITo 1.2.1's.
* Offsets: stage 1 aims lead tracks +3 dB and background tracks -6 dB from the
  group (premix's defaults; the script takes each track's offset from the
  plan as track target minus group target). Phon differences are not dB
  differences, so the offsets are removed on the gain side: "role removed"
  measures each track at final gain minus its offset (the level it would play
  at with no role offset), "intent" additionally undoes true-peak caps and
  clamps (gain = old + target - played - offset: what the measure asked for).
* Spread: per group, over the members stage 1 did not leave untouched, for
  groups with at least 2 of them: max - min and population SD (ddof=0) of the
  loudness levels, phon. The overall figure is the unweighted mean over
  those groups.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import rpp
import soundfile as sf

from mosqito.sq_metrics import loudness_zwtv, sone_to_phon
from mosqito.sq_metrics.loudness.loudness_zwst._calc_slopes import _calc_slopes
from mosqito.sq_metrics.loudness.loudness_zwst._main_loudness import _main_loudness
from mosqito.sq_metrics.loudness.loudness_zwtv._nonlinear_decay import _nl_loudness
from mosqito.sq_metrics.loudness.loudness_zwtv._temporal_weighting import (
    _temporal_weighting,
)
from mosqito.sq_metrics.loudness.loudness_zwtv._third_octave_levels import (
    _third_octave_levels,
)

FS = 48000  # MoSQITo's Zwicker needs 48 kHz
PA_PER_UNIT = math.sqrt(2) * 20e-6 * 10 ** (100 / 20)  # full-scale sine = 100 dB SPL
# _third_octave_levels: L = 10 log10((P + TINY) / I_REF)
TINY = 1e-12
I_REF = 4e-10
FIELD = "free"
N_CORE_BANDS = 21
BYTES_PER_ROW_SAMPLE = 3 * 8 * 24  # uo, u2, ui arrays, float64, 24 sub-steps


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# session and plans


def read_session(rpp_path):
    """[(name, audio_path or None, item_volume, item_length_s)] per TRACK."""
    with open(rpp_path, encoding="utf-8") as f:
        root = rpp.loads(f.read())
    base = os.path.dirname(os.path.abspath(rpp_path))
    out = []
    for t in root.findall("TRACK"):
        name = t.find("NAME")
        name = name[1] if name is not None and len(name) > 1 else ""
        items = t.findall("ITEM")
        if not items:
            out.append((name, None, None, None))
            continue
        if len(items) != 1:
            raise SystemExit(f"track {name!r}: {len(items)} items; only 1 is supported")
        it = items[0]

        def num(tag, default):
            e = it.find(tag)
            return float(e[1]) if e is not None else default

        if num("POSITION", 0.0) != 0.0 or num("SOFFS", 0.0) != 0.0 or num("PLAYRATE", 1.0) != 1.0:
            raise SystemExit(f"track {name!r}: item not at 0 / offset / rate != 1: unsupported")
        src = it.find("SOURCE")
        fe = src.find("FILE") if src is not None else None
        if fe is None:
            raise SystemExit(f"track {name!r}: item without a SOURCE FILE")
        path = fe[1] if os.path.isabs(fe[1]) else os.path.join(base, fe[1])
        out.append((name, path, num("VOLPAN", 1.0), num("LENGTH", float("inf"))))
    return out


def load_plans(args):
    plans = {}
    for spec in args.plan or []:
        m, _, p = spec.partition("=")
        with open(p, encoding="utf-8") as f:
            plans[m] = json.load(f)
    if args.premix:
        for m in args.measures:
            if m in plans:
                continue
            cmd = [args.premix, "mix", args.rpp, "--dry-run", "--json", "--loudness", m]
            log("running", " ".join(cmd))
            r = subprocess.run(cmd, capture_output=True, text=True, check=True)
            plans[m] = json.loads(r.stdout)
    if not plans:
        raise SystemExit("no plan: give --premix BIN or --plan MEASURE=FILE")
    return plans


# --------------------------------------------------------------------------
# MoSQITo, step by step


def band_powers(x_pa):
    """Third-octave band mean squares (Pa^2) vs time, from MoSQITo's
    _third_octave_levels (its levels turned back into powers)."""
    levels, _, _ = _third_octave_levels(x_pa, FS)
    return np.maximum(10 ** (levels / 10) * I_REF - TINY, 0.0)


def levels_at(powers, gain):
    return 10 * np.log10((gain * gain * powers + TINY) / I_REF)


def loudness_from_core(nl_core):
    """The rest of loudness_zwtv after the nonlinear decay: N(t), 2 ms steps."""
    loud, _spec = _calc_slopes(nl_core)
    return _temporal_weighting(loud)[::4]


def zwtv_many(powers_list, gains, batch_rows):
    """N(t) for each (powers, gain) pair, as loudness_zwtv(gain * x)."""
    per = max(1, batch_rows // N_CORE_BANDS)
    out = []
    for i in range(0, len(gains), per):
        chunk = [_main_loudness(levels_at(p, g), FIELD)
                 for p, g in zip(powers_list[i : i + per], gains[i : i + per])]
        t0 = time.time()
        nl = _nl_loudness(np.vstack(chunk))
        log(f"  nonlinear decay: {len(chunk)} gains in {time.time() - t0:.0f} s "
            f"({i + len(chunk)}/{len(gains)})")
        for k in range(len(chunk)):
            out.append(loudness_from_core(nl[k * N_CORE_BANDS : (k + 1) * N_CORE_BANDS]))
    return out


def summarise(n_t):
    n5 = float(np.percentile(n_t, 95))
    nmean = float(np.mean(n_t))
    return {"N5_sone": n5, "LN5_phon": sone_to_phon(n5),
            "Nmean_sone": nmean, "LNmean_phon": sone_to_phon(nmean)}


def self_check(x_pa, gain_db=6.0, seconds=2.0):
    x = x_pa[: int(seconds * FS)]
    g = 10 ** (gain_db / 20)
    ref, _, _, _ = loudness_zwtv(g * x, FS, field_type=FIELD)
    ours = zwtv_many([band_powers(x)], [g], 10 * N_CORE_BANDS)[0]
    d = float(np.max(np.abs(ref - ours)))
    log(f"self-check: max |loudness_zwtv - stepwise| = {d:.3g} sone over {len(ref)} frames")
    return d


# --------------------------------------------------------------------------


def read_audio(path, vol, length_s):
    x, fs = sf.read(path, dtype="float64", always_2d=True)
    if math.isfinite(length_s):
        x = x[: int(round(length_s * fs))]
    x = x * vol
    if fs != FS:
        from scipy.signal import resample_poly

        g = math.gcd(FS, fs)
        x = resample_poly(x, FS // g, fs // g, axis=0)
    return x


def signal_powers(x):
    """{'mid': powers, 'power': powers} (identical objects for mono)."""
    if x.shape[1] == 1:
        p = band_powers(x[:, 0] * PA_PER_UNIT)
        return {"mid": p, "power": p}
    mid = band_powers(x.mean(axis=1) * PA_PER_UNIT)
    chans = [band_powers(x[:, c] * PA_PER_UNIT) for c in range(x.shape[1])]
    return {"mid": mid, "power": sum(chans) / len(chans)}


def stats(values):
    v = np.array(values)
    return {"spread": float(v.max() - v.min()), "sd": float(v.std())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rpp")
    ap.add_argument("--premix", help="premix binary: make the plans with it")
    ap.add_argument("--plan", action="append", help="MEASURE=plan.json (repeatable)")
    ap.add_argument("--measures", nargs="+", default=["lufs", "f0band", "centroid"])
    ap.add_argument("--stereo", nargs="+", default=["mid", "power"], choices=["mid", "power"])
    ap.add_argument("--batch-rows", type=int, default=126,
                    help="rows per nonlinear-decay call (memory ~ rows x 35 MB per 30 s)")
    ap.add_argument("--self-check", action="store_true")
    ap.add_argument("--json-out")
    args = ap.parse_args()

    session = read_session(args.rpp)
    plans = load_plans(args)
    measures = [m for m in args.measures if m in plans]
    ref_plan = plans[measures[0]]

    # Groups and members (not untouched in any measure), from the plans.
    groups = []
    for g in ref_plan["groups"]:
        members = []
        for idx in g["tracks"]:
            rows = {m: next(t for t in plans[m]["tracks"] if t["index"] == idx) for m in measures}
            if any(r["outcome"] == "untouched" or r["played"] is None for r in rows.values()):
                continue
            name, path, vol, length = session[idx]
            if name != rows[measures[0]]["name"] or path is None:
                raise SystemExit(f"plan track {idx} {rows[measures[0]]['name']!r} != RPP {name!r}")
            members.append((idx, rows))
        if len(members) >= 2:
            groups.append((g, members))

    # The gains to measure, per track (deduplicated).
    work = {}  # idx -> {variant_key: gain_db}
    for g, members in groups:
        gplans = {m: next(x for x in plans[m]["groups"] if x["name"] == g["name"]) for m in measures}
        for idx, rows in members:
            v = {"before": rows[measures[0]]["old_gain_db"]}
            for m in measures:
                r = rows[m]
                offset = r["target"] - gplans[m]["target"]
                final = r["old_gain_db"] + r["change_db"]
                v[f"{m}/raw"] = final
                v[f"{m}/role_removed"] = final - offset
                v[f"{m}/intent"] = r["old_gain_db"] + (r["target"] - r["played"]) - offset
            work[idx] = v

    results = {}  # idx -> {stereo_mode: {variant: summary}}
    meta = {}
    t_start = time.time()
    jobs = []  # (idx, mode, gain_db, powers)
    checked = False
    for idx, variants in work.items():
        name, path, vol, length = session[idx]
        x = read_audio(path, vol, length)
        if args.self_check and not checked:
            meta["self_check_max_abs_sone"] = self_check(x.mean(axis=1) * PA_PER_UNIT)
            checked = True
        pw = signal_powers(x)
        meta[idx] = {"name": name, "channels": int(x.shape[1]), "file": os.path.basename(path)}
        modes = ["mid"] if x.shape[1] == 1 else args.stereo
        for mode in modes:
            for gdb in sorted({round(g, 9) for g in variants.values()}):
                jobs.append((idx, mode, gdb, pw[mode]))
    log(f"{len(jobs)} loudness computations for {len(work)} tracks")
    ns = zwtv_many([j[3] for j in jobs], [10 ** (j[2] / 20) for j in jobs], args.batch_rows)
    by_gain = {(j[0], j[1], j[2]): summarise(n) for j, n in zip(jobs, ns)}
    for idx, variants in work.items():
        results[idx] = {}
        for mode in args.stereo:
            m_eff = mode if meta[idx]["channels"] > 1 else "mid"
            results[idx][mode] = {
                k: dict(by_gain[(idx, m_eff, round(g, 9))], gain_db=g) for k, g in variants.items()
            }
    elapsed = time.time() - t_start

    # Per-group statistics.
    kinds = ["raw", "role_removed", "intent"]
    table = {}
    for mode in args.stereo:
        for key in ("LN5_phon", "LNmean_phon"):
            rows = []
            for g, members in groups:
                row = {"group": g["name"], "n": len(members),
                       "tracks": [results[i][mode]["before"] | {"name": meta[i]["name"]} for i, _ in members]}
                row["before"] = stats([results[i][mode]["before"][key] for i, _ in members])
                for m in measures:
                    for k in kinds:
                        row[f"{m}/{k}"] = stats([results[i][mode][f"{m}/{k}"][key] for i, _ in members])
                rows.append(row)
            cols = ["before"] + [f"{m}/{k}" for m in measures for k in kinds]
            mean = {c: {s: float(np.mean([r[c][s] for r in rows])) for s in ("spread", "sd")} for c in cols}
            table[f"{mode}/{key}"] = {"groups": rows, "mean": mean}

    # Markdown, primary view: mid, N5.
    def md(mode, key):
        t = table[f"{mode}/{key}"]
        head = "| group (n) | before | " + " | ".join(f"{m} raw" for m in measures) + " | " + \
            " | ".join(f"{m} role removed" for m in measures) + " |"
        lines = [head, "|" + "---|" * (2 + 2 * len(measures))]

        def cell(s):
            return f"{s['spread']:.2f} / {s['sd']:.2f}"

        for r in t["groups"] + [{"group": "mean", "n": None, **t["mean"]}]:
            label = f"{r['group']} ({r['n']})" if r["n"] else f"**{r['group']}**"
            cells = [cell(r["before"])] + [cell(r[f"{m}/raw"]) for m in measures] + \
                [cell(r[f"{m}/role_removed"]) for m in measures]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    for mode in args.stereo:
        for key in ("LN5_phon", "LNmean_phon"):
            print(f"\n### stereo={mode}, {key}: spread (max-min) / SD, phon\n")
            print(md(mode, key))
            t = table[f"{mode}/{key}"]["mean"]
            print("intent (role removed, caps undone), mean spread: " + ", ".join(
                f"{m} {t[f'{m}/intent']['spread']:.2f}" for m in measures))

    print("\n### per track (stereo=mid, LN5 phon; gain dB in brackets)\n")
    print("| group | track | role | ch | before | " + " | ".join(f"{m} raw | {m} −role" for m in measures) + " |")
    print("|" + "---|" * (5 + 2 * len(measures)))
    for g, members in groups:
        for idx, rows in members:
            r = results[idx]["mid"]
            cells = [f"{r['before']['LN5_phon']:.1f}"]
            for m in measures:
                for k in ("raw", "role_removed"):
                    cells.append(f"{r[f'{m}/{k}']['LN5_phon']:.1f} [{r[f'{m}/{k}']['gain_db']:+.1f}]")
            role = rows[measures[0]]["role"]
            print(f"| {g['name']} | {meta[idx]['name']} | {role} | {meta[idx]['channels']} | " + " | ".join(cells) + " |")
    log(f"loudness computed in {elapsed:.0f} s")

    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"rpp": args.rpp, "calibration_pa_per_unit": PA_PER_UNIT,
                       "field": FIELD, "measures": measures, "seconds": elapsed,
                       "tracks": {str(k): v | {"results": results[k]} for k, v in meta.items()
                                  if isinstance(k, int)},
                       "self_check_max_abs_sone": meta.get("self_check_max_abs_sone"),
                       "table": table}, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent references for premix's stage-2 console (src/mix/console).

Reads one JSON request on stdin, writes one JSON answer on stdout. Requests:

  {"op": "eq", "sample_rate": fs, "bands": [{"kind", "freq_hz", "gain_db", "q"}...],
   "freqs": [...]}
      Magnitude response (dB) of the cascade at `freqs`, from the RBJ
      Audio-EQ-Cookbook formulas evaluated with scipy.signal.freqz.

  {"op": "comp_static", "threshold_db", "ratio", "knee_db", "makeup_db", "levels_db": [...]}
      Static curve of the soft-knee gain computer (Giannoulis, Massberg &
      Reiss 2012, eq. 4) plus make-up: output level for each input level.

  {"op": "comp_gain", "sample_rate", "threshold_db", "ratio", "knee_db", "attack_ms",
   "release_ms", "makeup_db", "levels": [[n_samples, amplitude], ...]}
      Applied gain (dB) per sample for a piecewise-constant side-chain
      amplitude: the gain computer on 20*log10(amplitude), then one-pole
      smoothing with alpha = exp(-ln 9 / (fs * t)), attack while the gain
      reduction grows and release while it recovers, then make-up.
      Also returns the 10-90 % times (s) of the first rise and the first
      recovery of the gain reduction.

  {"op": "pan", "law": "balance" | "sine_taper", "centre_db": c, "pans": [...]}
      Left/right gains.

Only numpy and scipy are used; nothing here imports premix.
"""

import json
import math
import sys

import numpy as np
from scipy import signal


def rbj(kind, f0, gain_db, q, fs):
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * f0 / fs
    alpha = math.sin(w0) / (2.0 * q)
    c = math.cos(w0)
    if kind == "peak":
        b = [1 + alpha * a, -2 * c, 1 - alpha * a]
        den = [1 + alpha / a, -2 * c, 1 - alpha / a]
    elif kind == "low_shelf":
        k = 2 * math.sqrt(a) * alpha
        b = [a * ((a + 1) - (a - 1) * c + k), 2 * a * ((a - 1) - (a + 1) * c),
             a * ((a + 1) - (a - 1) * c - k)]
        den = [(a + 1) + (a - 1) * c + k, -2 * ((a - 1) + (a + 1) * c), (a + 1) + (a - 1) * c - k]
    elif kind == "high_shelf":
        k = 2 * math.sqrt(a) * alpha
        b = [a * ((a + 1) + (a - 1) * c + k), -2 * a * ((a - 1) + (a + 1) * c),
             a * ((a + 1) + (a - 1) * c - k)]
        den = [(a + 1) - (a - 1) * c + k, 2 * ((a - 1) - (a + 1) * c), (a + 1) - (a - 1) * c - k]
    else:
        raise ValueError(kind)
    return np.array(b) / den[0], np.array(den) / den[0]


def eq(req):
    fs = req["sample_rate"]
    freqs = np.asarray(req["freqs"], dtype=float)
    total = np.zeros_like(freqs)
    for band in req["bands"]:
        b, a = rbj(band["kind"], band["freq_hz"], band["gain_db"], band["q"], fs)
        _, h = signal.freqz(b, a, worN=freqs, fs=fs)
        total += 20.0 * np.log10(np.abs(h))
    return {"db": total.tolist()}


def gain_computer(x, t, r, w):
    if 2.0 * (x - t) < -w:
        return x
    if w > 0 and 2.0 * abs(x - t) <= w:
        return x + (1.0 / r - 1.0) * (x - t + w / 2.0) ** 2 / (2.0 * w)
    return t + (x - t) / r


def comp_static(req):
    t, r, w, m = req["threshold_db"], req["ratio"], req["knee_db"], req["makeup_db"]
    return {"out_db": [gain_computer(x, t, r, w) + m for x in req["levels_db"]]}


def ten_ninety(gr, lo_idx, hi_idx, fs):
    """10-90 % time of the segment gr[lo_idx:hi_idx] (monotone step response)."""
    seg = np.asarray(gr[lo_idx:hi_idx])
    start, end = seg[0], seg[-1]
    span = end - start
    frac = (seg - start) / span
    i10 = int(np.argmax(frac >= 0.1))
    i90 = int(np.argmax(frac >= 0.9))
    # Linear interpolation between samples for sub-sample timing.
    def cross(i, level):
        if i == 0:
            return 0.0
        f0, f1 = frac[i - 1], frac[i]
        return (i - 1) + (level - f0) / (f1 - f0)
    return (cross(i90, 0.9) - cross(i10, 0.1)) / fs


def comp_gain(req):
    fs = req["sample_rate"]
    t, r, w, m = req["threshold_db"], req["ratio"], req["knee_db"], req["makeup_db"]
    aa = math.exp(-math.log(9.0) / (fs * req["attack_ms"] * 1e-3))
    ar = math.exp(-math.log(9.0) / (fs * req["release_ms"] * 1e-3))
    s = 0.0
    out = []
    bounds = []
    for n, amp in req["levels"]:
        bounds.append(len(out))
        x = 20.0 * math.log10(amp) if amp > 0 else -1000.0
        g = gain_computer(x, t, r, w) - x
        for _ in range(int(n)):
            alpha = aa if g < s else ar
            s = alpha * s + (1.0 - alpha) * g
            out.append(s + m)
    bounds.append(len(out))
    times = []
    for k in range(1, len(bounds) - 1):
        times.append(ten_ninety(out, bounds[k], bounds[k + 1], fs))
    return {"gain_db": out, "ten_ninety_s": times}


def pan(req):
    out = []
    for p in req["pans"]:
        p = min(1.0, max(-1.0, p))
        if req["law"] == "balance":
            out.append([1.0 - p if p > 0 else 1.0, 1.0 + p if p < 0 else 1.0])
        else:
            e = req["centre_db"] / (20.0 * math.log10(math.sqrt(0.5)))
            th = (p + 1.0) * math.pi / 4.0
            out.append([max(math.cos(th), 0.0) ** e, max(math.sin(th), 0.0) ** e])
    return {"gains": out}


def main():
    req = json.load(sys.stdin)
    ops = {"eq": eq, "comp_static": comp_static, "comp_gain": comp_gain, "pan": pan}
    json.dump(ops[req["op"]](req), sys.stdout)


if __name__ == "__main__":
    main()

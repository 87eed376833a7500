#!/usr/bin/env python3
"""ISO 532-1 (Zwicker) reference values from MoSQITo 1.2.1 for WAV files,
for the cross-check in tests/it/perceptual.rs.

Usage: iso532_reference.py [--db-spl-at-unit-rms 103] [--tv NAME ...] FILE.wav...

Prints one JSON object: {basename: {...}} with, per file,
  zwst_sone       MoSQITo `loudness_zwst` (stationary; its third-octave
                  spectrum comes from `noct_spectrum`, Butterworth band
                  filters, not the standard's filter bank);
  bank_sone       the stationary method on the standard's filter bank:
                  MoSQITo's `_third_octave_levels` (the ISO 532-1 filter
                  bank, squaring and smoothing), each band's intensity
                  averaged over time, then MoSQITo's `_main_loudness` and
                  `_calc_slopes`;
  and, for files named with --tv (the time-varying method is slow in
  MoSQITo, ~1.5 s per second of audio),
  zwtv_n5_sone    N5 of `loudness_zwtv` (numpy percentile 95 of N(t), 2 ms steps),
  zwtv_mean_sone  mean of N(t).

Calibration: a sample value x is x * 20e-6 * 10^(D/20) Pa with
D = --db-spl-at-unit-rms (default 103: -20 dBFS RMS = 83 dB SPL), the same
mapping as premix's iso532::Calibration. Free field throughout. Mono files
only (the test writes mono).
"""
import argparse
import json
import os
import sys
import warnings

import numpy as np
import soundfile as sf

warnings.filterwarnings("ignore")
# MoSQITo imports matplotlib at import time; keep it headless.
os.environ.setdefault("MPLBACKEND", "Agg")

from mosqito.sq_metrics import loudness_zwst, loudness_zwtv  # noqa: E402
from mosqito.sq_metrics.loudness.loudness_zwst._main_loudness import _main_loudness  # noqa: E402
from mosqito.sq_metrics.loudness.loudness_zwst._calc_slopes import _calc_slopes  # noqa: E402
from mosqito.sq_metrics.loudness.loudness_zwtv._third_octave_levels import (  # noqa: E402
    _third_octave_levels,
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db-spl-at-unit-rms", type=float, default=103.0)
    ap.add_argument("--tv", action="append", default=[], help="basename to run loudness_zwtv on")
    ap.add_argument("files", nargs="+")
    a = ap.parse_intermixed_args()
    k = 20e-6 * 10 ** (a.db_spl_at_unit_rms / 20)
    out = {}
    for path in a.files:
        x, fs = sf.read(path, dtype="float64", always_2d=True)
        if x.shape[1] != 1:
            sys.exit(f"{path}: mono files only")
        p = x[:, 0] * k
        name = os.path.basename(path)
        r = {}
        n, _, _ = loudness_zwst(p, fs, field_type="free")
        r["zwst_sone"] = float(n)
        levels, _, _ = _third_octave_levels(p, fs)
        mean_int = np.mean(10 ** (levels / 10), axis=1)
        nm = _main_loudness(10 * np.log10(mean_int), "free")
        r["bank_sone"] = float(_calc_slopes(nm)[0])
        if name in a.tv:
            n_t, _, _, _ = loudness_zwtv(p, fs, field_type="free")
            r["zwtv_n5_sone"] = float(np.percentile(n_t, 95))
            r["zwtv_mean_sone"] = float(np.mean(n_t))
        out[name] = r
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

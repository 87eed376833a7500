#!/usr/bin/env python3
"""Independent Python references for premix's track features.

Used by tests/it/analysis.rs (cross-checks) and by the analysis benchmark
(the "peer pipeline"). Nothing here shares code with premix.

    reference_features.py lufs FILE...       pyloudnorm (filter_class="DeMan")
    reference_features.py centroid FILE...   librosa spectral centroid/bandwidth
    reference_features.py pyin FILE...       librosa.pyin median F0, voiced ratio
    reference_features.py refined FILE...    the seed paper's refined loudness
    reference_features.py all FILE...        all of the above
    reference_features.py peer FILE...       the peer pipeline, timed

Each prints one JSON object per file, as a list. Conventions match premix's:
* a mono file is measured as dual mono (it plays in both channels of a
  stereo bus), i.e. pyloudnorm on the file duplicated to two channels;
* spectral statistics and pYIN run on the mono mix (L+R)/2, with frames
  whose mean square is below -60 dBFS left out of the averages (premix's
  absolute activity gate; the test signals have no quieter active parts);
  spectral frames lie inside the signal (no zero-padded edge frames);
* F0 is the median over voiced frames (the paper used the mean of pYIN and
  PESTO; ALGORITHMS.md 1.5 explains why the median of voiced frames only).

The refined loudness is the paper's formula (ALGORITHMS.md 1.3 step 4):
LUFS(LP1(HP1(x, 2 f0), 4 f0)) with first-order Butterworth filters
(scipy.signal.butter(1, ...), 6 dB/octave, -3 dB at the cut-off, as
pedalboard's HighpassFilter/LowpassFilter), computed in stereo, with f0 from
librosa.pyin as above. Without an F0 it falls back to plain LUFS.
"""

import json
import sys
import time

import numpy as np
import soundfile as sf

FMIN = 32.703195662574830  # C1, premix's default
FMAX = 2093.004522404789  # C7, premix's default
GATE_MS = 1e-6  # -60 dBFS mean square


def load(path):
    data, sr = sf.read(path, dtype="float64", always_2d=True)
    return data, sr


def as_stereo(data):
    return np.repeat(data, 2, axis=1) if data.shape[1] == 1 else data[:, :2]


def mono(data):
    return data[:, :2].mean(axis=1)


def lufs(data, sr):
    import pyloudnorm

    meter = pyloudnorm.Meter(sr, filter_class="DeMan")
    value = meter.integrated_loudness(as_stereo(data))
    return float(value) if np.isfinite(value) else None


def frame_energy(y, n, hop, center=True):
    # The mean square of each frame as librosa frames the signal (centred
    # frames are zero padded).
    padded = np.pad(y, (n // 2, n // 2)) if center else y
    frames = np.lib.stride_tricks.sliding_window_view(padded, n)[::hop]
    return (frames**2).mean(axis=1)


def centroid(data, sr):
    import librosa

    y = mono(data)
    n_fft, hop = 2048, 512
    # Frames inside the signal only (center=False): a zero-padded edge frame
    # has a step in it whose splatter is no property of the track.
    kw = dict(y=y, sr=sr, n_fft=n_fft, hop_length=hop, center=False)
    c = librosa.feature.spectral_centroid(**kw)[0]
    b = librosa.feature.spectral_bandwidth(**kw)[0]
    e = frame_energy(y, n_fft, hop, center=False)[: len(c)]
    active = e >= GATE_MS
    if not active.any():
        return {"centroid_hz": None, "bandwidth_hz": None}
    return {"centroid_hz": float(c[active].mean()), "bandwidth_hz": float(b[active].mean())}


def pyin(data, sr):
    import librosa

    y = mono(data)
    # librosa's default frame (2048) is for 22 kHz; keep ~93 ms at higher
    # rates so C1 (32.7 Hz) still fits in the lag range.
    frame = 2048 * max(1, int(round(sr / 22050)))
    f0, voiced, _ = librosa.pyin(y, fmin=FMIN, fmax=FMAX, sr=sr, frame_length=frame)
    e = frame_energy(y, frame, frame // 4)[: len(f0)]
    active = e >= GATE_MS
    v = voiced & active
    ratio = float(v.sum() / active.sum()) if active.any() else 0.0
    f0_hz = float(np.median(f0[v])) if v.any() else None
    return {"f0_hz": f0_hz, "voiced_ratio": ratio, "voiced_frames": int(v.sum())}


def refined(data, sr, f0):
    import pyloudnorm
    from scipy.signal import butter, lfilter

    x = as_stereo(data)
    if f0 is None:
        return lufs(data, sr)
    b, a = butter(1, 2.0 * f0, btype="highpass", fs=sr)
    x = lfilter(b, a, x, axis=0)
    if 4.0 * f0 < 0.49 * sr:
        b, a = butter(1, 4.0 * f0, btype="lowpass", fs=sr)
        x = lfilter(b, a, x, axis=0)
    value = pyloudnorm.Meter(sr, filter_class="DeMan").integrated_loudness(x)
    return float(value) if np.isfinite(value) else None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, paths = sys.argv[1], sys.argv[2:]
    out = []
    for path in paths:
        data, sr = load(path)
        rec = {"path": path}
        if mode == "lufs":
            rec["lufs"] = lufs(data, sr)
        elif mode == "centroid":
            rec.update(centroid(data, sr))
        elif mode == "pyin":
            rec.update(pyin(data, sr))
        elif mode in ("refined", "all"):
            if mode == "all":
                rec.update(centroid(data, sr))
            p = pyin(data, sr)
            rec.update(p)
            rec["lufs"] = lufs(data, sr)
            rec["refined_lufs"] = refined(data, sr, p["f0_hz"])
        elif mode == "peer":
            # The peer pipeline of the benchmark: what the paper's stage 1
            # measures per track, on the same files premix analyses.
            t = time.perf_counter()
            rec["lufs"] = lufs(data, sr)
            rec.update(centroid(data, sr))
            rec.update(pyin(data, sr))
            rec["seconds"] = time.perf_counter() - t
            rec["duration_s"] = len(data) / sr
        else:
            sys.exit(f"unknown mode {mode!r}\n{__doc__}")
        out.append(rec)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()

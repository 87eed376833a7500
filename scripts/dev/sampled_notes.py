#!/usr/bin/env python3
"""Render single notes of sampled General MIDI instruments to WAV, with their
nominal pitch, for the F0 report `ml::sampled_report` (issue 11).

Needs the `fluidsynth` CLI and the FluidR3_GM SoundFont (MIT licence), which
Debian ships:

    apt-get install -y fluidsynth fluid-soundfont-gm
    python3 scripts/dev/sampled_notes.py OUT_DIR

Standard library only. Writes OUT_DIR/<instrument>_<midi>.wav (44.1 kHz,
16-bit, stereo as fluidsynth renders it) and OUT_DIR/manifest.json listing
each note's instrument, GM program, MIDI note and nominal F0 (A4 = 440 Hz).
The files are test material for a local report and are never committed.

Each note: program change, note-on at velocity 100 at t = 0, note-off at
1.5 s, end of the file at 2.0 s (so the release is included); reverb and
chorus off so that only the instrument's own sound is analysed. The nominal
pitch is the MIDI note's equal-tempered frequency; the SoundFont's samples
may be tuned a few cents away from it (a piano's stretch tuning, for one),
which every estimator then sees alike.
"""

import json
import os
import shutil
import struct
import subprocess
import sys

SOUNDFONT_CANDIDATES = [
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
]
RATE = 44100
TICKS_PER_QUARTER = 480  # at the default 120 bpm: 960 ticks per second

# (name, GM program (0-based), lowest MIDI note, highest, step in semitones).
# Ranges are each instrument's usual range, limited to what both estimators
# can represent (pYIN: C1..C7; CREPE's bins: 31.7..2005 Hz).
INSTRUMENTS = [
    ("piano", 0, 28, 93, 5),
    ("marimba", 12, 45, 93, 4),
    ("nylon_guitar", 24, 40, 81, 4),
    ("acoustic_bass", 32, 28, 55, 3),
    ("electric_bass", 33, 28, 60, 3),
    ("cello", 42, 36, 76, 4),
    ("choir_aahs", 52, 48, 79, 3),
    ("trumpet", 56, 55, 82, 3),
    ("tenor_sax", 66, 44, 76, 3),
    ("flute", 73, 60, 93, 3),
]


def varlen(n):
    """A MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_file(program, note):
    """A format-0 Standard MIDI File with one note on channel 0."""
    on_ticks, off_ticks, end_ticks = 0, int(1.5 * 960), int(2.0 * 960)
    ev = b""
    ev += varlen(0) + bytes([0xC0, program])
    ev += varlen(on_ticks) + bytes([0x90, note, 100])
    ev += varlen(off_ticks - on_ticks) + bytes([0x80, note, 0])
    ev += varlen(end_ticks - off_ticks) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(ev)) + ev


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    out = sys.argv[1]
    fs = shutil.which("fluidsynth")
    sf = next((p for p in SOUNDFONT_CANDIDATES if os.path.isfile(p)), None)
    if fs is None or sf is None:
        sys.exit("needs the fluidsynth CLI and FluidR3_GM.sf2 "
                 "(apt-get install -y fluidsynth fluid-soundfont-gm)")
    os.makedirs(out, exist_ok=True)
    notes = []
    for name, program, lo, hi, step in INSTRUMENTS:
        for midi in range(lo, hi + 1, step):
            base = f"{name}_{midi}"
            mid = os.path.join(out, base + ".mid")
            wav = os.path.join(out, base + ".wav")
            with open(mid, "wb") as f:
                f.write(midi_file(program, midi))
            subprocess.run(
                [fs, "-q", "-n", "-i", "-R", "0", "-C", "0", "-g", "0.5",
                 "-r", str(RATE), "-T", "wav", "-O", "s16", "-F", wav, sf, mid],
                check=True, stdout=subprocess.DEVNULL,
            )
            os.remove(mid)
            notes.append({
                "instrument": name,
                "program": program,
                "midi": midi,
                "f0_hz": 440.0 * 2 ** ((midi - 69) / 12),
                "wav": base + ".wav",
            })
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"soundfont": sf, "sample_rate": RATE, "notes": notes}, f, indent=1)
    print(f"{len(notes)} notes in {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent decoder for the plugin states premix writes into RPP files.

Reads an .RPP with the `rpp` package and prints JSON, per track (by name)
and for the master: the fader, the ISBUS folder flags, and for every plugin
in the FX chain its kind, custom name and decoded settings:
  - ReaEQ (VST): bands [type, enabled, freq Hz, gain dB, bandwidth octaves]
    decoded from REAPER's VST wrapper (base64 lines decoded one by one,
    header, body, trailer) and ReaEQ's chunk (FORMATS.md §1.5);
  - JSFX: the slider values.
Written from FORMATS.md, independently of premix's Rust code.
"""
import base64
import json
import math
import struct
import sys

import rpp


def decode_vst(lines):
    data = b"".join(base64.b64decode(l) for l in lines)
    pid, magic, n_in = struct.unpack_from("<III", data, 0)
    off = 12 + 8 * n_in
    (n_out,) = struct.unpack_from("<I", data, off)
    off += 4 + 8 * n_out
    body_len, _opaque, _flags = struct.unpack_from("<III", data, off)
    off += 12
    body = data[off : off + body_len]
    return pid, magic, body


def decode_reaeq(body):
    version, n = struct.unpack_from("<ii", body, 0)
    size = 32 if version == 32 else 33
    bands = []
    for i in range(n):
        t, en, f, g, bw = struct.unpack_from("<iiddd", body, 8 + i * size)
        bands.append([t, en, f, 20 * math.log10(g) if g > 0 else None, bw])
    return {"version": version, "bands": bands}


def plugins(chain):
    out = []
    if chain is None:
        return out
    for el in chain:
        if not isinstance(el, rpp.Element):
            continue
        if el.tag == "VST":
            lines = [c if isinstance(c, str) else " ".join(c) for c in el]
            pid, magic, body = decode_vst(lines)
            entry = {"kind": "VST", "name": el.attrib[0], "custom": el.attrib[3]}
            if pid == 0x72656571 and magic == 0xFEED5EEE:
                entry["reaeq"] = decode_reaeq(body)
            out.append(entry)
        elif el.tag == "JS":
            sliders = el[0] if len(el) else []
            if isinstance(sliders, str):
                sliders = sliders.split()
            out.append({"kind": "JS", "path": el.attrib[0], "custom": el.attrib[1] if len(el.attrib) > 1 else "",
                        "sliders": [None if s == "-" else float(s) for s in sliders]})
    return out


def describe(path):
    with open(path, encoding="utf-8") as f:
        root = rpp.loads(f.read())
    tracks = []
    for t in root.findall("TRACK"):
        name = t.find("NAME")
        volpan = t.find("VOLPAN")
        isbus = t.find("ISBUS")
        tracks.append({
            "name": name[1] if name is not None and len(name) > 1 else "",
            "volume": float(volpan[1]) if volpan is not None else 1.0,
            "pan": float(volpan[2]) if volpan is not None else 0.0,
            "isbus": [int(x) for x in isbus[1:3]] if isbus is not None else [0, 0],
            "auxrecv": [int(a[1]) for a in t.findall("AUXRECV")],
            "plugins": plugins(t.find("FXCHAIN")),
        })
    mv = root.find("MASTER_VOLUME")
    return {
        "tracks": tracks,
        "master": {"volume": float(mv[1]) if mv is not None else 1.0, "plugins": plugins(root.find("MASTERFXLIST"))},
    }


if __name__ == "__main__":
    json.dump(describe(sys.argv[1]), sys.stdout, indent=1)

#!/usr/bin/env python3
"""Independent reading of REAPER projects with the `rpp` package (PyPI).

Prints JSON: {path: {"tracks": [{"name", "volpan": [floats], "isbus": [ints]}]}}
for each .RPP given on the command line, or {"error": ...} where the
`rpp` package itself cannot parse a file. premix's tests compare
`premix inspect --json` against it (track count, names, VOLPAN values).
"""
import json
import sys

import rpp


def describe(path):
    with open(path, encoding="utf-8") as f:
        root = rpp.loads(f.read())
    tracks = []
    for t in root.findall("TRACK"):
        name = t.find("NAME")
        volpan = t.find("VOLPAN")
        isbus = t.find("ISBUS")
        tracks.append(
            {
                "name": name[1] if name is not None and len(name) > 1 else "",
                "volpan": [float(x) for x in volpan[1:]] if volpan is not None else None,
                "isbus": [int(x) for x in isbus[1:]] if isbus is not None else None,
            }
        )
    return {"tracks": tracks}


def describe_or_error(path):
    try:
        return describe(path)
    except Exception as e:  # the reference's own parser limits (e.g. blank lines)
        return {"error": f"{type(e).__name__}: {e}"}


if __name__ == "__main__":
    json.dump({p: describe_or_error(p) for p in sys.argv[1:]}, sys.stdout, indent=1)

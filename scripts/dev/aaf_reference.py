#!/usr/bin/env python3
"""Independent reference for premix's AAF write-back, read with pyaaf2.

Usage: aaf_reference.py FILE.aaf

Prints JSON:
  slots:  for each Sound slot of the top-level CompositionMob (slot id, name):
          the slot-level gain and pan premix writes, read through pyaaf2:
          every slot-level OperationGroup (by operation AUID) with its
          Amplitude / Pan parameter (constant value, or control points), as
          floats from the stored Rationals.
  lines:  a canonical dump of every other object reachable from the root
          (property name = raw stored bytes, strong references followed,
          weak references as their keys), with the slot-level gain/pan
          OperationGroups looked through (the slot's segment is dumped as
          the innermost input), the Dictionary's MonoAudioGain/MonoAudioPan
          and Amplitude/Pan definitions left out, and TaggedValues named
          premix.* left out: two files that differ only in what premix may
          write give the same lines.
  digest: sha256 of the lines.
  comments: the premix.* TaggedValues of the top-level composition.
"""

import hashlib
import json
import sys

import aaf2
from aaf2 import properties as P

GAIN = "9d2ea894-0968-11d3-8a38-0050040ef7d2"
PAN = "9d2ea893-0968-11d3-8a38-0050040ef7d2"
AMPLITUDE = "e4962321-2267-11d3-8a4c-0050040ef7d2"
PAN_PARAM = "e4962322-2267-11d3-8a4c-0050040ef7d2"
SKIP_DEFS = {GAIN, PAN, AMPLITUDE, PAN_PARAM}
SOUND = {"Sound", "LegacySound"}


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def param_value(p):
    if "PointList" in p.keys():
        return {"points": [[num(cp.time), num(cp.value)] for cp in p["PointList"]]}
    return {"value": num(p.value)}


def slot_groups(slot):
    """The slot-level OperationGroups (outermost first) and the inner segment."""
    seg = slot.segment
    groups = []
    while isinstance(seg, aaf2.components.OperationGroup):
        op = str(seg.operation.auid) if seg.operation is not None else None
        if op not in (GAIN, PAN):
            break
        params = {}
        for p in seg.parameters:
            params[str(p.parameterdef.auid)] = param_value(p)
        groups.append({"operation": op, "parameters": params})
        inputs = list(seg.segments)
        if not inputs:
            break
        seg = inputs[0]
    return groups, seg


def name_of(obj):
    try:
        return obj.name
    except Exception:
        return None


def dump(obj, path, out, ctx, depth=0):
    if depth > 200:
        raise RuntimeError("nesting too deep at " + path)
    entries = sorted(obj.property_entries.values(), key=lambda p: p.name or str(p.pid))
    for p in entries:
        name = p.name or "0x%04x" % p.pid
        here = "%s.%s" % (path, name)
        if isinstance(p, P.StrongRefProperty):
            child = p.value
            if id(obj) in ctx["slots"] and name == "Segment":
                child = ctx["slots"][id(obj)]
            dump(child, here, out, ctx, depth + 1)
        elif isinstance(p, P.StrongRefVectorProperty):
            for i, c in enumerate(p):
                if is_premix_comment(c):
                    continue
                dump(c, "%s[%d]" % (here, i), out, ctx, depth + 1)
        elif isinstance(p, P.StrongRefSetProperty):
            for key, c in sorted(p.items(), key=lambda kv: str(kv[0])):
                if str(key) in SKIP_DEFS:
                    continue
                dump(c, "%s{%s}" % (here, key), out, ctx, depth + 1)
        elif isinstance(p, P.WeakRefProperty):
            out.append("%s -> %s" % (here, p.ref))
        elif isinstance(p, P.WeakRefArrayProperty):
            keys = [str(k) for k in p.references if str(k) not in SKIP_DEFS]
            out.append("%s -> [%s]" % (here, ", ".join(keys)))
        elif isinstance(p, P.StreamProperty):
            # Essence streams: premix never writes them; their name is kept.
            out.append("%s stream %s" % (here, bytes(p.data or b"").hex()))
        else:
            data = p.data if p.data is not None else b""
            out.append("%s = %s" % (here, bytes(data).hex()))


def is_premix_comment(obj):
    if not isinstance(obj, aaf2.misc.TaggedValue):
        return False
    return str(name_of(obj) or "").startswith("premix.")


def main():
    path = sys.argv[1]
    with aaf2.open(path, "r") as f:
        comp = next(iter(f.content.toplevel()), None)
        if comp is None:
            comps = list(f.content.compositionmobs())
            comp = comps[0]
        slots = []
        ctx = {"slots": {}, "keep": []}
        for s in comp.slots:
            if not isinstance(s, aaf2.mobslots.TimelineMobSlot):
                continue
            seg = s.segment
            kind = seg.media_kind if seg is not None else None
            groups, inner = slot_groups(s)
            ctx["slots"][id(s)] = inner
            ctx["keep"].append(s)
            if kind not in SOUND:
                continue
            slots.append({"slot_id": s.slot_id, "name": s.name, "groups": groups})
        comments = {}
        if "UserComments" in comp.keys():
            for tv in comp["UserComments"]:
                if is_premix_comment(tv):
                    comments[tv.name] = tv.value
        lines = []
        dump(f.header, "Header", lines, ctx)
        # The MetaDictionary too: premix must not change classes or types.
        dump(f.metadict, "MetaDictionary", lines, ctx)
    print(
        json.dumps(
            {
                "slots": slots,
                "comments": comments,
                "lines": lines,
                "digest": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
            }
        )
    )


if __name__ == "__main__":
    main()

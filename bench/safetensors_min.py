"""Minimal safetensors reader (F32 only) so the PyTorch scripts need no extra package."""
import json
import struct

import numpy as np


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        tensors[name] = np.frombuffer(raw[base + a : base + b], dtype="<f4").reshape(info["shape"]).copy()
    return tensors, meta

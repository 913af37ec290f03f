"""What a learned head reads for one image, and its compact 8-bit form for the training log.

The bot keeps these per classified upload (bot.store's `training_log`) so that a new head
can be fitted on real Commons images without decoding or running anything again
(`training.retrain_head`). Each block (graph scores, pooled features, face signals) is
stored as uint8 with its own affine scale and zero point, so the row is about 1.3 KB
and `decode(encode(x))` is within half a step of each value; the layout (block names,
sizes, scales, zero points) travels with the bytes as a small JSON text, so a row can be
read back without knowing the model that wrote it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

BLOCKS = ("graph_scores", "features", "face")


@dataclass(frozen=True)
class HeadInputs:
    """One image: the graph's label scores in [0, 1], its pooled features, and the face
    detector's signals (empty without a detector)."""

    graph_scores: np.ndarray
    features: np.ndarray
    face: np.ndarray


def encode(inputs: HeadInputs) -> tuple[bytes, str]:
    """(uint8 bytes of every block in BLOCKS order, layout JSON)."""
    parts, layout = [], []
    for name in BLOCKS:
        values = np.asarray(getattr(inputs, name), dtype=np.float32).ravel()
        low = float(min(values.min(initial=0.0), 0.0))
        high = float(max(values.max(initial=0.0), 0.0))
        scale = (high - low) / 255.0 or 1.0
        zero_point = int(round(-low / scale))
        codes = np.clip(np.round(values / scale) + zero_point, 0, 255).astype(np.uint8)
        parts.append(codes.tobytes())
        layout.append([name, len(values), float(np.float32(scale)), zero_point])
    return b"".join(parts), json.dumps(layout, separators=(",", ":"))


def decode(data: bytes, layout: str) -> HeadInputs:
    """The float32 blocks back from `encode`'s output; a mismatch is a ValueError."""
    blocks, offset = {}, 0
    codes = np.frombuffer(data, dtype=np.uint8)
    for name, size, scale, zero_point in json.loads(layout):
        if name not in BLOCKS or offset + size > len(codes):
            raise ValueError(f"training-log layout {layout[:80]} does not fit {len(codes)} bytes")
        block = codes[offset : offset + size].astype(np.float32)
        blocks[name] = (block - zero_point) * np.float32(scale)
        offset += size
    if offset != len(codes) or set(blocks) != set(BLOCKS):
        raise ValueError(f"training-log layout {layout[:80]} does not fit {len(codes)} bytes")
    return HeadInputs(**blocks)

"""Specialist detectors that ship beside the topic model: a face detector read as signals.

ImageNet has no class "person", so a backbone read through ImageNet classes cannot say
People; a face detector can. The detector is MediaPipe's BlazeFace (a single-shot
detector, Apache-2.0, extracted from the PyPI `mediapipe` wheel by the build; the bot
never installs mediapipe) run on LiteRT. Its raw outputs are one score logit and one box
per fixed anchor; this module owns the anchor layout, the box decoding and the few
numbers (signals) the topic head reads, so that nothing about the detector is hidden in
another project's code.

Cost is bounded whatever the image shows: the detector sees a fixed-size letterboxed
copy, has a fixed number of anchors, and the signals are vectorised sums over those
anchors with no per-face loop (a crowd of a thousand faces costs what an empty wall
costs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# The signals, in the order the head reads them. Scores are probabilities in [0, 1];
# areas are fractions of the letterboxed square.
FACE_SIGNALS = (
    "face_max_score",  # the most confident anchor
    "face_count",  # anchors over the detection threshold, after suppressing overlaps (capped)
    "face_largest_area",  # box area of the most confident face
    "face_total_area",  # summed box area of the kept faces (capped at 1)
)
MAX_COUNTED_FACES = 20  # beyond this a crowd is a crowd; keeps the signal's range fixed


def ssd_anchors(input_size: int, strides: list[int], per_cell: list[int]) -> np.ndarray:
    """(n_anchors, 2) anchor centres (x, y) in [0, 1], row-major per feature map.

    BlazeFace uses fixed-size anchors (width = height = 1, the box regressors carry the
    size), so only the centres matter: one grid per stride, `per_cell` anchors on each
    cell, offset half a cell. Consecutive layers of the same stride share one grid, as
    MediaPipe's SSD anchor generator does.
    """
    centres = []
    for stride, count in zip(strides, per_cell, strict=True):
        cells = int(np.ceil(input_size / stride))
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, count, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


def letterbox(image: Image.Image, size: int) -> np.ndarray:
    """The whole image scaled to fit a size x size square, centred on black: RGB uint8.

    Detectors want the whole picture (a face at the edge still counts), unlike the
    topic backbone's centre crop.
    """
    width, height = image.size
    scale = size / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=3.0)
    canvas = Image.new("RGB", (size, size))
    canvas.paste(resized, ((size - new_w) // 2, (size - new_h) // 2))
    return np.asarray(canvas, dtype=np.uint8)


@dataclass(frozen=True)
class FaceDetectorSpec:
    """How to read one BlazeFace file; stored in model.json under `detectors.face`."""

    file: str
    input_size: int
    strides: list[int]
    anchors_per_cell: list[int]
    score_threshold: float
    overlap_threshold: float = 0.3

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaceDetectorSpec:
        return cls(
            file=str(data["file"]),
            input_size=int(data["input_size"]),
            strides=[int(s) for s in data["strides"]],
            anchors_per_cell=[int(n) for n in data["anchors_per_cell"]],
            score_threshold=float(data["score_threshold"]),
            overlap_threshold=float(data.get("overlap_threshold", 0.3)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "input_size": self.input_size,
            "input": "letterbox (classifier.detectors.letterbox), RGB scaled to [-1, 1]",
            "strides": self.strides,
            "anchors_per_cell": self.anchors_per_cell,
            "score_threshold": self.score_threshold,
            "overlap_threshold": self.overlap_threshold,
            "signals": list(FACE_SIGNALS),
        }

    @property
    def n_anchors(self) -> int:
        return len(ssd_anchors(self.input_size, self.strides, self.anchors_per_cell))


def face_signals(
    logits: np.ndarray, boxes: np.ndarray, anchors: np.ndarray, spec: FaceDetectorSpec
) -> np.ndarray:
    """Raw detector outputs of one image -> the FACE_SIGNALS vector (float32).

    `logits` (n_anchors,), `boxes` (n_anchors, >= 4) with (dx, dy, w, h) in input pixels
    relative to the anchor centre. Overlaps are suppressed greedily over at most
    MAX_COUNTED_FACES candidates, so the work is bounded by a constant.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float32), -80.0, 80.0)))
    size = float(spec.input_size)
    centres = anchors + boxes[:, :2] / size
    extents = np.abs(boxes[:, 2:4]) / size
    best = int(np.argmax(scores))
    candidates = np.flatnonzero(scores >= spec.score_threshold)
    candidates = candidates[np.argsort(-scores[candidates])][: 4 * MAX_COUNTED_FACES]
    kept: list[int] = []
    for i in candidates:
        if len(kept) == MAX_COUNTED_FACES:
            break
        if not kept or _overlap(centres[i], extents[i], centres[kept], extents[kept]).max() < (
            spec.overlap_threshold
        ):
            kept.append(int(i))
    areas = extents[:, 0] * extents[:, 1]
    return np.array(
        [
            scores[best],
            len(kept) / MAX_COUNTED_FACES,
            min(float(areas[best]), 1.0),
            min(float(areas[kept].sum()) if kept else 0.0, 1.0),
        ],
        dtype=np.float32,
    )


def _overlap(c: np.ndarray, e: np.ndarray, cs: np.ndarray, es: np.ndarray) -> np.ndarray:
    """Intersection over union of one centre/extent box with several."""
    low = np.maximum(c - e / 2, cs - es / 2)
    high = np.minimum(c + e / 2, cs + es / 2)
    inter = np.prod(np.clip(high - low, 0.0, None), axis=1)
    union = e.prod() + es.prod(axis=1) - inter
    return inter / np.maximum(union, 1e-9)


class FaceDetector:
    """One loaded BlazeFace file; `signals(letterboxed)` -> FACE_SIGNALS."""

    def __init__(self, path: Path, spec: FaceDetectorSpec, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from classifier.artifact import ModelArtifactError

        self.spec = spec
        try:
            self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        except ValueError as err:
            raise ModelArtifactError(f"{path}: not a usable detector: {err}") from None
        self._anchors = ssd_anchors(spec.input_size, spec.strides, spec.anchors_per_cell)
        (inp,) = self._interpreter.get_input_details()
        if tuple(inp["shape"][1:]) != (spec.input_size, spec.input_size, 3):
            raise ModelArtifactError(
                f"{path}: detector input is {inp['shape']}, model.json says "
                f"{spec.input_size}x{spec.input_size}x3"
            )
        outputs = self._interpreter.get_output_details()
        by_width = {int(o["shape"][-1]): o["index"] for o in outputs}
        n = len(self._anchors)
        if len(outputs) != 2 or 1 not in by_width or any(o["shape"][1] != n for o in outputs):
            raise ModelArtifactError(
                f"{path}: detector outputs {[list(o['shape']) for o in outputs]} do not match "
                f"{n} anchors with one score each"
            )
        self._score_index = by_width.pop(1)
        (self._box_index,) = by_width.values()
        self._input_index = inp["index"]
        self._interpreter.allocate_tensors()

    def signals(self, letterboxed: np.ndarray) -> np.ndarray:
        """(size, size, 3) uint8 from `letterbox` -> FACE_SIGNALS (float32)."""
        x = letterboxed.astype(np.float32)[None] / 127.5 - 1.0
        self._interpreter.set_tensor(self._input_index, x)
        self._interpreter.invoke()
        logits = self._interpreter.get_tensor(self._score_index)[0, :, 0]
        boxes = self._interpreter.get_tensor(self._box_index)[0]
        return face_signals(logits, boxes, self._anchors, self.spec)

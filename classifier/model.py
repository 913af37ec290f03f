"""TopicModel: load a model directory once, then preprocess, predict, post-process.

The four steps of a Lift Wing model server, in one small class. Inference runs the
`.tflite` file on LiteRT (`ai-edge-litert`), never TensorFlow: the bot must start in a
fraction of a second and fit in Toolforge's memory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from classifier.artifact import (
    DEFAULT_MODEL_DIR,
    MODEL_FILE,
    ModelArtifactError,
    ModelCard,
    read_card,
)
from classifier.hierarchy import max_constraint, predicted_labels
from classifier.images import DEFAULT_MAX_PIXELS, ImageError, preprocess
from classifier.taxonomy import Taxonomy


@dataclass(frozen=True)
class Prediction:
    """One image's result, in Wikimedia's prediction shape (see `to_dict`)."""

    model_name: str
    model_version: str
    predictions: tuple[str, ...]
    probabilities: dict[str, float]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self, all_probabilities: bool = True) -> dict:
        probabilities = (
            self.probabilities
            if all_probabilities
            else {k: v for k, v in self.probabilities.items() if k in self.predictions}
        )
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "predictions": list(self.predictions),
            "probabilities": {k: round(v, 4) for k, v in probabilities.items()},
        }


class TopicModel:
    """A loaded topic model. Not thread-safe: use one instance per thread or process."""

    def __init__(self, model_dir: Path, card: ModelCard, num_threads: int) -> None:
        self.model_dir = model_dir
        self.card = card
        self.taxonomy: Taxonomy = card.taxonomy
        try:
            self._interpreter = Interpreter(
                model_path=str(model_dir / MODEL_FILE), num_threads=num_threads
            )
        except ValueError as err:  # LiteRT's word for a damaged or non-TFLite file
            raise ModelArtifactError(
                f"{model_dir / MODEL_FILE}: not a usable model: {err}"
            ) from None
        input_detail = self._interpreter.get_input_details()[0]
        output_detail = self._interpreter.get_output_details()[0]
        expected = (card.input_size, card.input_size, 3)
        if tuple(input_detail["shape"][1:]) != expected or input_detail["dtype"] != np.uint8:
            raise ModelArtifactError(
                f"{model_dir}: model input is {input_detail['shape']} {input_detail['dtype']}, "
                f"model.json says {expected} uint8"
            )
        if output_detail["shape"][-1] != len(card.labels):
            raise ModelArtifactError(
                f"{model_dir}: model has {output_detail['shape'][-1]} outputs "
                f"for {len(card.labels)} labels"
            )
        self._input_index = input_detail["index"]
        self._output_index = output_detail["index"]
        self._output_quant = output_detail["quantization"]  # (scale, zero point); (0, 0) if float
        self._batch = int(input_detail["shape"][0])
        self._interpreter.allocate_tensors()

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, num_threads: int = 1) -> TopicModel:
        """Load a model directory (default: the model shipped with the classifier)."""
        model_dir = Path(path) if path is not None else DEFAULT_MODEL_DIR
        return cls(model_dir, read_card(model_dir), num_threads)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def operating_points(self) -> dict[str, dict[str, float | None]]:
        return {name: p.thresholds for name, p in self.card.operating_points.items()}

    @property
    def default_operating_point(self) -> str:
        return self.card.default_operating_point

    def thresholds(
        self, operating_point: str | None = None, threshold: float | None = None
    ) -> dict[str, float | None]:
        """Per-label thresholds of a named point, or one threshold for every label."""
        if threshold is not None:
            if not 0.0 < threshold < 1.0:
                raise ValueError(f"threshold must be in (0, 1), got {threshold}")
            return dict.fromkeys(self.labels, threshold)
        name = operating_point or self.default_operating_point
        if name not in self.card.operating_points:
            raise ValueError(
                f"unknown operating point {name!r}; the model has "
                f"{', '.join(self.card.operating_points)}"
            )
        return self.card.operating_points[name].thresholds

    def predict_arrays(self, pixels: np.ndarray) -> np.ndarray:
        """(N, size, size, 3) uint8 -> (N, n_labels) scores in [0, 1], hierarchy enforced."""
        pixels = np.asarray(pixels, dtype=np.uint8)
        if pixels.ndim != 4 or pixels.shape[1:] != (self.card.input_size, self.card.input_size, 3):
            raise ValueError(f"expected (N, {self.card.input_size}, {self.card.input_size}, 3)")
        if len(pixels) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if len(pixels) != self._batch:
            self._interpreter.resize_tensor_input(self._input_index, pixels.shape)
            self._interpreter.allocate_tensors()
            self._batch = len(pixels)
        self._interpreter.set_tensor(self._input_index, pixels)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output_index)
        scale, zero_point = self._output_quant
        scores = (raw.astype(np.float32) - zero_point) * scale if scale else raw.astype(np.float32)
        return max_constraint(np.clip(scores, 0.0, 1.0), self.taxonomy)

    def predict_bytes(
        self,
        images: Sequence[bytes],
        operating_point: str | None = None,
        threshold: float | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> list[Prediction | ImageError]:
        """Encoded images -> one Prediction or ImageError each, in input order.

        A bad image becomes its error value; the others are still predicted (in one batch).
        """
        thresholds = self.thresholds(operating_point, threshold)
        results: list[Prediction | ImageError | None] = [None] * len(images)
        arrays, positions, decode_ms = [], [], []
        for i, data in enumerate(images):
            start = time.perf_counter()
            try:
                arrays.append(preprocess(data, self.card.input_size, max_pixels=max_pixels))
                positions.append(i)
                decode_ms.append((time.perf_counter() - start) * 1000)
            except ImageError as err:
                results[i] = err
        if arrays:
            start = time.perf_counter()
            scores = self.predict_arrays(np.stack(arrays))
            infer_ms = (time.perf_counter() - start) * 1000 / len(arrays)
            for i, row, ms in zip(positions, scores, decode_ms, strict=True):
                results[i] = Prediction(
                    model_name=self.name,
                    model_version=self.version,
                    predictions=predicted_labels(row, self.taxonomy, thresholds),
                    probabilities=dict(zip(self.labels, map(float, row), strict=True)),
                    timings_ms={"preprocess": round(ms, 2), "inference": round(infer_ms, 2)},
                )
        return results  # type: ignore[return-value]

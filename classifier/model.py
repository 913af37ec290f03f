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
from PIL import Image

from classifier.artifact import (
    DEFAULT_MODEL_DIR,
    MODEL_FILE,
    ModelArtifactError,
    ModelCard,
    check_files,
    read_card,
)
from classifier.detectors import FACE_SIGNALS, FaceDetector, FaceDetectorSpec, letterbox
from classifier.head import LinearHead
from classifier.head_inputs import HeadInputs
from classifier.hierarchy import max_constraint, predicted_labels
from classifier.images import DEFAULT_MAX_PIXELS, ImageError, decode_image, resize_center_crop
from classifier.taxonomy import Taxonomy


@dataclass(frozen=True)
class Prediction:
    """One image's result, in Wikimedia's prediction shape (see `to_dict`)."""

    model_name: str
    model_version: str
    predictions: tuple[str, ...]
    probabilities: dict[str, float]
    timings_ms: dict[str, float] = field(default_factory=dict)
    # what the head read, when asked for (`predict_images(return_inputs=True)`): the
    # training log keeps it so a new head can be fitted without decoding anything again
    head_inputs: HeadInputs | None = field(default=None, compare=False, repr=False)

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
        check_files(model_dir, card)
        try:
            self._interpreter = Interpreter(
                model_path=str(model_dir / MODEL_FILE), num_threads=num_threads
            )
        except ValueError as err:  # LiteRT's word for a damaged or non-TFLite file
            raise ModelArtifactError(
                f"{model_dir / MODEL_FILE}: not a usable model: {err}"
            ) from None
        input_detail = self._interpreter.get_input_details()[0]
        expected = (card.input_size, card.input_size, 3)
        if tuple(input_detail["shape"][1:]) != expected or input_detail["dtype"] != np.uint8:
            raise ModelArtifactError(
                f"{model_dir}: model input is {input_detail['shape']} {input_detail['dtype']}, "
                f"model.json says {expected} uint8"
            )
        outputs = self._interpreter.get_output_details()
        by_width = {int(o["shape"][-1]): o for o in outputs}
        scores_detail = by_width.pop(len(card.labels), None)
        features_width = int(card.head["inputs"][0]["size"]) if card.head else None
        features_detail = by_width.pop(features_width, None) if features_width else None
        if scores_detail is None or (card.head and features_detail is None) or by_width:
            raise ModelArtifactError(
                f"{model_dir}: model outputs {[list(o['shape']) for o in outputs]}, model.json "
                f"says {len(card.labels)} label scores"
                + (f" and {features_width} features" if features_width else "")
            )
        self._input_index = input_detail["index"]
        self._outputs = [(scores_detail["index"], scores_detail["quantization"])]
        if features_detail is not None:
            self._outputs.append((features_detail["index"], features_detail["quantization"]))
        self._batch = int(input_detail["shape"][0])
        self._interpreter.allocate_tensors()
        self.face_detector = (
            FaceDetector(
                model_dir / card.detectors["face"]["file"],
                FaceDetectorSpec.from_json(card.detectors["face"]),
                num_threads,
            )
            if "face" in card.detectors
            else None
        )
        self.head = (
            LinearHead(model_dir / card.head["file"], card.head, card.labels)
            if card.head
            else None
        )

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

    @property
    def input_sizes(self) -> tuple[int, ...]:
        """The sizes one decoded image is prepared at: the graph's, then the detector's."""
        face = (self.face_detector.spec.input_size,) if self.face_detector else ()
        return (self.card.input_size, *face)

    def graph_outputs(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, size, size, 3) uint8 -> (graph label scores in [0, 1], pooled features or
        None), dequantized, before the head and the hierarchy."""
        pixels = np.asarray(pixels, dtype=np.uint8)
        if pixels.ndim != 4 or pixels.shape[1:] != (self.card.input_size, self.card.input_size, 3):
            raise ValueError(f"expected (N, {self.card.input_size}, {self.card.input_size}, 3)")
        if len(pixels) != self._batch:
            self._interpreter.resize_tensor_input(self._input_index, pixels.shape)
            self._interpreter.allocate_tensors()
            self._batch = len(pixels)
        self._interpreter.set_tensor(self._input_index, pixels)
        self._interpreter.invoke()
        values = []
        for index, (scale, zero_point) in self._outputs:  # (0, 0) if float
            raw = self._interpreter.get_tensor(index)
            values.append((raw.astype(np.float32) - zero_point) * scale if scale else raw)
        scores = np.clip(values[0].astype(np.float32), 0.0, 1.0)
        return scores, (values[1].astype(np.float32) if len(values) > 1 else None)

    def face_signals(self, letterboxed: np.ndarray) -> np.ndarray:
        """(N, s, s, 3) uint8 letterboxed images -> (N, len(FACE_SIGNALS)); (N, 0) without
        a face detector."""
        if self.face_detector is None:
            return np.zeros((len(letterboxed), 0), dtype=np.float32)
        return np.stack([self.face_detector.signals(x) for x in letterboxed]).reshape(
            len(letterboxed), len(FACE_SIGNALS)
        )

    def predict_arrays(
        self, pixels: np.ndarray, letterboxed: np.ndarray | None = None
    ) -> np.ndarray:
        """(N, size, size, 3) uint8 -> (N, n_labels) scores in [0, 1], hierarchy enforced.

        A model with a face detector also needs the letterboxed copies (`prepare`)."""
        return self._scores_and_inputs(pixels, letterboxed)[0]

    def _scores_and_inputs(
        self, pixels: np.ndarray, letterboxed: np.ndarray | None
    ) -> tuple[np.ndarray, list[HeadInputs] | None]:
        """`predict_arrays`' scores, and per image the head's inputs (None: no head)."""
        if len(pixels) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32), None
        scores, features = self.graph_outputs(pixels)
        inputs = None
        if self.head is not None:
            if self.face_detector is not None and letterboxed is None:
                raise ValueError("this model also reads the letterboxed image (see prepare)")
            face = self.face_signals(letterboxed if letterboxed is not None else pixels)
            inputs = [HeadInputs(*row) for row in zip(scores, features, face, strict=True)]
            scores = self.head.scores(scores, features, face)
        return max_constraint(np.clip(scores, 0.0, 1.0), self.taxonomy), inputs

    def prepare(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        """One decoded image -> (graph input, detector input or None): one preprocessing
        path per input size, shared by training and serving."""
        pixels = resize_center_crop(image, self.card.input_size)
        if self.face_detector is None:
            return pixels, None
        return pixels, letterbox(image, self.face_detector.spec.input_size)

    def predict_bytes(
        self,
        images: Sequence[bytes],
        operating_point: str | None = None,
        threshold: float | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> list[Prediction | ImageError]:
        """Encoded images -> one Prediction or ImageError each, in input order.

        A bad image becomes its error value; the others are still predicted (in one batch).
        Each image is decoded once (`decode_image`), then prepared at each input size.
        """
        decoded: list[Image.Image | ImageError] = []
        decode_ms = []
        for data in images:
            start = time.perf_counter()
            try:
                decoded.append(
                    decode_image(data, max_pixels=max_pixels, min_size=max(self.input_sizes))
                )
            except ImageError as err:
                decoded.append(err)
            decode_ms.append((time.perf_counter() - start) * 1000)
        return self.predict_images(decoded, operating_point, threshold, decode_ms)

    def predict_images(
        self,
        images: Sequence[Image.Image | ImageError],
        operating_point: str | None = None,
        threshold: float | None = None,
        decode_ms: Sequence[float] | None = None,
        return_inputs: bool = False,
    ) -> list[Prediction | ImageError]:
        """Decoded RGB images (from `decode_image`) -> one Prediction each, in input order;
        an ImageError in the input is passed through, so a caller that decodes once for
        other uses too can hand its results over as they are. With `return_inputs`, each
        Prediction also carries the head's inputs (`head_inputs`; None without a head),
        computed by the same inference."""
        thresholds = self.thresholds(operating_point, threshold)
        results: list[Prediction | ImageError | None] = [None] * len(images)
        arrays, boxed, positions, prepare_ms = [], [], [], []
        for i, image in enumerate(images):
            if isinstance(image, ImageError):
                results[i] = image
                continue
            start = time.perf_counter()
            pixels, letterboxed = self.prepare(image)
            arrays.append(pixels)
            boxed.append(letterboxed)
            positions.append(i)
            extra = decode_ms[i] if decode_ms else 0.0
            prepare_ms.append((time.perf_counter() - start) * 1000 + extra)
        if arrays:
            start = time.perf_counter()
            scores, inputs = self._scores_and_inputs(
                np.stack(arrays), np.stack(boxed) if self.face_detector else None
            )
            infer_ms = (time.perf_counter() - start) * 1000 / len(arrays)
            for n, (i, row, ms) in enumerate(zip(positions, scores, prepare_ms, strict=True)):
                results[i] = Prediction(
                    model_name=self.name,
                    model_version=self.version,
                    predictions=predicted_labels(row, self.taxonomy, thresholds),
                    probabilities=dict(zip(self.labels, map(float, row), strict=True)),
                    timings_ms={"preprocess": round(ms, 2), "inference": round(infer_ms, 2)},
                    head_inputs=inputs[n] if return_inputs and inputs else None,
                )
        return results  # type: ignore[return-value]

"""The model artifact: a directory holding `model.tflite` and `model.json`.

`model.json` carries everything needed to use and judge a model without TensorFlow:
identity, taxonomy version and output labels in column order, the hierarchy, input
size and preprocessing, quantization, per-label operating points (thresholds live with
the model, ORES-style, not in code), metrics with the data they were measured on, and
provenance. Training writes it; the classifier refuses a directory that does not
match its taxonomy.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifier.taxonomy import (
    Taxonomy,
    TaxonomyError,
    load_taxonomy,
    taxonomy_from_dict,
    taxonomy_to_dict,
)

FORMAT_VERSION = 2
# Format 1 (models 1.x and 2.x): one graph, one output. Format 2 adds the files' checksums,
# the detectors and the learned head that run beside the graph; format 1 still loads.
READABLE_FORMATS = (1, 2)
MODEL_FILE = "model.tflite"
CARD_FILE = "model.json"
DEFAULT_MODEL_DIR = Path(__file__).with_name("default_model")


class ModelArtifactError(ValueError):
    """A model directory is missing files or its model.json is invalid."""


@dataclass(frozen=True)
class OperatingPoint:
    """Named per-label thresholds; a label with None has no valid point and is never predicted."""

    name: str
    method: str
    thresholds: dict[str, float | None]


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    taxonomy_version: str
    labels: tuple[str, ...]
    input_size: int
    operating_points: dict[str, OperatingPoint]
    default_operating_point: str
    preprocessing: str = ""
    quantization: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    limitations: tuple[str, ...] = ()
    # A taxonomy that does not ship with the classifier (a demonstration data set's
    # classes) travels inside model.json; project models name a shipped version only.
    embedded_taxonomy: Taxonomy | None = None
    # Format 2: {file name: {"sha256", "bytes"}} for every file the model reads, checked
    # on load; the detectors beside the graph ({"face": FaceDetectorSpec JSON}); the
    # learned head on the graph's outputs and the detectors' signals (classifier.head).
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    head: dict[str, Any] = field(default_factory=dict)

    @property
    def taxonomy(self) -> Taxonomy:
        if self.embedded_taxonomy is not None:
            return self.embedded_taxonomy
        return load_taxonomy(self.taxonomy_version)

    def to_json(self) -> dict[str, Any]:
        taxonomy = self.taxonomy
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "taxonomy_version": self.taxonomy_version,
            "labels": list(self.labels),
            "hierarchy": {label: taxonomy.parent(label) for label in self.labels},
            "input": {"size": self.input_size, "channels": 3, "dtype": "uint8",
                      "preprocessing": self.preprocessing},
            "quantization": self.quantization,
            "operating_points": {
                p.name: {"method": p.method, "thresholds": p.thresholds}
                for p in self.operating_points.values()
            },
            "default_operating_point": self.default_operating_point,
            "metrics": self.metrics,
            "provenance": self.provenance,
            "limitations": list(self.limitations),
            **({"files": self.files} if self.files else {}),
            **({"detectors": self.detectors} if self.detectors else {}),
            **({"head": self.head} if self.head else {}),
            **(
                {"taxonomy": taxonomy_to_dict(self.embedded_taxonomy)}
                if self.embedded_taxonomy is not None
                else {}
            ),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "model.json") -> ModelCard:
        try:
            if data.get("format_version") not in READABLE_FORMATS:
                raise ModelArtifactError(
                    f"{source}: format_version {data.get('format_version')!r}, "
                    f"this classifier reads {', '.join(map(str, READABLE_FORMATS))}"
                )
            points = {
                name: OperatingPoint(name, p["method"], dict(p["thresholds"]))
                for name, p in data["operating_points"].items()
            }
            card = cls(
                name=data["name"],
                version=data["version"],
                taxonomy_version=data["taxonomy_version"],
                labels=tuple(data["labels"]),
                input_size=int(data["input"]["size"]),
                preprocessing=data["input"].get("preprocessing", ""),
                operating_points=points,
                default_operating_point=data["default_operating_point"],
                quantization=data.get("quantization", {}),
                metrics=data.get("metrics", {}),
                provenance=data.get("provenance", {}),
                limitations=tuple(data.get("limitations", ())),
                files=dict(data.get("files", {})),
                detectors=dict(data.get("detectors", {})),
                head=dict(data.get("head", {})),
                embedded_taxonomy=(
                    taxonomy_from_dict(data["taxonomy"], f"{source}: taxonomy")
                    if "taxonomy" in data
                    else None
                ),
            )
        except ModelArtifactError:
            raise
        except TaxonomyError as err:  # an embedded taxonomy that does not parse
            raise ModelArtifactError(str(err)) from None
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise ModelArtifactError(f"{source}: missing or malformed field {err}") from None
        card.validate(source)
        return card

    def validate(self, source: str = "model.json") -> None:
        """Labels must be the taxonomy's, thresholds in (0, 1) or None, points complete."""
        try:
            taxonomy = self.taxonomy
            if taxonomy.version != self.taxonomy_version:
                raise TaxonomyError(
                    f"embedded taxonomy is v{taxonomy.version}, "
                    f"taxonomy_version says {self.taxonomy_version}"
                )
            taxonomy.check_labels(self.labels)
        except TaxonomyError as err:
            raise ModelArtifactError(f"{source}: {err}") from None
        if self.default_operating_point not in self.operating_points:
            raise ModelArtifactError(
                f"{source}: default operating point {self.default_operating_point!r} is not defined"
            )
        for point in self.operating_points.values():
            if set(point.thresholds) != set(self.labels):
                raise ModelArtifactError(
                    f"{source}: operating point {point.name!r} must give every label a threshold"
                    " (null for none)"
                )
            for label, t in point.thresholds.items():
                if t is not None and (
                    isinstance(t, bool)
                    or not isinstance(t, (int, float))
                    or not (0.0 < t < 1.0 and math.isfinite(t))
                ):
                    raise ModelArtifactError(
                        f"{source}: threshold {t} for {label!r} in {point.name!r} is outside (0, 1)"
                        " (0 would predict the label for every image)"
                    )


def read_card(model_dir: str | Path) -> ModelCard:
    model_dir = Path(model_dir)
    card_path, model_path = model_dir / CARD_FILE, model_dir / MODEL_FILE
    for path in (card_path, model_path):
        if not path.is_file():
            raise ModelArtifactError(f"{model_dir} is not a model directory: {path.name} missing")
    try:
        data = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelArtifactError(f"{card_path}: not valid JSON: {err}") from None
    return ModelCard.from_json(data, source=str(card_path))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_files(model_dir: Path, card: ModelCard) -> None:
    """Every file model.json lists is present with its recorded sha256: a damaged or
    swapped file is an error naming it, never a wrong prediction."""
    for name, record in card.files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelArtifactError(f"{path}: missing (model.json lists it)")
        digest = file_sha256(path)
        if digest != record.get("sha256"):
            raise ModelArtifactError(
                f"{path}: sha256 {digest[:12]}... differs from the recorded "
                f"{str(record.get('sha256'))[:12]}... (damaged or replaced file)"
            )


def write_card(card: ModelCard, model_dir: str | Path) -> Path:
    card.validate()
    path = Path(model_dir) / CARD_FILE
    text = json.dumps(card.to_json(), indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path

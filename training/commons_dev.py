"""The people-labelled Commons images (`commons-dev`) and how every figure on them is made.

The folder (default `../shared/data/commons-dev`, beside the checkout; never copied into
the repository: the images are other people's works under various licences) holds
`labels.csv` (file, labels closed under ancestors, what the labeller saw) and the image
tiles. It is the only real labelled Commons data here, so it is used twice, as training
data and as the judge; every figure from it is therefore cross-validated (repeated
k-fold, each image scored by a model and thresholds fitted without it), and the scoring
rules live here once for the build and the evaluation command alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.taxonomy import Taxonomy
from training.metrics import close_predictions, label_metrics

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "commons-dev"
MIN_SUPPORT = 5  # micro and macro averages count labels with at least this many positives


class CommonsDevMissing(FileNotFoundError):
    """The folder is absent (a clone without ../shared): callers skip, they do not fail."""


@dataclass(frozen=True)
class CommonsDev:
    folder: Path
    table: pd.DataFrame  # file (relative to folder), labels (tuple), what_it_shows

    def targets(self, taxonomy: Taxonomy) -> np.ndarray:
        """(N, n_labels) 0/1, closed under ancestors (the file already is; closing again
        guards against a hand-edited row)."""
        y = np.zeros((len(self.table), len(taxonomy.labels)), dtype=bool)
        for row, labels in enumerate(self.table["labels"]):
            for label in labels:
                y[row, taxonomy.index(label)] = True
        return close_predictions(y, taxonomy).astype(np.float32)

    def image_bytes(self) -> list[bytes]:
        return [(self.folder / name).read_bytes() for name in self.table["file"]]


def load(folder: Path | str | None = None, taxonomy: Taxonomy | None = None) -> CommonsDev:
    """Read labels.csv; unknown labels are an error naming the file's row."""
    folder = Path(folder) if folder is not None else DEFAULT_DIR
    csv = folder / "labels.csv"
    if not csv.is_file():
        raise CommonsDevMissing(f"{csv}: not found (the commons-dev folder is not here)")
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    missing = {"file", "labels"} - set(table.columns)
    if missing:
        raise ValueError(f"{csv}: missing columns {sorted(missing)}")
    table["labels"] = [tuple(x for x in s.split(";") if x) for s in table["labels"]]
    if taxonomy is not None:
        for row, labels in enumerate(table["labels"], start=2):
            unknown = [x for x in labels if x not in taxonomy.labels]
            if unknown:
                raise ValueError(f"{csv}:{row}: labels not in taxonomy v{taxonomy.version}: "
                                 f"{unknown}")
    absent = [name for name in table["file"] if not (folder / name).is_file()]
    if absent:
        raise FileNotFoundError(f"{folder}: {len(absent)} images listed but missing, "
                                f"e.g. {absent[0]}")
    return CommonsDev(folder, table)


def scored(targets: np.ndarray, predicted: np.ndarray, scores: np.ndarray,
           taxonomy: Taxonomy) -> dict:
    """Per-label precision/recall/F1 with support, and micro/macro F1 over labels with at
    least MIN_SUPPORT positives. `predicted` must already be closed under ancestors."""
    per_label = label_metrics(targets, scores, predicted, taxonomy.labels)
    counted = [i for i, label in enumerate(taxonomy.labels)
               if per_label[label]["support"] >= MIN_SUPPORT]
    y, p = targets[:, counted].astype(bool), predicted[:, counted].astype(bool)
    tp, fp, fn = (y & p).sum(), (~y & p).sum(), (y & ~p).sum()
    micro = float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0
    macro = float(np.mean([per_label[taxonomy.labels[i]]["f1"] for i in counted]))
    return {
        "micro_f1": round(micro, 4),
        "macro_f1": round(macro, 4),
        "micro_precision": round(float(tp / max(tp + fp, 1)), 4),
        "micro_recall": round(float(tp / max(tp + fn, 1)), 4),
        "labels_counted": [taxonomy.labels[i] for i in counted],
        "per_label": {
            label: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()
                    if k in ("support", "precision", "recall", "f1")}
            | {"predicted": int(predicted[:, i].sum())}
            for i, (label, m) in enumerate(per_label.items())
        },
    }


def confusions(targets: np.ndarray, predicted: np.ndarray, table: pd.DataFrame,
               taxonomy: Taxonomy, labels: list[str], examples: int = 3) -> dict:
    """For each named label: what its false positives really were, and what its missed
    images were called instead (most frequent first, with a few examples)."""
    out = {}
    what = table.get("what_it_shows", pd.Series([""] * len(table)))
    for label in labels:
        j = taxonomy.index(label)
        fp = np.flatnonzero(predicted[:, j] & ~targets[:, j].astype(bool))
        fn = np.flatnonzero(~predicted[:, j] & targets[:, j].astype(bool))
        out[label] = {
            "false_positives_were": _leaf_counts(targets[fp], taxonomy),
            "misses_called": _leaf_counts(predicted[fn], taxonomy),
            "false_positive_examples": [str(what.iloc[i]) for i in fp[:examples]],
            "missed_examples": [str(what.iloc[i]) for i in fn[:examples]],
        }
    return out


def _leaf_counts(rows: np.ndarray, taxonomy: Taxonomy) -> dict[str, int]:
    """How often each most specific label appears in these rows (a parent only when
    none of its children does), most frequent first."""
    counts: dict[str, int] = {}
    parents = taxonomy.parent_indices
    for row in rows.astype(bool):
        covered = {parents[i] for i in np.flatnonzero(row) if parents[i] >= 0}
        for i in np.flatnonzero(row):
            if i not in covered:
                counts[taxonomy.labels[i]] = counts.get(taxonomy.labels[i], 0) + 1
        if not row.any():
            counts["(nothing)"] = counts.get("(nothing)", 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

"""The dataset table, its checks, and seeded train/validation/test splits.

One documented format, CSV or Parquet, one row per image:

- `image` (required): a local path (absolute, or relative to the table's folder), a
  `file://` URL, or an http(s) URL of a thumbnail, fetched once into the cache folder.
- `labels`: taxonomy labels separated by `|` (a list column in Parquet works too);
  ancestors may be left out, they are added.
- `categories`: Commons category titles without "Category:", separated by `|` (a title
  cannot contain `|`), used for rows without `labels`: the labels then come from
  `classifier.category_heuristic`, the same walk the bot uses.
- any other column (`title`, `license`, ...) is carried through.

`build_table` checks every row (unknown labels, missing or unreadable files), hashes the
bytes, closes labels under ancestors and assigns splits. The research split at random
without a seed and measured its "best" result on the training set; here a split is a
pure function of (content hashes, labels, seed): rows with the same bytes share one
split, and the rarest labels are placed first so that each appears in every split.
"""

from __future__ import annotations

import hashlib
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from classifier.taxonomy import Taxonomy

SEPARATOR = "|"
SPLITS = ("train", "validation", "test")
MAX_DOWNLOAD_BYTES = 20_000_000
USER_AGENT = "commons-topic-bot-training/0.1 (dataset builder)"


class DatasetError(ValueError):
    """The table cannot be used: wrong columns, or too many rows fail their checks."""


@dataclass(frozen=True)
class Problem:
    row: int
    kind: str  # unknown_label, missing_file, download_failed, no_labels_source
    detail: str


@dataclass
class BuildReport:
    rows_in: int = 0
    rows_out: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicate_groups: int = 0
    duplicate_rows: int = 0
    unlabelled_rows: int = 0
    labels_from_categories: int = 0
    split_rows: dict[str, int] = field(default_factory=dict)
    labels_missing_from_a_split: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict:
        kinds: dict[str, int] = {}
        for p in self.problems:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped_by_kind": kinds,
            "first_problems": [vars(p) for p in self.problems[:20]],
            "duplicate_groups": self.duplicate_groups,
            "duplicate_rows": self.duplicate_rows,
            "unlabelled_rows": self.unlabelled_rows,
            "labels_from_categories": self.labels_from_categories,
            "split_rows": self.split_rows,
            "labels_missing_from_a_split": self.labels_missing_from_a_split,
        }


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    raise DatasetError(f"{path}: the dataset table must be .csv or .parquet")


def split_field(value: object) -> tuple[str, ...]:
    """A `|`-joined cell, a list cell, or an empty cell -> its items."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(x.strip() for x in value.split(SEPARATOR) if x.strip())
    return tuple(str(x) for x in value)


def resolve_image(reference: str, base: Path, cache: Path | None) -> Path:
    """A table's image reference -> a local file, downloading http(s) URLs once."""
    parsed = urllib.parse.urlparse(reference)
    if parsed.scheme in ("http", "https"):
        if cache is None:
            raise FileNotFoundError(f"{reference}: URLs need a cache folder to download into")
        target = cache / "downloads" / hashlib.sha1(reference.encode()).hexdigest()
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            request = urllib.request.Request(reference, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=30) as response:
                data = response.read(MAX_DOWNLOAD_BYTES + 1)
            if len(data) > MAX_DOWNLOAD_BYTES:
                raise OSError(f"{reference}: more than {MAX_DOWNLOAD_BYTES:,} bytes")
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(target)  # never leave a half-written file under the final name
        return target
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    path = Path(reference)
    return path if path.is_absolute() else base / path


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_table(
    table: pd.DataFrame,
    taxonomy: Taxonomy,
    base: Path,
    seed: int,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    label_categories: Callable[[tuple[str, ...]], tuple[str, ...]] | None = None,
    cache: Path | None = None,
    max_invalid_share: float = 0.01,
) -> tuple[pd.DataFrame, BuildReport]:
    """Check, hash, label and split a dataset table.

    Returns the built table (input columns, `image` resolved to a local path, `sha256`,
    `labels` closed under ancestors and `|`-joined, `split`) and a report. Rows that fail
    a check are dropped and reported; more than `max_invalid_share` of them is an error.
    `label_categories` maps a row's categories to labels (the category heuristic).
    """
    if "image" not in table.columns:
        raise DatasetError("the dataset table needs an 'image' column")
    if "labels" not in table.columns and "categories" not in table.columns:
        raise DatasetError("the dataset table needs a 'labels' or a 'categories' column")
    report = BuildReport(rows_in=len(table))
    known = set(taxonomy.labels)
    keep, images, hashes, labels = [], [], [], []
    for i, row in enumerate(tqdm(table.to_dict("records"), desc="checking rows", unit="row")):
        given = split_field(row.get("labels"))
        if not given and split_field(row.get("categories")):
            if label_categories is None:
                report.problems.append(
                    Problem(i, "no_labels_source", "categories given but no category graph")
                )
                continue
            given = label_categories(split_field(row["categories"]))
            report.labels_from_categories += 1
        unknown = [x for x in given if x not in known]
        if unknown:
            report.problems.append(Problem(i, "unknown_label", ", ".join(unknown)))
            continue
        try:
            path = resolve_image(str(row["image"]), base, cache)
            digest = file_sha256(path)
        except (OSError, ValueError) as err:
            kind = "missing_file" if isinstance(err, FileNotFoundError) else "download_failed"
            report.problems.append(Problem(i, kind, str(err)))
            continue
        keep.append(i)
        images.append(str(path))
        hashes.append(digest)
        closed = taxonomy.close_under_ancestors(given)
        report.unlabelled_rows += not closed
        labels.append(SEPARATOR.join(closed))
    if len(table) and len(report.problems) / len(table) > max_invalid_share:
        raise DatasetError(
            f"{len(report.problems)} of {len(table)} rows fail their checks "
            f"(more than {max_invalid_share:.0%}); first: {report.problems[:5]}"
        )
    built = table.iloc[keep].reset_index(drop=True).copy()
    built["image"] = images
    built["sha256"] = hashes
    built["labels"] = labels
    counts = built.groupby("sha256").size()
    report.duplicate_groups = int((counts > 1).sum())
    report.duplicate_rows = int(counts[counts > 1].sum())
    built["split"] = assign_splits(hashes, [split_field(x) for x in labels], seed, fractions)
    report.rows_out = len(built)
    report.split_rows = {s: int((built["split"] == s).sum()) for s in SPLITS}
    report.labels_missing_from_a_split = missing_labels(built, taxonomy)
    return built, report


def assign_splits(
    hashes: Sequence[str],
    labels: Sequence[Iterable[str]],
    seed: int,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
) -> list[str]:
    """Seeded, order-independent multi-label stratified splits over content-hash groups.

    Iterative stratification (Sechidis et al., 2011) on groups of identical bytes: labels
    are taken from the rarest up, and each unplaced group holding the label goes to the
    split that lacks the label entirely, else to the split furthest below its share of
    that label, else of rows. A label with at least three groups thus reaches all three
    splits. The groups are sorted by hash before the seeded shuffle, so the result does
    not depend on the table's row order.
    """
    if len(fractions) != len(SPLITS) or abs(sum(fractions) - 1) > 1e-6:
        raise DatasetError(f"split fractions must be three numbers summing to 1: {fractions}")
    group_labels: dict[str, set[str]] = {}
    group_rows: dict[str, int] = {}
    for digest, row_labels in zip(hashes, labels, strict=True):
        group_labels.setdefault(digest, set()).update(row_labels)
        group_rows[digest] = group_rows.get(digest, 0) + 1
    order = sorted(group_labels)
    np.random.default_rng(seed).shuffle(order)
    fraction = np.asarray(fractions, dtype=float)
    label_total: dict[str, int] = {}
    for digest in order:
        for label in group_labels[digest]:
            label_total[label] = label_total.get(label, 0) + group_rows[digest]
    label_have = {label: np.zeros(len(SPLITS)) for label in label_total}
    rows_have = np.zeros(len(SPLITS))
    total_rows = float(sum(group_rows.values()))
    placed: dict[str, int] = {}

    def place(digest: str, label: str | None) -> None:
        row_deficit = fraction * total_rows - rows_have
        if label is None:
            split = int(np.argmax(row_deficit))
        else:
            have = label_have[label]
            deficit = fraction * label_total[label] - have
            # lexsort's last key is the first: a split without the label, then the
            # label's deficit, then the rows' deficit.
            split = int(np.lexsort((-row_deficit, -deficit, have > 0))[0])
        placed[digest] = split
        rows_have[split] += group_rows[digest]
        for other in group_labels[digest]:
            label_have[other][split] += group_rows[digest]

    for label in sorted(label_total, key=lambda x: (label_total[x], x)):
        for digest in order:
            if digest not in placed and label in group_labels[digest]:
                place(digest, label)
    for digest in order:  # rows without labels
        if digest not in placed:
            place(digest, None)
    return [SPLITS[placed[d]] for d in hashes]


def missing_labels(built: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, list[str]]:
    """Split -> labels present in the table but absent from that split."""
    present = {s: set() for s in SPLITS}
    for split, value in zip(built["split"], built["labels"], strict=True):
        present[split].update(split_field(value))
    everywhere = set().union(*present.values())
    return {
        s: [x for x in taxonomy.labels if x in everywhere and x not in present[s]]
        for s in SPLITS
        if everywhere - present[s]
    }


def label_matrix(labels: Iterable[object], taxonomy: Taxonomy) -> np.ndarray:
    """`|`-joined label cells -> multi-hot float32 (N, n_labels) in taxonomy order."""
    index = {x: i for i, x in enumerate(taxonomy.labels)}
    rows = [split_field(v) for v in labels]
    out = np.zeros((len(rows), len(index)), dtype=np.float32)
    for r, row in enumerate(rows):
        out[r, [index[x] for x in row]] = 1.0
    return out

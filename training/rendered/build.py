"""Build the rendered-material dataset table: flags, logos, maps, molecules, diagrams,
formulas, and real photos as negatives.

    python -m training.rendered.build --install              # npm packages into var/npm
    python -m training.rendered.build --out var/rendered     # -> var/rendered/table.parquet

Deterministic: each image's generator is seeded from (seed, source item, rendering
number), so the table is the same whatever the number of worker processes. The
split is by source item (`training.dataset.assign_splits` over source keys instead of
content hashes): no flag, brand, map region, molecule, formula or photo has renderings
in two splits. Photos (`training.sample_images.package_photos`, minus the logos among
them, which are kept for the real-logo check) and every other kind's renderings are the
negatives of each label.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from training.dataset import SEPARATOR, SPLITS, assign_splits
from training.rendered import (
    augment,
    chemistry,
    diagrams,
    flags,
    formulas,
    logos,
    maps,
    negatives,
    npm,
)
from training.rendered.item import Item

RENDERERS = {
    "flag": flags.render,
    "logo": logos.render,
    "map": maps.render,
    "molecule": chemistry.render,
    "diagram": diagrams.render,
    "formula": formulas.render,
}
PHOTO_LICENCE = "as shipped by the package (scikit-image, scikit-learn, matplotlib, opencv-doc)"
FRACTIONS = (0.7, 0.15, 0.15)


def is_real_logo(photo_name: str) -> bool:
    """Package images that are logos, not photos: the real-logo check, never negatives."""
    return "logo" in photo_name.lower()


def item_rng(seed: int, source: str, k: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}/{source}/{k}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def select_items(images_per_kind: int, seed: int) -> dict[str, tuple[list[Item], int]]:
    """Kind -> (items, renderings per item): as many distinct items as there are, up to
    half the images, so that most variety comes from different items, not augmentations."""
    available = {
        "flag": flags.items(),
        "logo": logos.items(),
        "map": maps.items(),
        "molecule": chemistry.items(),
        "diagram": diagrams.items(images_per_kind // 2),
        "formula": formulas.items(images_per_kind // 2),
    }
    out = {}
    for kind, found in available.items():
        n = min(len(found), max(1, images_per_kind // 2))
        chosen = [found[i] for i in sorted(np.random.default_rng(seed).permutation(len(found))[:n])]
        out[kind] = (chosen, int(np.ceil(images_per_kind / n)))
    return out


def _render_one(task: tuple[Item, int, int, str]) -> dict:
    item, k, seed, out = task
    rng = item_rng(seed, item.source, k)
    data, ext = augment.thumbnail(RENDERERS[item.kind](item, rng), rng)
    return _write(item, k, data, ext, Path(out))


def _write(item: Item, k: int, data: bytes, ext: str, out: Path) -> dict:
    name = hashlib.sha1(item.source.encode()).hexdigest()[:12]
    relative = Path("images") / item.kind / f"{name}-{k}.{ext}"
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    (out / relative).write_bytes(data)
    return {
        "image": str(relative),
        "labels": SEPARATOR.join(item.labels),
        "kind": item.kind,
        "source": item.source,
        "licence": item.licence,
        "rendering": k,
    }


def photo_rows(out: Path, variants_per_photo: int, seed: int) -> list[dict]:
    """Real package photos and seeded realistic variants of them: the photo negatives."""
    from training.sample_images import package_photos, variant

    rows = []
    photos = {n: b for n, b in package_photos().items() if not is_real_logo(n)}
    for name, data in sorted(photos.items()):
        item = Item("photo", f"photo/{name}", (), PHOTO_LICENCE)
        rows.append(_write(item, 0, data, "png" if data.startswith(b"\x89PNG") else "jpg", out))
        for k in range(1, variants_per_photo + 1):
            rows.append(_write(item, k, variant(data, item_rng(seed, item.source, k)), "jpg", out))
    return rows


def summarize(table: pd.DataFrame, **settings) -> dict:
    return {
        "images": len(table),
        **settings,
        "split_by": "source item",
        "rows": {
            k: dict(Counter(table.loc[table["kind"] == k, "split"]))
            for k in sorted(table["kind"].unique())
        },
        "source_items": {
            k: {
                s: int(table[(table["kind"] == k) & (table["split"] == s)]["source"].nunique())
                for s in SPLITS
            }
            for k in sorted(table["kind"].unique())
        },
        "licences": dict(Counter(table.drop_duplicates("source")["licence"])),
    }


def add_negatives(
    out: Path, sources: list[str], per_source: int, variants_per_item: int, seed: int
) -> pd.DataFrame:
    """Append real-photo negatives (`training.rendered.negatives`) to the table in `out`.

    Their splits are assigned by source item among themselves, so every row already in
    the table keeps its split (the package photos' split does not move). Rows of the
    same kinds from an earlier call are replaced."""
    from training.sample_images import variant

    table = pd.read_parquet(out / "table.parquet")
    kinds = {negatives.KINDS[s] for s in sources}
    table = table[~table["kind"].isin(kinds)].reset_index(drop=True)
    rows = []
    for source in sources:
        for name, array in negatives.items(source, per_source, seed):
            item = Item(negatives.KINDS[source], name, (), negatives.LICENCES[source])
            data = negatives._upscaled_png(array, item_rng(seed, name, 0))
            rows.append(_write(item, 0, data, "png", out))
            for k in range(1, variants_per_item + 1):
                rows.append(_write(item, k, variant(data, item_rng(seed, name, k)), "jpg", out))
    extra = pd.DataFrame(rows)
    extra["split"] = assign_splits(
        list(extra["source"]), [[k] for k in extra["kind"]], seed, FRACTIONS
    )
    table = pd.concat([table, extra], ignore_index=True)
    table.to_parquet(out / "table.parquet", index=False)
    summary = json.loads((out / "dataset.json").read_text())
    settings = {
        k: v
        for k, v in summary.items()
        if k not in ("images", "split_by", "rows", "source_items", "licences")
    }
    settings["extra_negatives"] = {
        "sources": list(sources),
        "items_per_source": per_source,
        "variants_per_item": variants_per_item,
        "split": "by source item, among themselves (earlier rows keep their splits)",
    }
    (out / "dataset.json").write_text(
        json.dumps(summarize(table, **settings), indent=2), encoding="utf-8"
    )
    return table


def build(
    out: Path,
    images_per_kind: int,
    photo_variants: int,
    seed: int,
    jobs: int,
    prefix: Path = npm.DEFAULT_PREFIX,
    extra_negatives: tuple[str, ...] = (),
    negatives_per_source: int = 1000,
    negative_variants: int = 1,
) -> pd.DataFrame:
    """Render everything into `out/images/`, write `out/table.parquet` and `out/dataset.json`."""
    out.mkdir(parents=True, exist_ok=True)
    chosen = select_items(images_per_kind, seed)
    tasks = [
        (item, k, seed, str(out))
        for items, renders in chosen.values()
        for item in items
        for k in range(renders)
    ]
    with Pool(jobs) as pool:
        rows = list(
            tqdm(
                pool.imap(_render_one, tasks, chunksize=16),
                total=len(tasks),
                desc="rendering",
                unit="img",
            )
        )
    rows += photo_rows(out, photo_variants, seed)
    table = pd.DataFrame(rows)
    # Stratified by kind (flags and maps share a label but are different pictures).
    table["split"] = assign_splits(
        list(table["source"]), [[k] for k in table["kind"]], seed, FRACTIONS
    )
    table.to_parquet(out / "table.parquet", index=False)
    summary = summarize(
        table, seed=seed, images_per_kind=images_per_kind, photo_variants=photo_variants
    )
    (out / "dataset.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if extra_negatives:
        table = add_negatives(
            out, list(extra_negatives), negatives_per_source, negative_variants, seed
        )
    return table


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The data set's size and negatives, declared once for every command that builds it."""
    parser.add_argument(
        "--images-per-kind",
        type=int,
        default=1000,
        help="renderings per kind of picture (default: %(default)s)",
    )
    parser.add_argument(
        "--photo-variants",
        type=int,
        default=10,
        help="seeded variants per package photo (default: %(default)s)",
    )
    parser.add_argument(
        "--extra-negatives",
        nargs="*",
        default=["fashion-mnist", "silhouettes"],
        choices=negatives.SOURCES,
        help="more real-photo negatives for the learned labels (training.rendered.negatives; "
        "default: %(default)s; give the option alone for none)",
    )
    parser.add_argument(
        "--negatives-per-source",
        type=int,
        default=1000,
        help="items per --extra-negatives source (default: %(default)s)",
    )
    parser.add_argument(
        "--negative-variants",
        type=int,
        default=1,
        help="seeded variants per extra negative item (default: %(default)s)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.rendered.build", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("var/rendered"),
        help="output folder (default: %(default)s)",
    )
    add_dataset_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--install", action="store_true", help="first install the pinned npm packages into var/npm"
    )
    args = parser.parse_args(argv)
    if args.install:
        npm.install()
    table = build(
        args.out,
        args.images_per_kind,
        args.photo_variants,
        args.seed,
        args.jobs,
        extra_negatives=tuple(args.extra_negatives),
        negatives_per_source=args.negatives_per_source,
        negative_variants=args.negative_variants,
    )
    print(json.dumps(json.loads((args.out / "dataset.json").read_text())["rows"], indent=1))
    print(f"{len(table)} images -> {args.out / 'table.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

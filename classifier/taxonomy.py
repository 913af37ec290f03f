"""The topic taxonomy, loaded from one versioned data file per version.

Model outputs, training targets, the category heuristic and the reports all derive
their label lists and hierarchy from here, so that nothing else hard-codes a label
list or an adjacency matrix (the research code's misaligned hierarchy mask was
exactly that bug).
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_VERSION = "1.4"


class TaxonomyError(ValueError):
    """A taxonomy file is malformed, or labels do not match a taxonomy."""


@dataclass(frozen=True)
class Label:
    name: str
    parent: str | None
    anchors: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    """An immutable label tree; `labels` is the fixed column order of every model."""

    version: str
    root_category: str
    entries: tuple[Label, ...]

    def __post_init__(self) -> None:
        names = [e.name for e in self.entries]
        if len(set(names)) != len(names):
            raise TaxonomyError(f"taxonomy v{self.version}: duplicate label names")
        seen: set[str] = set()
        for entry in self.entries:
            if entry.parent is not None and entry.parent not in seen:
                raise TaxonomyError(
                    f"taxonomy v{self.version}: parent {entry.parent!r} of {entry.name!r} "
                    "must be listed before it"
                )
            seen.add(entry.name)
        anchors = [a for e in self.entries for a in e.anchors]
        if len(set(anchors)) != len(anchors):
            raise TaxonomyError(f"taxonomy v{self.version}: an anchor category is used twice")

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries)

    @functools.cached_property
    def _by_name(self) -> dict[str, Label]:
        return {e.name: e for e in self.entries}

    def index(self, label: str) -> int:
        return self.labels.index(self._entry(label).name)

    def _entry(self, label: str) -> Label:
        try:
            return self._by_name[label]
        except KeyError:
            raise TaxonomyError(
                f"unknown label {label!r} in taxonomy v{self.version}"
            ) from None

    def parent(self, label: str) -> str | None:
        return self._entry(label).parent

    def anchors(self, label: str) -> tuple[str, ...]:
        return self._entry(label).anchors

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries if e.parent is None)

    def children(self, label: str) -> tuple[str, ...]:
        self._entry(label)
        return tuple(e.name for e in self.entries if e.parent == label)

    def ancestors(self, label: str) -> tuple[str, ...]:
        """Ancestors from the parent up to the root."""
        out = []
        parent = self.parent(label)
        while parent is not None:
            out.append(parent)
            parent = self.parent(parent)
        return tuple(out)

    def descendants(self, label: str) -> tuple[str, ...]:
        """All labels below `label`, in taxonomy order."""
        self._entry(label)
        return tuple(n for n in self.labels if label in self.ancestors(n))

    def is_leaf(self, label: str) -> bool:
        return not self.children(label)

    def close_under_ancestors(self, labels: Iterable[str]) -> tuple[str, ...]:
        """The labels plus all their ancestors, in taxonomy order."""
        closed: set[str] = set()
        for label in labels:
            closed.add(self._entry(label).name)
            closed.update(self.ancestors(label))
        return tuple(n for n in self.labels if n in closed)

    @functools.cached_property
    def anchor_labels(self) -> dict[str, str]:
        """Anchor category title (without "Category:") -> the label it anchors."""
        return {a: e.name for e in self.entries for a in e.anchors}

    @functools.cached_property
    def parent_indices(self) -> tuple[int, ...]:
        """Column index of each label's parent, -1 for roots (for vectorised hierarchy code)."""
        return tuple(-1 if e.parent is None else self.labels.index(e.parent) for e in self.entries)

    def check_labels(self, labels: Sequence[str]) -> None:
        """Raise unless `labels` is exactly this taxonomy's labels in its order."""
        if tuple(labels) == self.labels:
            return
        unknown = [x for x in labels if x not in self._by_name]
        missing = [x for x in self.labels if x not in labels]
        detail = []
        if unknown:
            detail.append(f"unknown {unknown}")
        if missing:
            detail.append(f"missing {missing}")
        duplicated = sorted({x for x in labels if list(labels).count(x) > 1})
        if duplicated:
            detail.append(f"duplicated {duplicated}")
        if not detail:
            detail.append("same labels in another order")
        raise TaxonomyError(
            f"labels do not match taxonomy v{self.version}: " + "; ".join(detail)
        )


def available_versions() -> tuple[str, ...]:
    files = resources.files(__package__).joinpath("taxonomies").iterdir()
    return tuple(sorted(f.name[1:-5] for f in files if f.name.endswith(".toml")))


@functools.cache
def load_taxonomy(version: str = DEFAULT_VERSION) -> Taxonomy:
    """Load a shipped taxonomy by version, such as "1.4"."""
    path = resources.files(__package__).joinpath("taxonomies", f"v{version}.toml")
    if not path.is_file():
        raise TaxonomyError(
            f"no taxonomy v{version}; available: {', '.join(available_versions())}"
        )
    taxonomy = taxonomy_from_dict(tomllib.loads(path.read_text(encoding="utf-8")), path.name)
    if taxonomy.version != version:
        raise TaxonomyError(f"{path.name} says version {taxonomy.version!r}")
    return taxonomy


def load_taxonomy_file(path: str | os.PathLike) -> Taxonomy:
    """Load a taxonomy TOML from any path, in the format of the shipped files.

    For taxonomies that are not the project's (a demonstration data set's classes), so
    that training and the model artifact still go through this one API."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise TaxonomyError(f"{path}: cannot read taxonomy: {err}") from None
    return taxonomy_from_dict(data, str(path))


def taxonomy_from_dict(data: Mapping[str, Any], source: str = "taxonomy") -> Taxonomy:
    """Build a taxonomy from parsed TOML, or from its copy embedded in a model.json."""
    try:
        entries = tuple(
            Label(
                name=str(item["name"]),
                parent=item.get("parent"),
                anchors=tuple(item.get("anchors", ())),
            )
            for item in data["label"]
        )
        return Taxonomy(
            version=str(data["version"]), root_category=str(data["root_category"]),
            entries=entries,
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise TaxonomyError(f"{source}: missing or malformed field {err}") from None


def taxonomy_to_dict(taxonomy: Taxonomy) -> dict[str, Any]:
    """The inverse of `taxonomy_from_dict`: what a model.json embeds."""
    return {
        "version": taxonomy.version,
        "root_category": taxonomy.root_category,
        "label": [
            {"name": e.name, **({"parent": e.parent} if e.parent else {}),
             "anchors": list(e.anchors)}
            for e in taxonomy.entries
        ],
    }

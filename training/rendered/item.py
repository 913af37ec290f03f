"""What every renderer yields: one source item and how to draw it.

The split is by source item (a flag, a brand, a map region, a molecule, a formula, a
generated chart), never by rendering: two renderings of the French flag in train and
test would measure memory, not recognition.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    kind: str  # flag, logo, map, molecule, diagram, formula, photo
    source: str  # the split unit, e.g. "flag-icons/fr", "nci/1234"
    labels: tuple[str, ...]  # taxonomy labels (empty: a negative for every learned label)
    licence: str
    key: str = ""  # what the renderer needs beyond `source` (a file, a SMILES, a seed)

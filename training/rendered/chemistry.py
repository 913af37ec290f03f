"""2-D structural formulas of real molecules, drawn by RDKit.

The molecules are the first 5,000 compounds of the NCI open database that ship with
RDKit (`rdkit/Data/NCI/first_5K.smi`; NCI data is a US government work), so held-out
molecules are real chemistry, not random graphs. Drawing options vary as Commons'
skeletal formulas do: black-and-white or coloured heteroatoms, line width, font size,
rotation, sometimes a caption.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from training.rendered.item import Item

LABELS = ("Chemistry",)
LICENCE = "public domain (NCI open database, US government) via PyPI rdkit (BSD-3-Clause)"
MIN_ATOMS, MAX_ATOMS = 6, 60


def _smiles_file() -> Path:
    from rdkit import RDConfig

    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def items() -> list[Item]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    out = []
    for line in _smiles_file().read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        smiles, number = parts
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or not MIN_ATOMS <= mol.GetNumHeavyAtoms() <= MAX_ATOMS:
            continue
        if "." in smiles:  # salts and mixtures: keep single structures
            continue
        out.append(Item("molecule", f"nci/{number}", LABELS, LICENCE, key=smiles))
    return out


def render(item: Item, rng: np.random.Generator) -> Image.Image:
    from rdkit import Chem
    from rdkit.Chem import rdDepictor
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(item.key)
    rdDepictor.Compute2DCoords(mol)
    width = int(rng.integers(250, 600))
    height = int(width * rng.uniform(0.6, 1.1))
    drawer = rdMolDraw2D.MolDraw2DCairo(width, height)
    options = drawer.drawOptions()
    if rng.random() < 0.5:
        options.useBWAtomPalette()
    options.bondLineWidth = float(rng.uniform(1.0, 3.5))
    options.rotate = float(rng.uniform(0, 360))
    options.minFontSize = int(rng.integers(8, 16))
    options.padding = float(rng.uniform(0.03, 0.15))
    options.clearBackground = rng.random() < 0.6
    if rng.random() < 0.15:
        options.addAtomIndices = True
    if rng.random() < 0.2:
        from rdkit.Chem.rdMolDescriptors import CalcMolFormula

        options.legendFontSize = int(rng.integers(12, 22))
        drawer.DrawMolecule(mol, legend=CalcMolFormula(mol))
    else:
        drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return Image.open(io.BytesIO(drawer.GetDrawingText())).convert("RGBA")

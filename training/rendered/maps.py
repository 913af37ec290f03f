"""Maps drawn with matplotlib from Natural Earth shapes (npm world-atlas TopoJSON).

Commons' maps are mostly locator maps (a country highlighted among grey neighbours),
political maps (each country its own colour), blank outline maps and world maps in
several projections, with or without labels. Each item is one region of focus
(a country; the world), so held-out maps show regions the model never saw.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

from training.rendered.item import Item
from training.rendered.npm import DEFAULT_PREFIX, package_dir

matplotlib.use("Agg")

LABELS = ("Maps & Flags",)
LICENCE = "public domain (Natural Earth) via npm world-atlas 2.0.2 (ISC)"
PROJECTIONS = ("plate_carree", "mercator", "sinusoidal")


@cache
def countries(prefix: Path = DEFAULT_PREFIX) -> dict[str, list[np.ndarray]]:
    """Country name -> outer rings as (n, 2) lon/lat arrays, decoded from TopoJSON."""
    path = package_dir("world-atlas", prefix) / "countries-50m.json"
    topo = json.loads(path.read_text(encoding="utf-8"))
    scale, translate = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:  # delta-encoded, quantized positions
        xy = np.cumsum(np.asarray(arc, dtype=np.float64), axis=0)
        arcs.append(xy * scale + translate)

    def ring(indices: list[int]) -> np.ndarray:
        parts = [arcs[i] if i >= 0 else arcs[~i][::-1] for i in indices]
        return np.concatenate([p[1:] if k else p for k, p in enumerate(parts)])

    out: dict[str, list[np.ndarray]] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        name = geometry.get("properties", {}).get("name")
        if not name or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        out.setdefault(name, []).extend(ring(polygon[0]) for polygon in polygons)
    return out


def items(prefix: Path = DEFAULT_PREFIX) -> list[Item]:
    out = [Item("map", "world-atlas/World", LABELS, LICENCE, key="")]
    for name, rings in sorted(countries(prefix).items()):
        lon = np.concatenate([r[:, 0] for r in rings])
        if lon.max() - lon.min() < 90:  # skip shapes across the antimeridian
            out.append(Item("map", f"world-atlas/{name}", LABELS, LICENCE, key=name))
    return out


def _project(xy: np.ndarray, projection: str) -> np.ndarray:
    lon, lat = xy[:, 0], np.clip(xy[:, 1], -85, 85)
    if projection == "mercator":
        return np.column_stack([lon, np.degrees(np.log(np.tan(np.radians(45 + lat / 2))))])
    if projection == "sinusoidal":
        return np.column_stack([lon * np.cos(np.radians(lat)), lat])
    return np.column_stack([lon, lat])


def render(item: Item, rng: np.random.Generator, prefix: Path = DEFAULT_PREFIX) -> Image.Image:
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    shapes = countries(prefix)
    projection = str(rng.choice(PROJECTIONS)) if not item.key else "plate_carree"
    if item.key and rng.random() < 0.3:
        projection = "mercator"
    style = str(rng.choice(["locator", "political", "outline", "relief"]))
    ocean = str(rng.choice(["#ffffff", "#cfe8fc", "#a6cee3", "#dfeef7"]))
    cmap = plt.get_cmap(str(rng.choice(["Pastel1", "Set3", "Pastel2", "tab20c", "Accent"])))
    fig = plt.figure(figsize=(rng.uniform(3, 6), rng.uniform(2.5, 5)), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_facecolor(ocean)
    edge = str(rng.choice(["#ffffff", "#555555", "#000000", "#999999"]))
    width = rng.uniform(0.2, 1.0)
    if item.key:
        focus = np.concatenate([_project(r, projection) for r in shapes[item.key]])
        (x0, y0), (x1, y1) = focus.min(axis=0), focus.max(axis=0)
        zoom = rng.uniform(1.3, 4.0)
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0, 1.0) * zoom / 2
        view = (cx - half, cx + half, cy - half * 0.8, cy + half * 0.8)
    else:
        view = (-180, 180, -60 if projection != "mercator" else -70, 85)
    polygons, faces = [], []
    for k, (name, rings) in enumerate(sorted(shapes.items())):
        if style == "political":
            face = cmap(k % cmap.N)
        elif style == "outline":
            face = "#ffffff"
        elif style == "relief":
            face = plt.get_cmap("YlGn")(rng.uniform(0.2, 0.6))
        else:
            face = "#d9d9d9" if ocean != "#ffffff" else "#cccccc"
        if item.key and name == item.key and style != "political":
            face = str(rng.choice(["#c12838", "#e31a1c", "#fd8d3c", "#2b8cbe", "#31a354"]))
        for ring in rings:
            xy = _project(ring, projection)
            (a, b), (c, d) = xy.min(axis=0), xy.max(axis=0)
            if c >= view[0] and a <= view[1] and d >= view[2] and b <= view[3]:
                polygons.append(xy)
                faces.append(face)
    ax.add_collection(PolyCollection(polygons, facecolors=faces, edgecolors=edge, linewidths=width))
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    if rng.random() < 0.4:
        _labels(ax, shapes, projection, rng)
    if rng.random() < 0.3:
        ax.grid(True, color="#888888", linewidth=0.3)
        ax.set_axisbelow(False)
    if rng.random() < 0.7:  # most maps have no axis ticks; some keep degrees
        ax.set_xticks([])
        ax.set_yticks([])
    fig.canvas.draw()
    image = Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    return image


def _labels(
    ax, shapes: dict[str, list[np.ndarray]], projection: str, rng: np.random.Generator
) -> None:
    """Country names at their largest ring's centre, inside the view."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    size = rng.uniform(5, 9)
    for name, rings in shapes.items():
        largest = max(rings, key=len)
        x, y = _project(largest, projection).mean(axis=0)
        if x0 < x < x1 and y0 < y < y1 and len(largest) > 30:
            ax.text(x, y, name, fontsize=size, ha="center", va="center", clip_on=True)

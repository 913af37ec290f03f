"""Map styles that Commons holds many of and the coloured locator maps do not teach:
scanned old maps, topographic sheets, road maps and weather or climate fields.

Four of the five maps among the people-labelled Commons images are of these kinds (an
old map of Egypt, an old chart of an island, a topographic sheet with a route, a road
map with a pin, a polar map of geopotential anomalies), and the model built on locator
maps alone found one of them. Each style is drawn on matplotlib axes that `maps.render`
has already framed on a region: real Natural Earth coastlines where the style has a
coast, generated terrain (smoothed noise) where it has relief, and invented place names
(random syllables), so nothing here copies a real map.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

STYLES = ("old", "topographic", "road", "field")
PAPER = ("#f3e3b8", "#ead9a8", "#efe6cf", "#e4d3a1", "#d9d4c0", "#c9d3d6")
SYLLABLES = ("ka", "ro", "ben", "dal", "mi", "tor", "ash", "el", "no", "ur", "vin", "sa",
             "gor", "ham", "ley", "ton", "wick", "berg", "au", "is", "po", "lan", "ter", "bu")
SERIF = ("DejaVu Serif", "serif")


def name(rng: np.random.Generator) -> str:
    return "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 4)))).capitalize()


def terrain(rng: np.random.Generator, view: tuple[float, float, float, float],
            n: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth random height field over the view: (x grid, y grid, heights 0..1)."""
    field = sum(gaussian_filter(rng.normal(size=(n, n)), sigma) * sigma
                for sigma in (3, 8, 20))
    field = (field - field.min()) / (np.ptp(field) + 1e-9)
    x, y = np.meshgrid(np.linspace(view[0], view[1], n), np.linspace(view[2], view[3], n))
    return x, y, field


def _polyline(rng: np.random.Generator, view, steps: int, smooth: float) -> np.ndarray:
    """A wandering line across the view (a river, a road, a route)."""
    (x0, x1, y0, y1) = view
    start = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
    heading = rng.uniform(0, 2 * np.pi)
    turns = np.cumsum(rng.normal(0, smooth, steps))
    step = max(x1 - x0, y1 - y0) / steps * rng.uniform(0.6, 1.4)
    moves = np.column_stack([np.cos(heading + turns), np.sin(heading + turns)]) * step
    return start + np.cumsum(moves, axis=0)


def _labels(ax, rng: np.random.Generator, view, count: int, size: tuple[float, float],
            color: str, italic: float) -> None:
    (x0, x1, y0, y1) = view
    for _ in range(count):
        ax.text(rng.uniform(x0, x1), rng.uniform(y0, y1), name(rng),
                fontsize=rng.uniform(*size), color=color, family=SERIF,
                style="italic" if rng.random() < italic else "normal",
                rotation=rng.choice([0, 0, 0, rng.uniform(-40, 40)]), clip_on=True)


def old(ax, rng: np.random.Generator, view, polygons: list[np.ndarray]) -> None:
    """An engraved map: paper tone, black coasts with shore lines, rivers, many small
    serif names, a graticule and a ruled border."""
    from matplotlib.collections import PolyCollection

    ax.set_facecolor(str(rng.choice(PAPER)))
    land = str(rng.choice(PAPER))
    sea = "none" if rng.random() < 0.6 else "#c8d8d0"
    ax.add_collection(PolyCollection(polygons, facecolors=land, edgecolors="#222222",
                                     linewidths=rng.uniform(0.4, 1.0)))
    for k in range(int(rng.integers(0, 4))):  # engraved shore lines off the coast
        ax.add_collection(PolyCollection(polygons, facecolors="none", edgecolors="#444444",
                                         linewidths=0.3 + k * 0.6, alpha=0.35 / (k + 1)))
    if sea != "none":
        ax.set_facecolor(sea)
    for _ in range(int(rng.integers(3, 12))):
        line = _polyline(rng, view, 60, 0.25)
        ax.plot(line[:, 0], line[:, 1], color="#333333", linewidth=rng.uniform(0.3, 0.9))
    _labels(ax, rng, view, int(rng.integers(15, 60)), (3, 7), "#1a1a1a", 0.6)
    _labels(ax, rng, view, int(rng.integers(1, 4)), (9, 14), "#1a1a1a", 0.3)
    if rng.random() < 0.7:
        ax.grid(True, color="#555555", linewidth=0.3, linestyle=str(rng.choice(["-", ":"])))
        ax.set_axisbelow(False)
    for side in ax.spines.values():
        side.set_visible(True)
        side.set_linewidth(rng.uniform(1, 3))


def topographic(ax, rng: np.random.Generator, view) -> None:
    """A topographic sheet: brown contour lines, blue streams, black roads, a red route,
    grey settlements and names."""
    ax.set_facecolor(str(rng.choice(["#f4f1e6", "#eef0e2", "#f6efdc", "#ffffff"])))
    x, y, z = terrain(rng, view)
    ax.contour(x, y, z, levels=int(rng.integers(8, 25)), colors=str(rng.choice(
        ["#b07a3c", "#a0522d", "#8c6d46"])), linewidths=rng.uniform(0.2, 0.6))
    for _ in range(int(rng.integers(3, 10))):
        line = _polyline(rng, view, 80, 0.2)
        ax.plot(line[:, 0], line[:, 1], color="#3a78c2", linewidth=rng.uniform(0.3, 0.8))
    for _ in range(int(rng.integers(5, 20))):
        line = _polyline(rng, view, 30, 0.08)
        ax.plot(line[:, 0], line[:, 1], color="#222222", linewidth=rng.uniform(0.3, 1.0))
    if rng.random() < 0.7:
        line = _polyline(rng, view, 40, 0.1)
        ax.plot(line[:, 0], line[:, 1], color="#a0141e", linewidth=rng.uniform(1.0, 2.5))
    _settlements(ax, rng, view, "#6e6e6e")
    _labels(ax, rng, view, int(rng.integers(5, 25)), (3, 6), "#222222", 0.2)


def road(ax, rng: np.random.Generator, view) -> None:
    """A road map of today: pale ground, yellow and orange highways, grey streets around
    towns, blue rivers, a pin."""
    ax.set_facecolor(str(rng.choice(["#f2efe9", "#ffffff", "#eef3e8"])))
    for _ in range(int(rng.integers(2, 6))):
        line = _polyline(rng, view, 80, 0.2)
        ax.plot(line[:, 0], line[:, 1], color="#7fb0dc", linewidth=rng.uniform(0.5, 1.5))
    for colour in ("#f9b233", "#e8832a", "#f7e26b", "#d9534f")[: int(rng.integers(1, 5))]:
        line = _polyline(rng, view, 50, 0.08)
        ax.plot(line[:, 0], line[:, 1], color="#888888", linewidth=3.2)
        ax.plot(line[:, 0], line[:, 1], color=colour, linewidth=2.2)
    _settlements(ax, rng, view, "#c9c9c9")
    x, y = rng.uniform(view[0], view[1]), rng.uniform(view[2], view[3])
    ax.plot([x], [y], marker="v", markersize=rng.uniform(6, 12), color="#d7263d")
    _labels(ax, rng, view, int(rng.integers(4, 15)), (4, 7), "#333333", 0.0)


def field(ax, rng: np.random.Generator, view, polygons: list[np.ndarray]) -> None:
    """A weather or climate map: a filled field in a diverging palette with coasts on top
    and a colour bar."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    x, y, z = terrain(rng, view, n=80)
    cmap = str(rng.choice(["PuOr_r", "RdBu_r", "coolwarm", "viridis", "BrBG", "Spectral_r"]))
    filled = ax.contourf(x, y, z, levels=int(rng.integers(8, 20)), cmap=cmap)
    if rng.random() < 0.5:
        ax.contour(x, y, z, levels=8, colors="#333333", linewidths=0.4)
    ax.add_collection(PolyCollection(polygons, facecolors="none", edgecolors="#222222",
                                     linewidths=rng.uniform(0.3, 0.8)))
    if rng.random() < 0.7:
        bar = plt.colorbar(filled, ax=ax, orientation="horizontal", fraction=0.05, pad=0.02)
        bar.ax.tick_params(labelsize=5)


def _settlements(ax, rng: np.random.Generator, view, colour: str) -> None:
    (x0, x1, y0, y1) = view
    for _ in range(int(rng.integers(2, 8))):
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        spread = (x1 - x0) * rng.uniform(0.01, 0.05)
        blocks = rng.normal(0, spread, (int(rng.integers(5, 40)), 2)) + (cx, cy)
        ax.scatter(blocks[:, 0], blocks[:, 1], s=rng.uniform(1, 6), marker="s",
                   color=colour, linewidths=0)


def draw(style: str, ax, rng: np.random.Generator, view, polygons: list[np.ndarray]) -> None:
    if style == "old":
        old(ax, rng, view, polygons)
    elif style == "topographic":
        topographic(ax, rng, view)
    elif style == "road":
        road(ax, rng, view)
    else:
        field(ax, rng, view, polygons)

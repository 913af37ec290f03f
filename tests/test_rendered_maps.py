"""The map renderer's styles, paper maps included: each draws a map, deterministically.

Skipped when the npm packages are not installed (`python -m training.rendered.build
--install` puts world-atlas into var/npm)."""

from __future__ import annotations

import numpy as np
import pytest

from training.rendered import maps, paper_maps
from training.rendered.npm import DEFAULT_PREFIX

pytestmark = pytest.mark.skipif(
    not (DEFAULT_PREFIX / "node_modules" / "world-atlas").is_dir(),
    reason="npm world-atlas not installed in var/npm",
)


def pixels(item, seed: int, style: str) -> np.ndarray:
    image = maps.render(item, np.random.default_rng(seed), style=style)
    return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("style", maps.STYLES + paper_maps.STYLES)
def test_every_style_draws_a_map_the_same_way_each_time(style):
    items = maps.items()
    for item in (items[0], items[len(items) // 2]):  # the world, and one country
        a, b = pixels(item, 3, style), pixels(item, 3, style)
        assert np.array_equal(a, b)
        assert a.shape[0] >= 200 and a.shape[1] >= 250
        assert a.std() > 10, f"{style} drew a nearly blank image"
        assert not np.array_equal(a, pixels(item, 4, style))


def test_old_maps_are_on_paper_and_fields_are_colourful():
    item = maps.items()[0]
    old = pixels(item, 1, "old").reshape(-1, 3)
    red, green, blue = old.mean(axis=0)
    assert red > blue  # paper tones: warm, or the sea's grey-green, never white
    field = pixels(item, 1, "field").reshape(-1, 3)
    assert (field.max(axis=1) - field.min(axis=1)).mean() > 40  # a filled colour field


def test_invented_names_are_not_real_ones():
    rng = np.random.default_rng(0)
    names = {paper_maps.name(rng) for _ in range(200)}
    assert len(names) > 150
    assert all(n[0].isupper() and n[1:].islower() for n in names)

"""Rendered material: the kinds of picture Commons holds millions of, drawn offline.

ImageNet classes cannot say "flag", "logo", "map", "diagram", "structural formula" or
"equation", yet those are among the most common and most visual Commons topics, and
most of them are drawings (SVG) rather than photographs. This package draws such
pictures from packages that install offline (npm flag-icons, simple-icons and
world-atlas; PyPI rdkit; matplotlib) and writes them as a dataset table
(`training.dataset` format) with each row's source item and licence.

One module per kind of picture (`flags`, `logos`, `maps`, `chemistry`, `diagrams`,
`formulas`), each offering `items()` (the distinct source items, the unit of the
train/validation/test split) and `render(item, rng)` (one drawing of it); `augment`
turns a drawing into a Commons-like thumbnail; `build` puts them together.
"""

"""The table back-end of the category graph: a heuristic-bench graph slice in memory.

The slice (`nodes.parquet`, `edges.parquet`) holds only what the research heuristic
looked at, so it must not pretend to be the whole graph: a category whose parents
were not logged, or that is not in the slice at all, is UNKNOWN (`parents=None`),
never "no parents". Only real `parent` edges are read; the logged `head_jump` edges
are the research's decisions, for checking ours, not input.

Depths come from the `depth` column (shortest path from the root over the whole
2022 graph, as the research computed it); training on a full dump can compute the
same, so the walk may use them here. Null means "not logged", kept as None.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from classifier.category_graph import UNKNOWN, CategoryInfo, InMemoryGraph


def load_bench_graph(directory: Path) -> InMemoryGraph:
    """Read a heuristic-bench directory's graph slice into an in-memory graph."""
    nodes = pd.read_parquet(directory / "nodes.parquet")
    edges = pd.read_parquet(directory / "edges.parquet")
    edges = edges[edges["kind"] == "parent"].sort_values(["child", "rank"])
    parents = edges.groupby("child", sort=False)["parent"].agg(tuple).to_dict()
    infos: dict[str, CategoryInfo] = {}
    for row in nodes.itertuples(index=False):
        if row.expanded:
            known = parents.get(row.category, ())
        elif row.not_connected or row.red_link:
            known = ()  # resolved: nothing above it reaches the root
        else:
            known = None
        infos[row.category] = CategoryInfo(
            parents=known,
            hidden=bool(row.hidden),
            exists=not row.red_link,
            depth=None if pd.isna(row.depth) else int(row.depth),
        )
    return InMemoryGraph(infos, default=UNKNOWN)

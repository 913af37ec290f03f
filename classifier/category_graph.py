"""The category graph as the topic heuristic sees it: one batched lookup.

The heuristic walks up the Commons category graph from a file's categories. It runs
on two very different back-ends: a table of the 2022 graph in memory (training,
benchmarks) and the live wiki through the API (the bot), where one request can ask
about 50 categories. So the interface is a single batched `lookup`, called once per
level of the walk with the whole frontier, and everything the heuristic needs to
know about a category (its parents, whether it is hidden, whether its page exists)
comes back in one `CategoryInfo`.

Titles are category names without the "Category:" prefix, with spaces, not
underscores.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class CategoryInfo:
    """What a back-end knows about one category.

    `parents` is None when the parents are UNKNOWN (a partial graph slice, an API
    error): that is a state of its own, distinct from "no parents" (an empty tuple),
    so that callers can report how often a result rests on missing data.

    `depth` is the length in nodes of the shortest path from the root category
    (the root has depth 1), when the back-end knows it: a table of a whole dump can
    compute it once, a live wiki cannot cheaply, so None is normal there. With it
    the walk goes only towards the root, which is where the research's precision
    came from; without it the walk falls back to rules on titles and parents alone.
    """

    parents: tuple[str, ...] | None
    hidden: bool = False  # hidden / maintenance category: yields no topics
    exists: bool = True  # False for a red link (no category page)
    depth: int | None = None  # shortest-path depth from the root, when known


UNKNOWN = CategoryInfo(parents=None)
"""The answer for a category the back-end knows nothing about."""

RED_LINK = CategoryInfo(parents=(), exists=False)
"""The answer for a category whose page does not exist."""


class CategoryGraph(Protocol):
    """Anything that can describe a batch of categories."""

    def lookup(self, titles: Collection[str]) -> Mapping[str, CategoryInfo]:
        """Describe each of `titles`.

        Every title asked for must be in the result; a back-end that cannot tell
        answers `UNKNOWN` for it rather than leaving it out.
        """
        ...


class InMemoryGraph:
    """A graph held in a dict: for tests, and as the store behind table back-ends."""

    def __init__(self, infos: Mapping[str, CategoryInfo], default: CategoryInfo = RED_LINK):
        """`default` answers titles not in `infos`: RED_LINK when the dict is the
        whole graph (a small test graph), UNKNOWN when it is a partial slice."""
        self._infos = dict(infos)
        self._default = default
        self.calls = 0  # number of lookups, so tests can check batching

    def lookup(self, titles: Collection[str]) -> dict[str, CategoryInfo]:
        self.calls += 1
        return {t: self._infos.get(t, self._default) for t in titles}

    @classmethod
    def from_parents(
        cls,
        parents: Mapping[str, Collection[str]],
        hidden: Collection[str] = (),
        default: CategoryInfo = RED_LINK,
        depths: Mapping[str, int] | None = None,
    ) -> InMemoryGraph:
        """Build from child -> parents; parents never listed as children get no parents.

        `depths` gives categories their depth from the root (see `CategoryInfo`)."""
        infos: dict[str, CategoryInfo] = {}
        for child, ps in parents.items():
            for p in ps:
                infos.setdefault(p, CategoryInfo(parents=()))
            infos[child] = CategoryInfo(parents=tuple(ps))
        for title in hidden:
            old = infos.get(title, CategoryInfo(parents=()))
            infos[title] = replace(old, hidden=True)
        for title, d in (depths or {}).items():
            infos[title] = replace(infos.get(title, CategoryInfo(parents=())), depth=d)
        return cls(infos, default=default)

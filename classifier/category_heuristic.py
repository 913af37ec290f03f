"""Topics implied by a file's categories: a bounded walk up the category graph.

Training turns Commons categories into labels with this, and the bot uses it to
know which topics an upload's own categories already claim. Both need the same
answer for the same file, whatever was labelled before, so the walk keeps no state
between files and visits categories in sorted order; the graph is read only through
the batched `CategoryGraph.lookup`, once per level of the walk.

From each of the file's categories (a "source") the walk goes up level by level.
At each category, the first rule that applies decides where it goes next:

1. an anchor category of the taxonomy gives its label and stops there;
2. a hidden category, a red link, or a title whose head is a date or bookkeeping
   word ("1922 in Kent", "Categories by country") gives nothing;
3. head jump: when the head of the title ("Churches in Kent" -> "Churches", "Oval
   portraits" -> "Portraits", singular or plural) names a category that exists, go
   straight there, the most specific such head first. The head is a strict part of
   the title, hence more general, which stands in for the research's "closer to the
   root" (a depth that a live wiki cannot give cheaply). Heads that name the file's
   medium ("Photographs of Paris" -> "Photographs") are never jump targets, and the
   bare medium categories themselves lead nowhere;
4. parents that are anchors, when there are any (the nearest evidence wins over
   drifting further up);
5. otherwise all parents.

A category whose parents the back-end does not know gives nothing and marks the
result as resting on unknown data. Each label gets a confidence from the length of
the shortest path to it and the number of the file's categories that reach it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from classifier.category_graph import CategoryGraph, CategoryInfo
from classifier.category_titles import head_candidates, head_phrase, is_medium_head, is_null_head
from classifier.taxonomy import Taxonomy


@dataclass(frozen=True)
class WalkLimits:
    """Bounds and the confidence scale of the walk.

    `max_hops` bounds the path length from a file's category to an anchor;
    `extra_levels` is how many levels a walk goes on past its nearest anchor (None:
    up to `max_hops`); beyond the nearest evidence, paths drift into abstract
    categories ("Infrastructure" > "Engineering" > "Technology") and cost precision.
    `max_lookups` bounds the distinct categories described per file (the API cost on a
    live wiki). `decay` is the confidence of one path per hop: a path of h hops
    counts `decay ** h`, and independent paths combine as a noisy OR.
    """

    max_hops: int = 10
    extra_levels: int | None = 0
    max_lookups: int = 600
    decay: float = 0.85


@dataclass(frozen=True)
class TopicEvidence:
    """Why a file got a label."""

    label: str
    confidence: float
    path: tuple[str, ...]  # file category ... anchor category (of this label or a descendant)
    sources: int  # how many of the file's categories reach the label


@dataclass(frozen=True)
class TopicResult:
    """The topics of one file, in taxonomy order, and how sound the walk was."""

    topics: tuple[TopicEvidence, ...]
    touched_unknown: bool  # a category with unknown parents was on the walk
    truncated: bool  # the lookup budget ran out before the walk ended
    lookups: int  # distinct categories described

    def labels(self, min_confidence: float = 0.0) -> tuple[str, ...]:
        return tuple(t.label for t in self.topics if t.confidence >= min_confidence)


@dataclass
class _Walk:
    """The upward walk from one source category."""

    source: str
    previous: dict[str, str | None]
    frontier: list[str]
    found: dict[str, int] = field(default_factory=dict)  # anchor -> hops

    def path(self, node: str) -> tuple[str, ...]:
        out = [node]
        while (prev := self.previous[out[-1]]) is not None:
            out.append(prev)
        return tuple(reversed(out))


class TopicHeuristic:
    """Labels files from their categories; holds no per-file state."""

    def __init__(
        self, graph: CategoryGraph, taxonomy: Taxonomy, limits: WalkLimits | None = None
    ):
        self.graph = graph
        self.taxonomy = taxonomy
        self.limits = limits or WalkLimits()
        self._anchors = taxonomy.anchor_labels

    def label(self, categories: Iterable[str]) -> TopicResult:
        """Walk up from `categories` (titles without "Category:") and collect topics."""
        walks = [_Walk(c, {c: None}, [c]) for c in sorted(set(categories))]
        info: dict[str, CategoryInfo] = {}
        unknown = truncated = False
        for level in range(self.limits.max_hops + 1):
            if not any(w.frontier for w in walks):
                break
            frontier = sorted({n for w in walks for n in w.frontier if self._walkable(n)})
            truncated |= self._describe(frontier, info)
            for walk in walks:
                nodes, walk.frontier = sorted(set(walk.frontier)), []
                if self._settled(walk, level):
                    continue
                for node in nodes:
                    if node in self._anchors:
                        walk.found.setdefault(node, level)
                        continue
                    if level == self.limits.max_hops or not self._walkable(node):
                        continue
                    step = self._next(node, info)
                    if step is None:
                        unknown |= node in info
                        continue
                    for nxt in step:
                        if nxt not in walk.previous:
                            walk.previous[nxt] = node
                            walk.frontier.append(nxt)
        return TopicResult(
            topics=self._evidence(walks),
            touched_unknown=unknown,
            truncated=truncated,
            lookups=len(info),
        )

    def _settled(self, walk: _Walk, level: int) -> bool:
        extra = self.limits.extra_levels
        return extra is not None and bool(walk.found) and level > min(walk.found.values()) + extra

    def _walkable(self, title: str) -> bool:
        if title in self._anchors or is_null_head(title):
            return False
        # a medium category ("Photographs") leads nowhere; a qualified one
        # ("Photographs of Paris") leads on through its subject parents
        return not (is_medium_head(title) and head_phrase(title) == title)

    def _describe(self, frontier: list[str], info: dict[str, CategoryInfo]) -> bool:
        """Look up the frontier and its head candidates in one batch; True if cut short."""
        wanted = [t for n in frontier for t in (n, *head_candidates(n))]
        new = sorted({t for t in wanted if t not in info and t not in self._anchors})
        room = max(self.limits.max_lookups - len(info), 0)
        if new[:room]:
            answer = self.graph.lookup(new[:room])
            info.update((t, answer[t]) for t in new[:room])
        return len(new) > room

    def _next(self, node: str, info: dict[str, CategoryInfo]) -> list[str] | None:
        """Where the walk goes from `node`; None when its parents are unknown."""
        this = info.get(node)
        if this is None:  # over the lookup budget
            return None
        if this.hidden or not this.exists:
            return []
        jump = self._head_jump(node, info)
        if jump is not None:
            return [jump]
        if this.parents is None:
            return None
        anchors = [p for p in this.parents if p in self._anchors]
        return sorted(anchors or this.parents)

    def _head_jump(self, node: str, info: dict[str, CategoryInfo]) -> str | None:
        """The most specific known category named by the head of `node`, if any."""
        for candidate in head_candidates(node):
            if is_medium_head(candidate):
                continue
            if candidate in self._anchors:
                return candidate
            target = info.get(candidate)
            if target and target.exists and not target.hidden and target.parents is not None:
                return candidate
        return None

    def _evidence(self, walks: list[_Walk]) -> tuple[TopicEvidence, ...]:
        """Per label: noisy-OR confidence over sources, the shortest path as explanation."""
        best: dict[str, tuple[int, tuple[str, ...]]] = {}
        miss: dict[str, float] = {}
        sources: dict[str, int] = {}
        for walk in walks:
            per_label: dict[str, tuple[int, tuple[str, ...]]] = {}
            for anchor, hops in walk.found.items():
                candidate = (hops, walk.path(anchor))
                for label in self.taxonomy.close_under_ancestors([self._anchors[anchor]]):
                    if label not in per_label or candidate < per_label[label]:
                        per_label[label] = candidate
            for label, (hops, path) in per_label.items():
                miss[label] = miss.get(label, 1.0) * (1.0 - self.limits.decay**hops)
                sources[label] = sources.get(label, 0) + 1
                if label not in best or (hops, path) < best[label]:
                    best[label] = (hops, path)
        return tuple(
            TopicEvidence(label, round(1.0 - miss[label], 6), best[label][1], sources[label])
            for label in self.taxonomy.labels
            if label in best
        )


"""Topics implied by a file's categories: a bounded walk up the category graph.

Training turns Commons categories into labels with this, and the bot uses it to
know which topics an upload's own categories already claim. Both need the same
answer for the same file, whatever was labelled before, so nothing is kept between
files and every result is a pure function of the graph; the graph is read only
through the batched `CategoryGraph.lookup`, once per level of the walk.

Each of the file's categories (a "source") leads to the anchors found by `reach`,
which follows the research's rules, in its order, at every category:

1. an anchor category of the taxonomy gives its label and stops there, and so does
   a "by"-split of one ("People by occupation", "Art by country by medium"): a split
   holds nothing but what it splits (`anchor_of`);
2. a hidden category, a red link, a medium category ("Photographs", or a split of
   one, "Photographs by country") or a title whose head is a date or bookkeeping
   word ("1922 in Kent", "Categories by country") gives nothing;
3. head jump: when the head of the title ("Churches in Kent" -> "Churches", singular
   or plural) is shared by one of its parents ("Churches in England by county") and
   names a category that exists and lies higher, go there. The shared head is the
   evidence that the title really is "<kind> in <place>", not a name like
   "Washington W. Sheffield". The head's other number is a target only when the
   titles that share the head use both numbers ("Battle of Stalingrad" under
   "Battles of World War II"): when they all say "arts" ("Seven liberal arts"
   under "The arts"), "Art" is another word, not another form of theirs. And a
   head that an anchor's title specialises ("Births" of "Births in Budapest", for
   the anchor "Human births") leads to that anchor: anchors are terminal, and the
   general category lies above the anchor on the way up ("Births" -> "Health");
4. parents that are anchors (the nearest evidence wins over drifting further up);
5. parents closer to the root.

The first rule whose targets lead to any anchor decides; later rules are not tried.
"Higher" and "closer to the root" compare `CategoryInfo.depth` (shortest path from
the root). That is what keeps the walk on the spine of the graph: a category has
dozens of parents that are siblings or cousins ("Buildings in Kent" under "Kent"),
and only those nearer the root generalise it. A back-end without depths (the live
wiki) falls back to every parent, and to heads as "higher" by construction, since a
head is a strict part of the title.

A category whose parents the back-end does not know gives nothing and marks the
result as resting on unknown data. Each label gets a confidence from the length of
the shortest path to it and the number of the file's categories that reach it.

Two rules then judge the evidence as a whole. A file category whose walk reaches
`CROSSROADS_TOPICS` (3) or more distinct topics, none an ancestor of another, is a
crossroads and gives nothing: a category that says three things at once ("Jacob's
staff", "Johannes Kepler", "2006 Royal International Air Tattoo") has drifted into
whatever its many parents touch, and its walk does not say which one the file
shows (`TopicResult.crossroads` names them). And a file keeps an
umbrella topic of `SUBTOPIC_ONLY` ("Society", "Culture") only when it also has one
of that topic's sub-topics. On Commons the categories "Society" and "Culture"
themselves are reached from institutions and abstractions (Organizations,
Companies, Economy, Schools of thought; Works, Movements, Cultural heritage,
Entertainment, Language) that
say what a file was filed under, not what it shows; in the taxonomy they are only
the umbrellas of People, Sports, Events, Transportation and of History, Art, Music,
Literature, Food.

These rules were chosen on half A of the validation files and checked on half B
(`training.heuristic_bench --half`); see the README section on the heuristic for
the measured effect of each.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from classifier.category_graph import CategoryGraph, CategoryInfo
from classifier.category_titles import (
    CONJUNCTIONS,
    head_forms,
    head_key,
    head_phrase,
    is_medium_head,
    is_null_head,
    other_number,
    split_root,
)
from classifier.taxonomy import Taxonomy


@dataclass(frozen=True)
class WalkLimits:
    """Bounds and the confidence scale of the walk.

    `max_hops` bounds the path length from a file's category to an anchor.
    `max_lookups` bounds the distinct categories described per file (the API cost
    on a live wiki). `decay` is the confidence of one path per hop: a path of h hops
    counts `decay ** h`, and independent paths (from different file categories)
    combine as a noisy OR.
    """

    max_hops: int = 20
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
    crossroads: tuple[str, ...] = ()  # file categories set aside (`CROSSROADS_TOPICS`)

    def labels(self, min_confidence: float = 0.0) -> tuple[str, ...]:
        return tuple(t.label for t in self.topics if t.confidence >= min_confidence)


Reached = dict[str, tuple[int, tuple[str, ...]]]  # anchor -> (hops, path to it)

SUBTOPIC_ONLY = frozenset({"Society", "Culture"})
"""Umbrella topics a file keeps only together with one of their sub-topics (see the
module docstring); names the taxonomy lacks, or leaves, are ignored."""

CROSSROADS_TOPICS = 3
"""A file category whose walk reaches this many distinct topics, none an ancestor of
another, is a crossroads and gives nothing (see the module docstring)."""


def anchor_of(title: str, anchors: Mapping[str, str]) -> tuple[str, int] | None:
    """The anchor category `title` stands for, and the hops to it: (title, 0) for an
    anchor, (X, 1) for a "by"-split of anchor X ("People by occupation" -> "People",
    "Art by country by medium" -> "Art"), else None.

    A split holds nothing but X, so reaching it is reaching X. Left to the depth
    rule, the walk would often not get there: shortest paths from the root run
    through hidden "Categories by ..." meta-categories, so a split usually looks
    higher than X (in the validation slice, 534 of the 864 "X by ..." -> X parent
    edges go to a parent that is not higher)."""
    if title in anchors:
        return title, 0
    if " by " not in title:  # the common case, checked without a call
        return None
    root = split_root(title)
    return (root, 1) if root in anchors else None


def walkable(title: str, anchors: Mapping[str, str]) -> bool:
    """False for titles that lead nowhere whatever the graph says: anchors and their
    splits (terminal), date and bookkeeping heads, bare media."""
    return anchor_of(title, anchors) is None and _walkable_title(title)


def specific_topics(labels: Iterable[str], taxonomy: Taxonomy) -> set[str]:
    """`labels` less those that are an ancestor of another one ({Places, Architecture}
    -> {Architecture}): the distinct things a category says."""
    labels = set(labels)
    return labels - {a for label in labels for a in taxonomy.ancestors(label)}


def umbrella_rules(taxonomy: Taxonomy) -> dict[str, tuple[str, ...]]:
    """Each umbrella of `SUBTOPIC_ONLY` in `taxonomy` -> its sub-topics (descendants)."""
    return {
        label: taxonomy.descendants(label)
        for label in taxonomy.labels
        if label in SUBTOPIC_ONLY and taxonomy.descendants(label)
    }


class _FileWalk:
    """The graph as far as one file's walk has described it, and what it found."""

    def __init__(self, heuristic: TopicHeuristic, info: dict[str, CategoryInfo]):
        self.h = heuristic
        self.info = info
        self.memo: dict[tuple[str, int], Reached] = {}
        self.unknown = False

    def reach(self, node: str, left: int) -> Reached:
        """The anchors `node` leads to within `left` hops: a pure function of the graph
        (memoised per file on (node, hops left), so cycles only burn hops)."""
        anchor = anchor_of(node, self.h.anchors)
        if anchor is not None:
            target, hops = anchor
            return {target: (hops, (node, target)[: hops + 1])}
        if left == 0 or not self.h.walkable(node):
            return {}
        key = (node, left)
        if key not in self.memo:
            self.memo[key] = {}  # a cycle back to this state finds nothing
            self.memo[key] = self._reach(node, left)
        return self.memo[key]

    def _reach(self, node: str, left: int) -> Reached:
        this = self.info.get(node)
        if this is None or this.hidden or not this.exists:  # over budget, hidden, red link
            return {}
        # counted even when a head jump answers, since parents might have added labels
        self.unknown |= this.parents is None
        for targets in (
            self.h.head_jumps(node, self.info),
            self.h.anchor_parents(this),
            self.h.higher_parents(this, self.info),
        ):
            found = self._union(node, targets, left)
            if found:
                return found
        return {}

    def _union(self, node: str, targets: Iterable[str], left: int) -> Reached:
        out: Reached = {}
        for target in targets:
            for anchor, (hops, path) in self.reach(target, left - 1).items():
                candidate = (hops + 1, (node, *path))
                if anchor not in out or candidate < out[anchor]:
                    out[anchor] = candidate
        return out


class TopicHeuristic:
    """Labels files from their categories; holds no per-file state."""

    def __init__(
        self, graph: CategoryGraph, taxonomy: Taxonomy, limits: WalkLimits | None = None
    ):
        self.graph = graph
        self.taxonomy = taxonomy
        self.limits = limits or WalkLimits()
        self.anchors = taxonomy.anchor_labels
        self.umbrellas = umbrella_rules(taxonomy)
        self.head_anchors = head_anchors(self.anchors)

    def label(self, categories: Iterable[str]) -> TopicResult:
        """Walk up from `categories` (titles without "Category:") and collect topics."""
        sources = sorted(set(categories))
        info: dict[str, CategoryInfo] = {}
        truncated = self._explore(sources, info)
        walk = _FileWalk(self, info)
        found = [walk.reach(source, self.limits.max_hops + 1) for source in sources]
        return TopicResult(
            topics=self._evidence(found),
            touched_unknown=walk.unknown,
            truncated=truncated,
            lookups=len(info),
            crossroads=tuple(s for s, r in zip(sources, found, strict=True)
                             if self.is_crossroads(r)),
        )

    # -- the rules -------------------------------------------------------------

    def walkable(self, title: str) -> bool:
        """False for titles that lead nowhere whatever the graph says."""
        return walkable(title, self.anchors)

    def is_crossroads(self, reached: Reached) -> bool:
        """Whether a file category's walk reached `CROSSROADS_TOPICS` or more distinct
        topics (see the module docstring)."""
        if len(reached) < CROSSROADS_TOPICS:  # fewer anchors cannot make enough topics
            return False
        labels = {self.anchors[anchor] for anchor in reached}
        return len(specific_topics(labels, self.taxonomy)) >= CROSSROADS_TOPICS

    def head_jumps(self, node: str, info: dict[str, CategoryInfo]) -> list[str]:
        """Categories named by a head that `node` and its parents share, that exist
        and lie higher: the most specific of each, all of them if there are several
        ("N2 Charts" under "Charts by type" and "Functional diagrams" ->
        "Charts", "Diagrams"). A head that an anchor's title specialises stands for
        that anchor (`head_anchors`)."""
        this = info[node]
        chosen: list[str] = []
        keys: list[str] = []
        for target in shared_heads(node, tuple(this.parents or ())):
            key = head_key(target)
            if any(k == key or k.endswith(" " + key) for k in keys):
                continue  # a more specific form of this head was already taken
            target = self.head_anchors.get(key, target)
            found = anchor_of(target, self.anchors) is not None or (
                (t := info.get(target)) is not None
                and t.exists
                and not t.hidden
                and t.parents is not None
                and _higher(t, this)
            )
            if found:
                chosen.append(target)
                keys.append(key)
        return sorted(chosen)

    def anchor_parents(self, this: CategoryInfo) -> list[str]:
        return sorted(p for p in this.parents or () if anchor_of(p, self.anchors) is not None)

    def higher_parents(self, this: CategoryInfo, info: dict[str, CategoryInfo]) -> list[str]:
        """Parents closer to the root; every parent when this category's depth is unknown."""
        if this.depth is None:
            return sorted(this.parents or ())
        return sorted(p for p in this.parents or () if p in info and _higher(info[p], this))

    # -- the batched exploration ----------------------------------------------

    def _explore(self, sources: list[str], info: dict[str, CategoryInfo]) -> bool:
        """Describe, level by level, every category a rule may lead to; True if the
        lookup budget cut it short. One lookup per level: the frontier (parents that
        may be higher, and head-jump targets) with the head candidates of its titles.
        A parent is only walked on from once its depth shows it is higher."""
        frontier: dict[str, set[str | None]] = {s: {None} for s in sources}
        # Expanded once entered, not once seen: a category first met from a child that
        # lies higher must still be walked on from when another path enters it.
        expanded: set[str] = set()
        truncated = False
        for _ in range(self.limits.max_hops + 1):
            walkable = [n for n in sorted(frontier) if self.walkable(n)]
            if not walkable:
                break
            truncated |= self._describe(walkable, info)
            following: dict[str, set[str | None]] = {}
            for node in walkable:
                this = info.get(node)
                if this is None or this.hidden or not this.exists or not this.parents:
                    continue
                if not any(self._entered(p, node, info) for p in frontier[node]):
                    continue
                expanded.add(node)
                for parent in (*this.parents, *shared_heads(node, tuple(this.parents))):
                    following.setdefault(parent, set()).add(node)
            frontier = {n: via for n, via in following.items() if n not in expanded}
        return truncated

    @staticmethod
    def _entered(child: str | None, node: str, info: dict[str, CategoryInfo]) -> bool:
        """Whether the walk may go on from `node` reached from `child` (None: a source
        or a head jump, always allowed; a parent only if it is higher)."""
        return child is None or _higher(info[node], info[child])

    def _describe(self, frontier: list[str], info: dict[str, CategoryInfo]) -> bool:
        """Look up the frontier in one batch; True if the budget cut it short."""
        new = sorted({t for t in frontier
                      if t not in info and anchor_of(t, self.anchors) is None})
        room = max(self.limits.max_lookups - len(info), 0)
        if new[:room]:
            answer = self.graph.lookup(new[:room])
            info.update((t, answer[t]) for t in new[:room])
        return len(new) > room

    # -- the evidence ---------------------------------------------------------

    def _evidence(self, found: list[Reached]) -> tuple[TopicEvidence, ...]:
        """Per label: noisy-OR confidence over sources, the shortest path as explanation;
        crossroads sources count for nothing."""
        best: dict[str, tuple[int, tuple[str, ...]]] = {}
        miss: dict[str, float] = {}
        sources: dict[str, int] = {}
        for reached in found:
            if self.is_crossroads(reached):
                continue
            per_label: dict[str, tuple[int, tuple[str, ...]]] = {}
            for anchor, candidate in reached.items():
                for label in self.taxonomy.close_under_ancestors([self.anchors[anchor]]):
                    if label not in per_label or candidate < per_label[label]:
                        per_label[label] = candidate
            for label, (hops, path) in per_label.items():
                miss[label] = miss.get(label, 1.0) * (1.0 - self.limits.decay**hops)
                sources[label] = sources.get(label, 0) + 1
                if label not in best or (hops, path) < best[label]:
                    best[label] = (hops, path)
        bare = {u for u, subs in self.umbrellas.items() if not any(s in best for s in subs)}
        return tuple(
            TopicEvidence(label, round(1.0 - miss[label], 6), best[label][1], sources[label])
            for label in self.taxonomy.labels
            if label in best and label not in bare
        )


def head_anchors(anchors: Mapping[str, str]) -> dict[str, str]:
    """Head keys that an anchor's title specialises -> that anchor: "birth" ->
    "Human births", "memorial" -> "Monuments and memorials" (the first anchor in
    title order when several do).

    A head jump to the general category ("Births") would pass above the anchor:
    on Commons "Births in Budapest" lies under "Human births", which lies under
    "Births", whose own parents ("Health", "Animal reproduction") are about the
    biology. The taxonomy chose the anchor as where such titles stop."""
    out: dict[str, str] = {}
    for anchor in sorted(anchors):
        words = head_key(anchor).split()
        for start in range(1, len(words)):
            if words[start] not in CONJUNCTIONS:
                out.setdefault(" ".join(words[start:]), anchor)
    return out


@functools.lru_cache(maxsize=1 << 16)  # pure, and the same categories recur across files
def shared_heads(node: str, parents: tuple[str, ...]) -> tuple[str, ...]:
    """Titles (both numbers) of the heads shared by at least two of `node` and its
    parents, most specific first. Two titles with the same head are the graph's own
    evidence that the head is a kind the category belongs to ("Southampton Cenotaph"
    under "War memorials in Southampton" and "War memorials by Edwin Lutyens"); a
    single title's head may be part of a name ("Washington W. Sheffield").

    Each head is given as the form of the first title that has it, followed by its
    other number only when the titles use both numbers ("Battle of Stalingrad" and
    "Battles of World War II" -> "Battle", "Battles"). When they all use one, the
    other number may be another category altogether: "Seven liberal arts" and "The
    arts" share "Arts", and "Art" is not it."""
    own = head_key(node)
    voters: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    numbers: dict[str, set[str]] = {}  # key -> the last words its forms end with
    for title in sorted({node, *parents}):
        for form in head_forms(title):
            key = head_key(form)
            voters.setdefault(key, set()).add(title)
            names.setdefault(key, form)
            numbers.setdefault(key, set()).add(form.rpartition(" ")[2].lower())
    shared = [k for k, v in voters.items() if len(v) > 1 and k != own]
    shared = [k for k in shared if not is_medium_head(names[k]) and not is_null_head(names[k])]
    shared.sort(key=lambda k: (-len(k.split()), k))
    return tuple(t for k in shared
                 for t in (names[k], *((other_number(names[k]),) if len(numbers[k]) > 1 else ())))


@functools.lru_cache(maxsize=1 << 16)  # called for every frontier title; pure
def _walkable_title(title: str) -> bool:
    """`walkable` without the anchor test: date heads lead nowhere, and a bare medium
    category ("Photographs") or a split of one ("Photographs by country",
    "Photographs by Hans Peters") leads nowhere, while a qualified one ("Photographs
    of Paris") leads on through its subject parents. A split of a bare medium would
    otherwise lead on to the photographer or to "Art by country by medium", which say
    how the file was made, not what it shows."""
    if is_null_head(title):
        return False
    root = split_root(title)
    return not (is_medium_head(root) and head_phrase(root) == root)


def _higher(target: CategoryInfo, this: CategoryInfo) -> bool:
    """True when `target` is closer to the root than `this`, as far as depths tell:
    without this category's depth anything may be higher (the live-wiki fallback);
    with it, only a target of known, smaller depth is."""
    if this.depth is None:
        return True
    return target.depth is not None and target.depth < this.depth

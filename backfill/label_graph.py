"""Whole-graph labelling: the category heuristic for every category at once, vectorized.

    python -m backfill.label_graph GRAPH_DIR FILES OUTPUT_DIR [--max-hops 20]

`TopicHeuristic` labels one file by walking up from its categories; at Commons size
(11 M categories, 25 M parent edges, 100 M files) that walk would be repeated for the
same categories millions of times. Here the same rules are evaluated for every
category together, as array operations over the edge lists, and each file then only
combines its categories' answers.

What the per-file walk computes for a category is `reach(category, hops left)`: the
anchors it leads to (nearest evidence per label) under the first of three rules that
finds anything (head jumps, anchor parents, parents closer to the root). That is a
pure function of the graph and the hops left, so it is computed here as a sequence
R_1, R_2, ... where R_k holds, for every category and label, the fewest hops to that
label with k hops left (255: unreached), R_k computed from R_{k-1} by segmented minima
over three edge lists fixed in advance (the head jumps each category would take, its
anchor parents, its higher parents). The loop stops at k = max_hops + 1, the budget a
file's own category starts with, or earlier at a fixed point. Anchors and their
"by"-splits (`anchor_of`) are fixed rows of R_0, 0 or 1 hop from their label. The
"touched a category with unknown parents" flag is propagated the same way. Memory: two
(categories x labels) uint8 matrices, the edge lists as int32, and chunked temporaries.
A file then drops its crossroads categories (`crossroads`) before combining the rest.

The same output as the per-file heuristic, exactly, for: each file's label set, each
label's fewest hops and number of the file's categories reaching it, and
`touched_unknown`; its confidence is the same noisy OR in the same order, rounded to 6
decimals by numpy (which may differ from Python's `round` in the last bit). This holds
for the same graph and a lookup budget the walk does not exhaust (a live-wiki bound with
no meaning offline). Not reproduced: the explanation path of each label.

Title rules (lexical heads, dates, media) run the classifier's own functions once per
distinct title and form, so the two labellers cannot drift apart; that map is the one
part that is per title in Python.

GRAPH_DIR holds `nodes.parquet` and `edges.parquet` in the heuristic-bench format
(see `training.heuristic_graph`; `expanded`, `not_connected`, `red_link`, `hidden` and
`depth` are optional, so a full dump may give `category` and `depth` only). FILES is a
Parquet table with `title` and `categories` (a list of titles). OUTPUT_DIR receives
`categories.parquet` (per category, the fewest hops to each label) and
`files.parquet` (per file, each label's confidence, 0 where absent, and the flag).
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from classifier.category_heuristic import (
    CROSSROADS_TOPICS,
    WalkLimits,
    anchor_of,
    head_anchors,
    umbrella_rules,
    walkable,
)
from classifier.category_titles import (
    head_forms,
    head_key,
    is_medium_head,
    is_null_head,
    other_number,
)
from classifier.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

NONE = np.uint8(255)
"""Hops to a label that is not reached."""

EDGE_CHUNK = 4_000_000
"""Edges gathered at once: bounds the (edges x labels) temporary to about 110 MB."""


@dataclass
class Graph:
    """The graph as index arrays over one sorted title vocabulary (id order = title order,
    which is the order the per-file walk sorts titles in)."""

    titles: pd.Index  # every title: nodes, parents, anchors
    known: np.ndarray  # parents known (False: UNKNOWN, as a title not in the table)
    hidden: np.ndarray
    exists: np.ndarray
    depth: np.ndarray  # int32, -1 where not known
    child: np.ndarray  # parent edges, sorted by child (int32)
    parent: np.ndarray


@dataclass
class Edges:
    """A child -> targets list sorted by child, with the segment starts of `reduceat`."""

    child: np.ndarray
    target: np.ndarray

    @classmethod
    def of(cls, child: np.ndarray, target: np.ndarray) -> Edges:
        order = np.argsort(child, kind="stable")
        return cls(child[order].astype(np.int32), target[order].astype(np.int32))

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(children, segment starts, targets) per block of whole segments."""
        start, n = 0, len(self.child)
        while start < n:
            stop = min(start + EDGE_CHUNK, n)
            if stop < n:  # do not split a child's segment
                stop = int(np.searchsorted(self.child, self.child[stop - 1], side="right"))
            child = self.child[start:stop]
            heads = np.flatnonzero(np.r_[True, child[1:] != child[:-1]])
            yield child[heads], heads, self.target[start:stop]
            start = stop

    def min_hops(self, hops: np.ndarray) -> np.ndarray:
        """Per child, the label-wise minimum of its targets' hops plus one (255 stays)."""
        out = np.full_like(hops, NONE)
        for children, heads, targets in self.chunks():
            out[children] = np.minimum.reduceat(hops[targets], heads, axis=0)
        return np.where(out < NONE, out + 1, NONE).astype(np.uint8)

    def any(self, flag: np.ndarray) -> np.ndarray:
        out = np.zeros_like(flag)
        hit = np.unique(self.child[flag[self.target]])
        out[hit] = True
        return out


def read_graph(directory: Path, taxonomy: Taxonomy) -> Graph:
    """Read nodes.parquet and edges.parquet with the table back-end's meaning: a node
    whose parents were not logged, or a title the table lacks, is UNKNOWN; only `parent`
    edges of expanded nodes count (`head_jump` edges are the research's, not input).
    The taxonomy's anchors join the vocabulary, since they count without a node row."""
    nodes = pd.read_parquet(directory / "nodes.parquet")
    edges = pd.read_parquet(directory / "edges.parquet")
    if "kind" in edges:
        edges = edges[edges["kind"] == "parent"]
    n = len(nodes)
    expanded = _column(nodes, "expanded", True, n)
    resolved = _column(nodes, "not_connected", False, n) | _column(nodes, "red_link", False, n)
    vocabulary = pd.Index(
        pd.unique(np.concatenate([nodes["category"].to_numpy(object),
                                  edges["child"].to_numpy(object),
                                  edges["parent"].to_numpy(object),
                                  np.asarray(list(taxonomy.anchor_labels), dtype=object)]))
    ).sort_values()
    size = len(vocabulary)
    at = vocabulary.get_indexer(nodes["category"])
    known, hidden, exists = np.zeros(size, bool), np.zeros(size, bool), np.ones(size, bool)
    depth = np.full(size, -1, np.int32)
    known[at] = expanded | resolved
    hidden[at] = _column(nodes, "hidden", False, n)
    exists[at] = ~_column(nodes, "red_link", False, n)
    if "depth" in nodes:
        depth[at] = nodes["depth"].fillna(-1).to_numpy(np.int64)
    child = vocabulary.get_indexer(edges["child"])
    parent = vocabulary.get_indexer(edges["parent"])
    has_parents = np.zeros(size, bool)
    has_parents[at] = expanded
    keep = has_parents[child]
    return Graph(vocabulary, known, hidden, exists, depth, child[keep].astype(np.int32),
                 parent[keep].astype(np.int32))


def _column(frame: pd.DataFrame, name: str, default: bool, n: int) -> np.ndarray:
    if name not in frame:
        return np.full(n, default)
    return frame[name].fillna(default).to_numpy(bool)


@dataclass
class TitleRules:
    """What the heuristic reads from titles, per title id, and the head forms."""

    walkable: np.ndarray
    own_key: np.ndarray  # key id of head_key(title)
    form_title: np.ndarray  # one row per (title, form), title-major, forms in order
    form_key: np.ndarray
    form_text: np.ndarray  # object: the form
    form_usable: np.ndarray  # neither a medium nor a null head
    form_other: np.ndarray  # object: other_number(form)
    form_other_key: np.ndarray
    form_word: np.ndarray  # id of the form's last word, lower case (its number)
    key_words: np.ndarray  # words per key id
    key_anchor: np.ndarray  # object: the anchor a key's head stands for (`head_anchors`), or None
    key_suffixes: tuple[np.ndarray, np.ndarray]  # (key, each word-suffix key incl. itself)


def title_rules(titles: pd.Index, anchors: dict[str, str]) -> TitleRules:
    """Run the classifier's title functions once per title and per distinct form."""
    leads_on = np.fromiter((walkable(t, anchors) for t in titles), bool, len(titles))
    forms = [head_forms(t) for t in titles]
    counts = np.fromiter((len(f) for f in forms), np.int64, len(forms))
    form_title = np.repeat(np.arange(len(titles), dtype=np.int32), counts)
    form_text = np.fromiter((f for fs in forms for f in fs), object, int(counts.sum()))
    distinct = pd.unique(form_text)
    other = np.fromiter((other_number(f) for f in distinct), object, len(distinct))
    usable = np.fromiter(
        (not is_medium_head(f) and not is_null_head(f) for f in distinct), bool, len(distinct)
    )
    key_text = [head_key(t) for t in titles]
    form_key_text = [head_key(f) for f in distinct]
    other_key_text = [head_key(f) for f in other]
    keys = pd.Index(pd.unique(np.asarray(key_text + form_key_text + other_key_text, object))
                    ).sort_values()
    words = np.fromiter((len(k.split()) for k in keys), np.int32, len(keys))
    specialised = head_anchors(anchors)
    key_anchor = np.fromiter((specialised.get(k) for k in keys), object, len(keys))
    last_word = pd.Index(pd.unique(np.asarray([f.rpartition(" ")[2].lower() for f in distinct],
                                              object)))
    distinct_word = last_word.get_indexer([f.rpartition(" ")[2].lower() for f in distinct])
    suffix_key, suffix_of = [], []
    for i, k in enumerate(keys):
        parts = k.split(" ")
        for start in range(len(parts)):
            suffix_key.append(i)
            suffix_of.append(" ".join(parts[start:]))
    suffix_id = keys.get_indexer(suffix_of)
    found = suffix_id >= 0
    index = pd.Index(distinct).get_indexer(form_text)
    return TitleRules(
        walkable=leads_on,
        own_key=keys.get_indexer(key_text).astype(np.int32),
        form_title=form_title,
        form_key=keys.get_indexer(form_key_text)[index].astype(np.int32),
        form_text=form_text,
        form_usable=usable[index],
        form_other=other[index],
        form_other_key=keys.get_indexer(other_key_text)[index].astype(np.int32),
        form_word=distinct_word[index].astype(np.int32),
        key_words=words,
        key_anchor=key_anchor,
        key_suffixes=(np.asarray(suffix_key, np.int64)[found], suffix_id[found].astype(np.int64)),
    )


def anchor_row(title: str, taxonomy: Taxonomy) -> np.ndarray | None:
    """The hops a category that `anchor_of` calls an anchor (or a split of one) gives
    each label (255: none), or None for any other title."""
    found = anchor_of(title, taxonomy.anchor_labels)
    if found is None:
        return None
    anchor, hops = found
    row = np.full(len(taxonomy.labels), NONE, np.uint8)
    for name in taxonomy.close_under_ancestors([taxonomy.anchor_labels[anchor]]):
        row[taxonomy.labels.index(name)] = hops
    return row


def crossroads(hops: np.ndarray, taxonomy: Taxonomy) -> np.ndarray:
    """`TopicHeuristic.is_crossroads` per row of a (categories x labels) hops matrix:
    `CROSSROADS_TOPICS` or more reached labels that are no ancestor of another reached
    one. Rows hold labels closed under ancestors, and dropping from that closure every
    ancestor of a reached label leaves exactly the specific anchor labels."""
    labels = taxonomy.labels
    below = np.zeros((len(labels), len(labels)), bool)  # [ancestor, descendant]
    for j, label in enumerate(labels):
        for ancestor in taxonomy.ancestors(label):
            below[labels.index(ancestor), j] = True
    reached = hops < NONE
    covered = (reached.astype(np.int32) @ below.T.astype(np.int32)) > 0
    return (reached & ~covered).sum(axis=1) >= CROSSROADS_TOPICS


def higher(graph: Graph, target: np.ndarray, this: np.ndarray) -> np.ndarray:
    """`_higher`: anything is higher than a category of unknown depth; otherwise only a
    target of known, smaller depth."""
    d_this, d_target = graph.depth[this], graph.depth[target]
    return (d_this < 0) | ((d_target >= 0) & (d_target < d_this))


def head_jump_edges(graph: Graph, rules: TitleRules, anchor: np.ndarray, active: np.ndarray
                    ) -> Edges:
    """`TopicHeuristic.head_jumps` for every category: heads shared by two of the
    category and its parents, their forms as targets (the other number only when the
    titles use both), most specific first, an anchor in place of a head its title
    specialises, those that exist and lie higher, a head skipped when a chosen one
    ends with it."""
    walked = active[graph.child]  # only known parents have edges
    nodes = np.unique(graph.child[walked])  # a category votes with its parents
    voters = pd.DataFrame({
        "node": np.concatenate([graph.child[walked], nodes]),
        "title": np.concatenate([graph.parent[walked], nodes]),
    }).drop_duplicates()
    # one row per (node, voter title, form), in title order then form order
    starts = np.searchsorted(rules.form_title, voters["title"].to_numpy())
    ends = np.searchsorted(rules.form_title, voters["title"].to_numpy(), side="right")
    lengths = ends - starts
    rows = np.repeat(np.arange(len(voters)), lengths)
    form = np.repeat(starts, lengths) + (np.arange(lengths.sum()) - np.repeat(
        np.cumsum(lengths) - lengths, lengths))
    table = pd.DataFrame({"node": voters["node"].to_numpy()[rows],
                          "title": voters["title"].to_numpy()[rows], "form": form})
    table["key"] = rules.form_key[table["form"]]
    table["word"] = rules.form_word[table["form"]]
    table = table.sort_values(["node", "title", "form"], kind="stable")
    grouped = table.groupby(["node", "key"], sort=False)
    shared = grouped.agg(voters=("title", "nunique"), name=("form", "first"),
                         numbers=("word", "nunique")).reset_index()
    shared = shared[(shared["voters"] > 1)
                    & (shared["key"] != rules.own_key[shared["node"]])
                    & rules.form_usable[shared["name"]]]
    if shared.empty:
        return Edges.of(np.zeros(0, np.int32), np.zeros(0, np.int32))
    node = shared["node"].to_numpy()
    name = shared["name"].to_numpy()
    candidates = pd.DataFrame({
        "node": np.repeat(node, 2),
        "order_words": np.repeat(-rules.key_words[shared["key"].to_numpy()], 2),
        "order_key": np.repeat(shared["key"].to_numpy(), 2),
        "second": np.tile([0, 1], len(node)),
        "text": np.column_stack([rules.form_text[name], rules.form_other[name]]).ravel(),
        "key": np.column_stack([rules.form_key[name], rules.form_other_key[name]]).ravel(),
        "both": np.repeat(shared["numbers"].to_numpy() > 1, 2),
    })
    candidates = candidates[(candidates["second"] == 0) | candidates["both"]]
    candidates = candidates.sort_values(["node", "order_words", "order_key", "second"],
                                        kind="stable")
    specialised = rules.key_anchor[candidates["key"].to_numpy()]
    text = np.where(pd.isna(specialised), candidates["text"].to_numpy(object), specialised)
    target = graph.titles.get_indexer(text)
    node = candidates["node"].to_numpy()
    in_graph = target >= 0
    safe = np.where(in_graph, target, 0)
    found = in_graph & (anchor[safe] | (graph.exists[safe] & ~graph.hidden[safe]
                                        & graph.known[safe] & higher(graph, safe, node)))
    return Edges.of(*_undominated(node, candidates["key"].to_numpy(), found, safe, rules))


def _undominated(node: np.ndarray, key: np.ndarray, found: np.ndarray, target: np.ndarray,
                 rules: TitleRules) -> tuple[np.ndarray, np.ndarray]:
    """Walk the candidates rank by rank (all categories at once): a found candidate is
    chosen unless an earlier chosen one's key equals its key or ends with " " + it."""
    rank = np.arange(len(node)) - np.searchsorted(node, node)
    suffix_key, suffix_id = rules.key_suffixes
    suffix_start = np.searchsorted(suffix_key, np.arange(len(rules.key_words)))
    suffix_count = np.bincount(suffix_key, minlength=len(rules.key_words))
    width = np.int64(len(rules.key_words))
    blocked = np.zeros(0, np.int64)  # node * width + key, for keys a chosen one ends with
    chosen = np.zeros(len(node), bool)
    for r in range(int(rank.max(initial=-1)) + 1):
        at = np.flatnonzero((rank == r) & found)
        at = at[~np.isin(node[at] * width + key[at], blocked)]
        chosen[at] = True
        counts = suffix_count[key[at]]
        offsets = np.repeat(suffix_start[key[at]], counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        blocked = np.union1d(blocked, np.repeat(node[at], counts) * width + suffix_id[offsets])
    return node[chosen], target[chosen]


@dataclass
class Labelling:
    """Every category's answer with the file's full hop budget."""

    titles: pd.Index
    taxonomy: Taxonomy
    hops: np.ndarray  # (titles, labels) uint8, 255 where unreached
    unknown: np.ndarray  # the walk from this category touched unknown parents
    walkable: np.ndarray
    known: np.ndarray
    iterations: int


def label_categories(graph: Graph, taxonomy: Taxonomy, limits: WalkLimits | None = None,
                     progress: Callable[[str], None] = log.info) -> Labelling:
    """R_k for k = 1 .. max_hops + 1, each from R_{k-1} over the three edge lists."""
    limits = limits or WalkLimits()
    labels = taxonomy.labels
    size = len(graph.titles)
    started = time.perf_counter()
    rules = title_rules(graph.titles, taxonomy.anchor_labels)
    progress(f"title rules for {size} titles in {time.perf_counter() - started:.1f} s")
    # anchors and their "by"-splits: terminal, with the hops `anchor_of` gives them
    anchor = np.zeros(size, bool)
    anchor_hops = np.full((size, len(labels)), NONE, np.uint8)
    for i, title in enumerate(graph.titles):
        row = anchor_row(title, taxonomy)
        if row is not None:
            anchor[i], anchor_hops[i] = True, row
    # the walk runs at a category that is walkable, exists and is not hidden
    active = rules.walkable & graph.exists & ~graph.hidden
    own_unknown = active & ~graph.known
    step = time.perf_counter()
    jumps = head_jump_edges(graph, rules, anchor, active)
    from_active = active[graph.child]
    up = from_active & ~anchor[graph.parent]
    ladder = Edges.of(graph.child[up], graph.parent[up])
    is_higher = higher(graph, ladder.target, ladder.child)
    higher_edges = Edges(ladder.child[is_higher], ladder.target[is_higher])
    to_anchor = from_active & anchor[graph.parent]
    anchor_edges = Edges.of(graph.child[to_anchor], graph.parent[to_anchor])
    progress(f"edge lists in {time.perf_counter() - step:.1f} s: {len(jumps.child)} head jumps, "
             f"{len(anchor_edges.child)} anchor parents, {len(higher_edges.child)} higher parents")
    by_anchor = anchor_edges.min_hops(anchor_hops)
    has_anchor = (by_anchor < NONE).any(axis=1)
    hops, unknown = anchor_hops.copy(), np.zeros(size, bool)
    iterations = 0
    for k in range(1, limits.max_hops + 2):
        step = time.perf_counter()
        by_jump = jumps.min_hops(hops)
        has_jump = (by_jump < NONE).any(axis=1)
        by_parent = higher_edges.min_hops(hops)
        new = np.where(has_jump[:, None], by_jump,
                       np.where(has_anchor[:, None], by_anchor, by_parent))
        new[~active] = anchor_hops[~active]
        tried_parents = ~has_jump & ~has_anchor
        new_unknown = active & (own_unknown | jumps.any(unknown)
                                | (tried_parents & higher_edges.any(unknown)))
        iterations = k
        done = np.array_equal(new, hops) and np.array_equal(new_unknown, unknown)
        hops, unknown = new, new_unknown
        progress(f"hops left {k}: {time.perf_counter() - step:.1f} s, "
                 f"{int((hops < NONE).any(axis=1).sum())} categories reach a topic")
        if done:
            break
    return Labelling(graph.titles, taxonomy, hops, unknown, rules.walkable, graph.known,
                     iterations)


@dataclass
class FileLabels:
    """Per file and label: confidence (0: absent), fewest hops, sources reaching it."""

    confidence: np.ndarray  # (files, labels) float64
    hops: np.ndarray  # uint8, 255 where absent
    sources: np.ndarray  # int32
    touched_unknown: np.ndarray


def label_files(labelling: Labelling, categories: Sequence[Sequence[str]],
                limits: WalkLimits | None = None) -> FileLabels:
    """Combine each file's distinct categories as `TopicHeuristic._evidence` does: a
    crossroads category counts for nothing; per label the fewest hops, and the noisy OR
    of `decay ** hops` over the categories in sorted order (the same float operations in
    the same order)."""
    limits = limits or WalkLimits()
    n_labels = len(labelling.taxonomy.labels)
    pairs = pd.DataFrame({
        "file": np.repeat(np.arange(len(categories)), [len(c) for c in categories]),
        "title": np.fromiter((t for c in categories for t in c), object,
                             sum(len(c) for c in categories)),
    }).drop_duplicates().sort_values(["file", "title"], kind="stable")
    ids = labelling.titles.get_indexer(pairs["title"])
    present = ids >= 0
    hops = np.full((len(pairs), n_labels), NONE, np.uint8)
    hops[present] = labelling.hops[ids[present]]
    unknown = np.zeros(len(pairs), bool)
    unknown[present] = labelling.unknown[ids[present]]
    # a title the graph lacks is UNKNOWN: the walk notes it when it would walk there;
    # anchors are always in the vocabulary, but a split of one may not be
    anchors = labelling.taxonomy.anchor_labels
    for i in np.flatnonzero(~present):
        title = pairs["title"].iat[i]
        unknown[i] = walkable(title, anchors)
        row = anchor_row(title, labelling.taxonomy)
        if row is not None:
            hops[i] = row
    hops[crossroads(hops, labelling.taxonomy)] = NONE
    file = pairs["file"].to_numpy()
    reached = hops < NONE
    factor = np.where(reached, 1.0 - limits.decay ** hops.astype(np.float64), 1.0)
    out_conf = np.zeros((len(categories), n_labels))
    out_hops = np.full((len(categories), n_labels), NONE, np.uint8)
    out_sources = np.zeros((len(categories), n_labels), np.int32)
    out_unknown = np.zeros(len(categories), bool)
    if len(pairs):
        heads = np.flatnonzero(np.r_[True, file[1:] != file[:-1]])
        files = file[heads]
        miss = np.ones((len(heads), n_labels))
        for i in range(n_labels):  # sequential products, as the per-file loop multiplies
            miss[:, i] = _ordered_products(factor[:, i], heads)
        sources = np.add.reduceat(reached.astype(np.int32), heads, axis=0)
        out_conf[files] = np.where(sources > 0, np.round(1.0 - miss, 6), 0.0)
        out_hops[files] = np.minimum.reduceat(hops, heads, axis=0)
        out_sources[files] = sources
        out_unknown[files] = np.logical_or.reduceat(unknown, heads)
    # `TopicHeuristic._evidence`: an umbrella of SUBTOPIC_ONLY without a sub-topic goes
    labels = labelling.taxonomy.labels
    for umbrella, subs in umbrella_rules(labelling.taxonomy).items():
        u = labels.index(umbrella)
        bare = (out_hops[:, [labels.index(s) for s in subs]] == NONE).all(axis=1)
        out_conf[bare, u], out_hops[bare, u], out_sources[bare, u] = 0.0, NONE, 0
    return FileLabels(out_conf, out_hops, out_sources, out_unknown)


def _ordered_products(values: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """Products of each segment, multiplied left to right like `a * b * c` in Python
    (a cumulative product, read at each segment's end, restarted per segment)."""
    out = np.ones(len(heads))
    ends = np.r_[heads[1:], len(values)]
    longest = int((ends - heads).max(initial=0))
    for offset in range(longest):
        live = heads + offset < ends
        out[live] = out[live] * values[heads[live] + offset]
    return out


def write_categories(labelling: Labelling, path: Path) -> None:
    """Per category that reaches anything: the fewest hops to each label (255: none)."""
    reached = np.flatnonzero((labelling.hops < NONE).any(axis=1))
    columns = {"category": pa.array(labelling.titles[reached].to_numpy(object), pa.string()),
               "touched_unknown": pa.array(labelling.unknown[reached])}
    for i, label in enumerate(labelling.taxonomy.labels):
        columns[f"hops:{label}"] = pa.array(labelling.hops[reached, i])
    pq.write_table(pa.table(columns), path)


def label_files_table(labelling: Labelling, files_path: Path, out_path: Path,
                      batch_rows: int = 1_000_000,
                      progress: Callable[[str], None] = log.info) -> int:
    """Stream the files table in batches (100 M files do not fit at once) into
    `files.parquet`: title, one confidence column per label, touched_unknown."""
    source = pq.ParquetFile(files_path)
    writer = None
    done = 0
    try:
        for batch in source.iter_batches(batch_size=batch_rows, columns=["title", "categories"]):
            frame = batch.to_pandas()
            result = label_files(labelling, [list(c) if c is not None else []
                                             for c in frame["categories"]])
            columns = {"title": pa.array(frame["title"].to_numpy(object), pa.string())}
            for i, label in enumerate(labelling.taxonomy.labels):
                columns[f"confidence:{label}"] = pa.array(result.confidence[:, i])
            columns["touched_unknown"] = pa.array(result.touched_unknown)
            table = pa.table(columns)
            if writer is None:
                writer = pq.ParquetWriter(out_path, table.schema)
            writer.write_table(table)
            done += len(frame)
            progress(f"files labelled: {done}")
    finally:
        if writer is not None:
            writer.close()
    return done


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backfill.label_graph",
        description="Label every category of a graph, then every file, with the category "
                    "heuristic's rules, vectorized over the whole graph.",
        epilog="Formats: see the module docstring (python -c 'import backfill.label_graph "
               "as m; print(m.__doc__)') and backfill/README.md.",
    )
    parser.add_argument("graph", type=Path, help="folder with nodes.parquet and edges.parquet")
    parser.add_argument("files", type=Path, help="Parquet table with title and categories")
    parser.add_argument("output", type=Path, help="folder for categories.parquet, files.parquet")
    parser.add_argument("--taxonomy", default="1.4", help="taxonomy version (default 1.4)")
    parser.add_argument("--max-hops", type=int, default=WalkLimits().max_hops,
                        help="hops from a file's category to an anchor (the per-file default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    taxonomy = load_taxonomy(args.taxonomy)
    limits = WalkLimits(max_hops=args.max_hops)
    started = time.perf_counter()
    graph = read_graph(args.graph, taxonomy)
    log.info("graph read in %.1f s: %d titles, %d parent edges",
             time.perf_counter() - started, len(graph.titles), len(graph.child))
    labelling = label_categories(graph, taxonomy, limits)
    args.output.mkdir(parents=True, exist_ok=True)
    write_categories(labelling, args.output / "categories.parquet")
    files = label_files_table(labelling, args.files, args.output / "files.parquet")
    log.info("done in %.1f s: %d files; peak RSS %.0f MB",
             time.perf_counter() - started, files, peak_rss_mb())
    return 0


if __name__ == "__main__":
    sys.exit(main())

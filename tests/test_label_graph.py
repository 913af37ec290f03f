"""Whole-graph labelling against the per-file heuristic: the validation slice and
constructed graphs, both read by the two labellers from the same Parquet tables.

The reference is `TopicHeuristic`'s own walk and evidence. Its public `label` first
explores the graph level by level, and that exploration can leave a category on the
walk undescribed (a category first met through a parent that is not higher is never
expanded later, when a head jump or a higher edge reaches it): on the slice that
happens to 9 files. So the exact comparison runs the heuristic's walk over the whole
graph description (its result as a pure function of the graph, as its docstring
defines it), and a second test pins which files `label` differs on, and why.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backfill.label_graph import NONE, label_categories, label_files, read_graph
from classifier.category_heuristic import TopicHeuristic, WalkLimits, _FileWalk
from classifier.taxonomy import load_taxonomy
from training.heuristic_graph import load_bench_graph

ROOT = Path(__file__).resolve().parents[1]
VALIDATION = (Path(__file__).resolve().parents[2] / "shared" / "data" / "heuristic-bench"
              / "validation")
TAXONOMY = load_taxonomy("1.4")
UNLIMITED = WalkLimits(max_lookups=10**9)


def whole_graph(directory: Path, files: list[list[str]], limits: WalkLimits = UNLIMITED):
    labelling = label_categories(read_graph(directory, TAXONOMY), TAXONOMY, limits,
                                 progress=lambda _: None)
    return label_files(labelling, files, limits)


def as_dicts(result, i: int) -> tuple[dict[str, tuple[int, int, float]], bool]:
    labels = {
        TAXONOMY.labels[j]: (int(result.hops[i, j]), int(result.sources[i, j]),
                             float(result.confidence[i, j]))
        for j in range(len(TAXONOMY.labels)) if result.hops[i, j] < NONE
    }
    return labels, bool(result.touched_unknown[i])


def reference(heuristic: TopicHeuristic, categories: list[str], full: bool
              ) -> tuple[dict[str, tuple[int, int, float]], bool]:
    """The per-file heuristic's labels: hops (path length), sources, confidence, flag;
    with `full`, its walk over the whole graph description instead of its exploration."""
    if full:
        graph = heuristic.graph
        titles = {*graph._infos, *categories,
                  *(p for info in graph._infos.values() for p in info.parents or ())}
        walk = _FileWalk(heuristic, graph.lookup(titles))  # absent titles are UNKNOWN
        found = [walk.reach(s, heuristic.limits.max_hops + 1) for s in sorted(set(categories))]
        topics, unknown = heuristic._evidence(found), walk.unknown
    else:
        result = heuristic.label(categories)
        topics, unknown = result.topics, result.touched_unknown
    return {t.label: (len(t.path) - 1, t.sources, t.confidence) for t in topics}, unknown


def assert_same(got, want) -> None:
    (got_labels, got_unknown), (want_labels, want_unknown) = got, want
    assert got_unknown == want_unknown
    assert {k: v[:2] for k, v in got_labels.items()} == {k: v[:2] for k, v in want_labels.items()}
    for label, (_, _, confidence) in want_labels.items():
        assert got_labels[label][2] == pytest.approx(confidence, abs=1e-9)


@pytest.fixture(scope="module")
def validation():
    if not (VALIDATION / "files.parquet").exists():
        pytest.skip("the heuristic-bench validation slice is not on this machine")
    files = pd.read_parquet(VALIDATION / "files.parquet")
    categories = [list(c) for c in files["categories"]]
    heuristic = TopicHeuristic(load_bench_graph(VALIDATION), TAXONOMY, UNLIMITED)
    return files, categories, heuristic, whole_graph(VALIDATION, categories)


def test_validation_slice_equals_the_per_file_walk(validation):
    files, categories, heuristic, result = validation
    for i, cats in enumerate(categories):
        assert_same(as_dicts(result, i), reference(heuristic, cats, full=True))
    assert result.confidence.any(axis=1).sum() > 250  # the comparison is not vacuous


def test_validation_slice_label_equals_the_whole_graph(validation):
    """The public, batched `label()` explores exactly what the full walk needs: its
    labels equal the whole-graph labels on every file (it once missed categories first
    met from a child that lies higher, and lost labels on 9 of these files)."""
    files, categories, heuristic, result = validation
    for i, cats in enumerate(categories):
        public = reference(heuristic, cats, full=False)
        assert public == reference(heuristic, cats, full=True), files["title"].iat[i]
        assert_same(as_dicts(result, i), public)


def write_graph(folder: Path, parents: dict[str, list[str]], depth: dict[str, int | None],
                hidden: set[str] = frozenset(), unknown: set[str] = frozenset()) -> Path:
    """nodes/edges tables in the heuristic-bench format; `unknown` nodes are not expanded."""
    names = sorted({*parents, *(p for ps in parents.values() for p in ps), *depth})
    nodes = pd.DataFrame({
        "category": names,
        "expanded": [n not in unknown for n in names],
        "hidden": [n in hidden for n in names],
        "not_connected": False,
        "red_link": False,
        "depth": pd.array([depth.get(n) for n in names], dtype="Int64"),
    })
    rows = [(c, p, r) for c, ps in parents.items() if c not in unknown
            for r, p in enumerate(ps)]
    edges = pd.DataFrame(rows, columns=["child", "parent", "rank"]).assign(kind="parent")
    folder.mkdir(parents=True, exist_ok=True)
    nodes.to_parquet(folder / "nodes.parquet")
    edges.to_parquet(folder / "edges.parquet")
    return folder


def check_graph(folder: Path, files: list[list[str]], limits: WalkLimits = UNLIMITED,
                public: bool = False) -> None:
    heuristic = TopicHeuristic(load_bench_graph(folder), TAXONOMY, limits)
    result = whole_graph(folder, files, limits)
    for i, cats in enumerate(files):
        assert_same(as_dicts(result, i), reference(heuristic, cats, full=True))
        if public:
            assert_same(as_dicts(result, i), reference(heuristic, cats, full=False))


def test_rules_on_a_constructed_graph(tmp_path):
    """Head jumps (with a more specific head blocking a shorter one), anchor parents
    before higher parents, hidden and date categories, unknown parents, depth."""
    parents = {
        "Churches in Kent": ["Churches in England by county", "Buildings in Kent"],
        "Churches in England by county": ["Churches in England"],
        "Churches in England": ["Churches", "Buildings in England"],
        "Churches": ["Architecture"],
        "Buildings in Kent": ["Kent", "Buildings"],
        "Buildings": ["Architecture"],
        "Kent": ["Places"],
        "War memorials in Kent": ["War memorials by county", "Memorials in Kent"],
        "War memorials by county": ["War memorials"],
        "Memorials in Kent": ["Memorials"],
        "War memorials": ["Monuments and memorials"],
        "Memorials": ["History"],
        "1922 in Kent": ["Kent"],
        "Hidden things": ["Art"],
        "Mystery": ["Unknown parent"],
        "Photographs of Kent": ["Photographs", "Kent"],
        "Cats": ["Animalia", "Pets"],
        "Pets": ["Animals in culture"],
    }
    depth = {"Churches in Kent": 6, "Churches in England by county": 5,
             "Churches in England": 4, "Churches": 3, "Buildings in Kent": 5, "Buildings": 3,
             "Kent": 3, "War memorials in Kent": 6, "War memorials by county": 5,
             "Memorials in Kent": 5, "War memorials": 3, "Memorials": 3, "Cats": 4, "Pets": 3,
             "Photographs of Kent": 5, "Mystery": 4, "Unknown parent": 3}
    folder = write_graph(tmp_path, parents, depth, hidden={"Hidden things"},
                         unknown={"Unknown parent"})
    files = [["Churches in Kent"], ["War memorials in Kent"], ["1922 in Kent", "Kent"],
             ["Hidden things"], ["Mystery"], ["Photographs of Kent"], ["Cats"],
             ["Not in the graph", "Architecture"], [],
             ["Churches in Kent", "War memorials in Kent", "Cats"]]
    check_graph(folder, files, public=True)
    result = whole_graph(folder, files)
    labels = [set(as_dicts(result, i)[0]) for i in range(len(files))]
    assert "Architecture" in labels[0] and "Places" in labels[0]
    assert "Monuments & Memorials" in labels[1] and "History" not in labels[1]
    assert labels[3] == set() and as_dicts(result, 4)[1] is True  # hidden; unknown parents
    assert as_dicts(result, 7)[1] is True  # a category the graph lacks is unknown


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_with_cycles_and_long_chains(tmp_path, seed):
    """Random graphs with head-sharing titles, missing depths (so cycles are walked until
    the hop budget ends), chains longer than max_hops, hidden and unknown nodes."""
    rng = random.Random(seed)
    heads = ["Churches", "Bridges", "Cats", "Maps", "Paintings", "Ships", "Church", "Births",
             "Arts", "The arts"]
    places = ["Kent", "Paris", "Ohio", "Peru"]
    anchors = list(TAXONOMY.anchor_labels)
    names = [f"{h} in {p}" for h in heads for p in places] + heads + places + [
        f"{h} by {x}" for h in heads for x in ("country", "type")] + [
        f"Chain {i}" for i in range(30)]
    depth = {n: (rng.randint(2, 12) if rng.random() < 0.75 else None) for n in names}
    parents: dict[str, list[str]] = {}
    for n in names:
        pool = names + anchors * 2
        parents[n] = rng.sample(pool, rng.randint(0, 4))
    for i in range(29):  # a chain longer than a short hop budget
        parents[f"Chain {i}"] = [f"Chain {i + 1}"]
        depth[f"Chain {i}"] = 31 - i
    parents["Chain 29"], depth["Chain 29"] = ["Plantae"], 2
    folder = write_graph(tmp_path, parents, depth,
                         hidden=set(rng.sample(names, 3)), unknown=set(rng.sample(names, 4)))
    files = [rng.sample(names, rng.randint(1, 4)) for _ in range(60)] + [["Chain 0"]]
    check_graph(folder, files)
    check_graph(folder, files, limits=WalkLimits(max_hops=5, max_lookups=10**9))


def test_command_help():
    result = subprocess.run([sys.executable, "-m", "backfill.label_graph", "--help"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert "nodes.parquet" in result.stdout and "--max-hops" in result.stdout


def test_command_writes_tables(tmp_path):
    folder = write_graph(tmp_path / "graph", {"Cats": ["Animalia"]}, {"Cats": 3})
    pd.DataFrame({"title": ["A.jpg", "B.jpg"], "categories": [["Cats"], []]}).to_parquet(
        tmp_path / "files.parquet")
    subprocess.run([sys.executable, "-m", "backfill.label_graph", str(folder),
                    str(tmp_path / "files.parquet"), str(tmp_path / "out")], cwd=ROOT,
                   check=True, capture_output=True, env={"PYTHONPATH": str(ROOT),
                                                         "PATH": "/usr/bin:/bin"})
    files = pd.read_parquet(tmp_path / "out" / "files.parquet")
    assert np.isclose(files.loc[0, "confidence:Animals"], 0.85)
    assert files.loc[1, "confidence:Animals"] == 0.0
    assert "hops:Animals" in pd.read_parquet(tmp_path / "out" / "categories.parquet")


def test_bare_society_is_dropped_by_both_labellers(tmp_path):
    """The umbrella rule (`SUBTOPIC_ONLY`): Society alone goes, Society with People stays."""
    parents = {"Acme Ltd": ["Companies"], "Companies": ["Organizations"],
               "Organizations": ["Society"], "Acme staff": ["People"]}
    depth = {"Acme Ltd": 5, "Companies": 4, "Organizations": 3, "Acme staff": 4}
    folder = write_graph(tmp_path, parents, depth)
    files = [["Acme Ltd"], ["Acme Ltd", "Acme staff"]]
    check_graph(folder, files, public=True)
    result = whole_graph(folder, files)
    assert as_dicts(result, 0)[0] == {}
    assert as_dicts(result, 1)[0]["Society"][1] == 2  # both sources count once kept


def test_splits_and_crossroads_by_both_labellers(tmp_path):
    """A "by"-split of an anchor is that anchor, one hop on, also when the graph lacks
    it; a split of a bare medium leads nowhere; a crossroads file category counts for
    nothing, while one whose topics include an ancestor of another does."""
    parents = {
        "Sportspeople": ["People by occupation", "Sports"],
        "People by occupation": ["People", "Occupations"],
        "Photographs by country": ["Art by country by medium"],
        "Jacob's staff": ["Navigational equipment", "Inventions", "Astronomical tools"],
        "Navigational equipment": ["Technology"], "Inventions": ["History"],
        "Astronomical tools": ["Astronomy"],
        "Churches": ["Architecture", "Places"],
    }
    depth = {"Sportspeople": 5, "People by occupation": 5, "Photographs by country": 4,
             "Jacob's staff": 6, "Navigational equipment": 5, "Inventions": 5,
             "Astronomical tools": 5, "Churches": 4}
    folder = write_graph(tmp_path, parents, depth)
    files = [["Sportspeople"], ["Photographs by country"], ["Jacob's staff"],
             ["Jacob's staff", "Churches"], ["Maps by a cartographer not in the graph"]]
    check_graph(folder, files, public=True)
    result = whole_graph(folder, files)
    labels = [as_dicts(result, i)[0] for i in range(len(files))]
    assert labels[0]["People"][0] == 2 and labels[0]["Sports"][0] == 1
    assert labels[1] == {} and labels[2] == {}
    assert set(labels[3]) == {"Places", "Architecture"}
    assert labels[4]["Maps & Flags"][0] == 1 and as_dicts(result, 4)[1] is False


def test_head_numbers_and_anchor_heads_by_both_labellers(tmp_path):
    """The other number of a shared head is a target only when the titles use both
    numbers; a head that an anchor's title specialises ("Births") is that anchor."""
    parents = {
        "Seven liberal arts": ["The arts", "Medieval education"],
        "The arts": ["Creativity"],
        "Arts": ["Creativity"],
        "Battle of Stalingrad": ["Battles of World War II", "Stalingrad"],
        "Battles of World War II": ["World War II"],
        "Battles": ["Events"],
        "Births in Budapest": ["Births in Pest County", "People of Budapest"],
        "Births in Pest County": ["Pest County"],
        "Births": ["Health"],
    }
    depth = {"Seven liberal arts": 6, "The arts": 4, "Arts": 3, "Battle of Stalingrad": 6,
             "Battles of World War II": 5, "Battles": 3, "Births in Budapest": 8,
             "Births in Pest County": 9, "Births": 6, "Creativity": 3}
    folder = write_graph(tmp_path, parents, depth, unknown={"Arts"})
    files = [["Seven liberal arts"], ["Battle of Stalingrad"], ["Births in Budapest"]]
    check_graph(folder, files, public=True)
    result = whole_graph(folder, files)
    labels = [set(as_dicts(result, i)[0]) for i in range(len(files))]
    assert labels == [set(), {"Society", "Events"}, {"Society", "People"}]

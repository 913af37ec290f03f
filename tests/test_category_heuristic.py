"""The category -> topic walk on small constructed graphs."""

import itertools
import random

from classifier.category_graph import UNKNOWN, CategoryInfo, InMemoryGraph
from classifier.category_heuristic import TopicHeuristic, WalkLimits, head_anchors, shared_heads
from classifier.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy("1.4")


def labeller(parents, hidden=(), limits=None, **kw):
    graph = InMemoryGraph.from_parents(parents, hidden=hidden, **kw)
    return TopicHeuristic(graph, TAXONOMY, limits), graph


def test_anchor_parent_gives_label_with_ancestors_and_path():
    h, _ = labeller({"Church of St Mary": ["Churches"], "Churches": ["Architecture"]})
    result = h.label(["Church of St Mary"])
    assert result.labels() == ("Places", "Architecture")
    evidence = {t.label: t for t in result.topics}
    assert evidence["Architecture"].path == ("Church of St Mary", "Churches", "Architecture")
    assert not result.touched_unknown


def test_anchors_are_terminal():
    h, _ = labeller({"Music": ["Culture", "Art"], "Songs": ["Music"]})
    assert h.label(["Songs"]).labels() == ("Culture", "Music")


def test_cycles_terminate():
    h, _ = labeller({"A": ["B"], "B": ["C"], "C": ["A", "Maps"]})
    result = h.label(["A"])
    assert result.labels() == ("Places", "Maps & Flags")


def test_diamond_counts_each_source_once_and_keeps_shortest_path():
    h, _ = labeller({"X": ["L", "R"], "L": ["Top"], "R": ["Top"], "Top": ["Food"]})
    food = {t.label: t for t in h.label(["X"]).topics}["Food"]
    assert food.sources == 1
    assert food.path == ("X", "L", "Top", "Food")


def test_two_sources_raise_confidence():
    parents = {"A": ["M"], "B": ["M"], "M": ["Mid"], "Mid": ["Music"]}
    h, _ = labeller(parents)
    one = {t.label: t for t in h.label(["A"]).topics}["Music"]
    two = {t.label: t for t in h.label(["A", "B"]).topics}["Music"]
    assert two.sources == 2 and two.confidence > one.confidence
    assert 0.0 < one.confidence < 1.0


def test_hidden_categories_yield_nothing():
    h, _ = labeller({"Files by User:X": ["Maps"]}, hidden=["Files by User:X"])
    assert h.label(["Files by User:X"]).labels() == ()


def test_null_heads_yield_nothing():
    h, _ = labeller({"1922 in Kent": ["Events"], "Categories by country": ["Events"]})
    assert h.label(["1922 in Kent", "Categories by country"]).labels() == ()


def test_red_link_yields_nothing_and_is_not_unknown():
    h, _ = labeller({})
    result = h.label(["No such category"])
    assert result.labels() == () and not result.touched_unknown


def test_unknown_parents_are_reported():
    graph = InMemoryGraph({"Mystery": UNKNOWN}, default=UNKNOWN)
    result = TopicHeuristic(graph, TAXONOMY).label(["Mystery"])
    assert result.labels() == () and result.touched_unknown


def test_head_jump_with_plural_matching_skips_the_place_branch():
    parents = {
        "Temple in Kyoto": ["Kyoto", "Temples in Japan"],
        "Kyoto": ["Cities"],
        "Cities": ["Places"],
        "Temples in Japan": ["Japan"],
        "Japan": ["Countries"],
        "Countries": ["Places"],
        "Temples": ["Architecture"],
    }
    h, _ = labeller(parents)
    result = h.label(["Temple in Kyoto"])
    assert result.labels() == ("Places", "Architecture")
    evidence = {t.label: t for t in result.topics}
    assert evidence["Architecture"].path == ("Temple in Kyoto", "Temples", "Architecture")


def test_head_jump_straight_to_an_anchor():
    h, _ = labeller({"Maps of Kent": ["Kent", "Maps of England"], "Kent": ["Places"]})
    assert h.label(["Maps of Kent"]).labels() == ("Places", "Maps & Flags")


def test_a_head_no_parent_shares_is_not_a_jump():
    # "Sheffield" is part of a name here, not the kind of thing the category holds
    parents = {
        "Washington W. Sheffield": ["Dentists"],
        "Dentists": ["Health"],
        "Sheffield": ["Cities"],
        "Cities": ["Places"],
    }
    h, _ = labeller(parents)
    assert h.label(["Washington W. Sheffield"]).labels() == ("STEM", "Medicine & Health")


def test_heads_shared_by_two_parents_are_jumps_too():
    parents = {
        "Southampton Cenotaph": [
            "War memorials in Southampton",
            "War memorials by Edwin Lutyens",
            "Watts Park",
        ],
        "War memorials in Southampton": ["Southampton"],
        "Southampton": ["Places"],
        "War memorials by Edwin Lutyens": ["Edwin Lutyens"],
        "Edwin Lutyens": ["People"],
        "Watts Park": ["Parks"],
        "Parks": ["Landscapes"],
        "War memorials": ["Monuments and memorials"],
    }
    h, _ = labeller(parents)
    result = h.label(["Southampton Cenotaph"])
    assert result.labels() == ("Places", "Monuments & Memorials")
    evidence = {t.label: t for t in result.topics}
    assert evidence["Monuments & Memorials"].path == (
        "Southampton Cenotaph",
        "War memorials",
        "Monuments and memorials",
    )


def test_no_jump_to_a_head_that_does_not_exist():
    parents = {
        "Churches in Kent": ["Buildings in Kent", "Churches in England"],
        "Buildings in Kent": ["Food"],
        "Churches in England": ["Food"],
    }
    h, _ = labeller(parents)
    assert h.label(["Churches in Kent"]).labels() == ("Culture", "Food")


def test_medium_categories_lead_nowhere():
    parents = {
        "Photographs of Paris": ["Photographs", "Paris"],
        "Photographs": ["Art"],
        "Paris": ["Places"],
    }
    h, _ = labeller(parents)
    assert h.label(["Photographs of Paris"]).labels() == ("Places",)


def test_anchor_parents_win_over_other_parents():
    h, _ = labeller({"A": ["Food", "B"], "B": ["Music"]})
    assert h.label(["A"]).labels() == ("Culture", "Food")


DRIFT = {"A": ["X", "B"], "X": ["Food"], "B": ["C"], "C": ["Music"]}


def test_without_depths_every_parent_is_followed():
    """The live wiki gives no depths: the walk falls back to all parents."""
    h, _ = labeller(DRIFT)
    assert h.label(["A"]).labels() == ("Culture", "Music", "Food")


def test_with_depths_only_parents_closer_to_the_root_are_followed():
    # B is a sibling-like parent (deeper than A): the walk does not go there
    h, _ = labeller(DRIFT, depths={"A": 5, "X": 4, "B": 6, "C": 5})
    assert h.label(["A"]).labels() == ("Culture", "Food")


def test_with_depths_a_parent_of_unknown_depth_is_not_followed():
    h, _ = labeller(DRIFT, depths={"A": 5, "X": 4})
    assert h.label(["A"]).labels() == ("Culture", "Food")


def test_with_depths_a_head_jump_must_go_higher():
    parents = {
        "Churches in Kent": ["Kent", "Churches in England"],
        "Kent": ["Places"],
        "Churches in England": ["Churches"],
        "Churches": ["Architecture"],
    }
    deep = {"Churches in Kent": 6, "Kent": 5, "Churches in England": 7, "Churches": 8}
    h, _ = labeller(parents, depths=deep)
    assert h.label(["Churches in Kent"]).labels() == ("Places",)
    high = deep | {"Churches": 4}
    h, _ = labeller(parents, depths=high)
    assert h.label(["Churches in Kent"]).labels() == ("Places", "Architecture")


def test_a_later_rule_is_tried_when_the_jump_finds_nothing():
    parents = {
        "Churches in Kent": ["Kent", "Churches in England"],
        "Kent": ["Places"],
        "Churches in England": ["England"],
        "Churches": ["Nowhere"],
    }
    h, _ = labeller(parents)
    assert h.label(["Churches in Kent"]).labels() == ("Places",)


def test_max_hops_bounds_the_walk():
    chain = {f"C{i}": [f"C{i + 1}"] for i in range(20)} | {"C20": ["Food"]}
    h, _ = labeller(chain, limits=WalkLimits(max_hops=10))
    assert h.label(["C0"]).labels() == ()
    h, _ = labeller(chain, limits=WalkLimits(max_hops=21))
    assert h.label(["C0"]).labels() == ("Culture", "Food")


def test_lookup_budget_bounds_the_walk():
    wide = {"Root": [f"P{i}" for i in range(50)]} | {f"P{i}": ["Food"] for i in range(50)}
    h, _ = labeller(wide, limits=WalkLimits(max_lookups=10))
    result = h.label(["Root"])
    assert result.truncated and result.lookups <= 10


def test_one_lookup_per_level():
    parents = {"A": ["B", "C"], "B": ["D"], "C": ["D"], "D": ["Food"]}
    h, graph = labeller(parents)
    h.label(["A", "B"])
    assert graph.calls == 2  # {A, B}, then {C, D}; nothing new is left to ask after that


def test_deterministic_under_order_and_history():
    rng = random.Random(7)
    nodes = [f"N{i}" for i in range(30)]
    anchors = ["Food", "Music", "Maps", "Sports"]
    parents = {n: rng.sample(nodes + anchors, 3) for n in nodes}
    cats = nodes[:6]
    h, _ = labeller(parents)
    reference = h.label(cats)
    for perm in itertools.islice(itertools.permutations(cats), 20):
        h.label(rng.sample(nodes, 5))  # whatever was labelled before
        assert h.label(list(perm)) == reference
    shuffled = dict(rng.sample(list(parents.items()), len(parents)))
    h2, _ = labeller({k: rng.sample(v, len(v)) for k, v in shuffled.items()})
    assert h2.label(cats) == reference


def test_category_info_defaults_mean_a_plain_existing_category():
    info = CategoryInfo(parents=())
    assert info.exists and not info.hidden


def test_society_alone_is_dropped_but_kept_with_a_sub_topic():
    """"Society" reached straight from an institution category is drift; with People
    (or another sub-topic) it stays, with its own evidence."""
    parents = {"Acme Ltd": ["Companies"], "Companies": ["Organizations"],
               "Organizations": ["Society"], "Acme staff": ["People"]}
    h, _ = labeller(parents)
    assert h.label(["Acme Ltd"]).labels() == ()
    both = h.label(["Acme Ltd", "Acme staff"])
    assert both.labels() == ("Society", "People")
    society = {t.label: t for t in both.topics}["Society"]
    assert society.sources == 2 and society.path == ("Acme staff", "People")


def test_culture_alone_is_dropped_but_kept_with_a_sub_topic():
    """Culture is an umbrella like Society: "Cultural heritage" alone says nothing the
    image shows; with Food it stays."""
    parents = {"Cultural heritage": ["Culture"], "Soups": ["Food"]}
    h, _ = labeller(parents)
    assert h.label(["Cultural heritage"]).labels() == ()
    assert h.label(["Cultural heritage", "Soups"]).labels() == ("Culture", "Food")


def test_other_umbrellas_stand_alone():
    h, _ = labeller({"Nature reserves": ["Nature"], "Parks": ["Places"]})
    assert h.label(["Nature reserves", "Parks"]).labels() == ("STEM", "Nature", "Places")


def test_a_by_split_of_an_anchor_is_that_anchor():
    """"People by occupation" holds only people: reaching it is reaching People, one
    hop further, even where its depth says it lies higher than People (which the
    depth rule would otherwise forbid), and without walking on from it."""
    parents = {"Chemists": ["People by occupation", "Natural scientists"],
               "People by occupation": ["People", "Occupations"],
               "Natural scientists": ["Science"], "Science": ["STEM"],
               "Occupations": ["Economy"], "Economy": ["Society"]}
    depth = {"Chemists": 6, "People by occupation": 6, "People": 7, "Natural scientists": 5,
             "Science": 4, "Occupations": 3, "Economy": 2}
    h, _ = labeller(parents, depths=depth)
    result = h.label(["Chemists"])
    assert result.labels() == ("Society", "People")  # an anchor parent: rule 4 decides
    evidence = {t.label: t for t in result.topics}
    assert evidence["People"].path == ("Chemists", "People by occupation", "People")
    assert evidence["Society"].path == evidence["People"].path  # not on via Occupations
    assert evidence["People"].confidence == round(0.85**2, 6)
    assert h.label(["Art by country by medium"]).labels() == ("Culture", "Art")
    assert h.label(["Art by country by medium"]).topics[1].path == (
        "Art by country by medium", "Art")


def test_a_split_of_a_bare_medium_leads_nowhere():
    """"Photographs by country" is only a split of "Photographs"; "Photographs of
    Kent" is about Kent."""
    parents = {"Photographs by country": ["Art by country by medium"],
               "Photographs by John Smith": ["John Smith"], "John Smith": ["People"],
               "Photographs of Kent": ["Photographs", "Kent"], "Kent": ["Places"]}
    h, _ = labeller(parents)
    assert h.label(["Photographs by country", "Photographs by John Smith"]).labels() == ()
    assert h.label(["Photographs of Kent"]).labels() == ("Places",)


def test_a_crossroads_category_gives_nothing():
    """A file category whose walk reaches three distinct topics says nothing about which
    one the file shows; two topics, or a topic with its ancestors, are not a crossroads;
    other categories of the same file still count."""
    parents = {"Jacob's staff": ["Navigational equipment", "Inventions", "Astronomical tools"],
               "Navigational equipment": ["Technology"], "Inventions": ["History"],
               "Astronomical tools": ["Astronomy"],
               "HMS Victory": ["Ships", "Paintings of ships"], "Ships": ["Transport"],
               "Paintings of ships": ["Art"],
               "Churches": ["Architecture", "Places"]}
    h, _ = labeller(parents)
    staff = h.label(["Jacob's staff"])
    assert staff.labels() == () and staff.crossroads == ("Jacob's staff",)
    both = h.label(["Jacob's staff", "HMS Victory", "Churches"])
    assert both.labels() == ("Places", "Architecture", "Society", "Transportation",
                             "Culture", "Art")
    assert both.crossroads == ("Jacob's staff",)
    assert {t.label: t.sources for t in both.topics}["Places"] == 1


def test_the_other_number_is_a_target_only_when_the_titles_use_both():
    # "Seven liberal arts" and "The arts" share "Arts"; "Art" is another category
    parents = {
        "Seven liberal arts": ["The arts", "Medieval education"],
        "The arts": ["Creativity"],
        "Medieval education": ["Education"],
        "Art": [],
    }
    h, _ = labeller(parents)
    assert h.label(["Seven liberal arts"]).labels() == ()
    assert shared_heads("Seven liberal arts", ("Medieval education", "The arts")) == ("Arts",)
    # "Battle of Stalingrad" under "Battles of World War II": both numbers, both targets
    parents = {
        "Battle of Stalingrad": ["Battles of World War II", "Stalingrad"],
        "Battles of World War II": ["World War II"],
        "Stalingrad": ["Cities"],
        "Battles": ["Events"],
    }
    h, _ = labeller(parents)
    result = h.label(["Battle of Stalingrad"])
    assert result.labels() == ("Society", "Events")
    assert {t.label: t.path for t in result.topics}["Events"] == (
        "Battle of Stalingrad", "Battles", "Events")
    assert shared_heads("Battle of Stalingrad", ("Battles of World War II", "Stalingrad")) == (
        "Battle", "Battles")


def test_a_head_an_anchor_specialises_leads_to_that_anchor():
    # "Births" lies above the anchor "Human births"; its own parents are the biology
    parents = {
        "Births in Budapest": ["Births in Pest County", "People of Budapest"],
        "Births in Pest County": ["Pest County"],
        "People of Budapest": ["Budapest"],
        "Births": ["Health", "Animal reproduction"],
    }
    h, _ = labeller(parents)
    result = h.label(["Births in Budapest"])
    assert result.labels() == ("Society", "People")
    assert {t.label: t.path for t in result.topics}["People"] == (
        "Births in Budapest", "Human births")
    assert head_anchors(TAXONOMY.anchor_labels) == {
        "birth": "Human births", "memorial": "Monuments and memorials"}

"""The live category back-end on a real MediaWiki: topics of an upload from its leaf
category, hidden categories and red links, and the API cost with a cold and warm cache
(counted server-side, by a proxy in front of the wiki)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pywikibot

from bot.category_parents import LiveCategoryGraph
from bot.metadata import FileInfo, fetch_metadata
from bot.store import Store
from classifier.category_heuristic import TopicHeuristic
from classifier.taxonomy import load_taxonomy
from tests.fault_proxy import FaultProxy
from tests.wiki_fixtures import variant

pytestmark = pytest.mark.integration


def _category_requests(proxy: FaultProxy) -> int:
    """API requests of the live back-end so far (pywikibot's own, such as userinfo, aside)."""
    return sum("categoryinfo" in s.params.get("prop", "") for s in proxy.api_requests())


def test_live_graph_labels_an_upload_from_its_leaf_category(wiki, images, tmp_path):
    client = wiki.client()
    client.edit("Category:Tabby cats", "A leaf. [[Category:Felis catus]]")
    client.edit("Category:Cat maintenance", "Tracking. __HIDDENCAT__")
    photo = images["Chelsea the cat.jpg"]
    categories = ["Tabby cats", "Cat maintenance", "Cats nobody described"]
    client.upload("Tabby on a sofa.jpg", variant(photo, 500), categories)
    client.upload("Tabby on a chair.jpg", variant(photo, 501), categories)

    with FaultProxy(wiki.port) as proxy:
        site = pywikibot.Site(url=proxy.api_url)  # read-only, no account needed
        store = Store(f"sqlite:///{tmp_path}/store.sqlite")
        graph = LiveCategoryGraph(site, store, max_age=timedelta(hours=1))
        heuristic = TopicHeuristic(graph, load_taxonomy())

        metas = fetch_metadata(site, ["File:Tabby on a sofa.jpg", "File:Tabby on a chair.jpg"], 330)
        first = metas["File:Tabby on a sofa.jpg"]
        assert isinstance(first, FileInfo)
        assert sorted(first.categories) == ["Cats nobody described", "Tabby cats"]  # not hidden

        before = _category_requests(proxy)
        result = heuristic.label(first.categories)
        cold = _category_requests(proxy) - before
        assert not result.touched_unknown
        assert set(result.labels()) >= {"Animals", "Nature"}
        [animals] = [t for t in result.topics if t.label == "Animals"]
        assert animals.path == ("Tabby cats", "Felis catus", "Felidae", "Mammals", "Animalia")

        # the second upload in the same categories: everything comes from the cache
        before = _category_requests(proxy)
        again = heuristic.label(metas["File:Tabby on a chair.jpg"].categories)
        warm = _category_requests(proxy) - before
        assert again == result
        assert warm == 0 < cold

        # a later run with the same store (the cache is durable) asks nothing either
        later = LiveCategoryGraph(site, store, max_age=timedelta(hours=1))
        before = _category_requests(proxy)
        described = later.lookup(["Cat maintenance", "Cats nobody described", "Felis catus"])
        assert _category_requests(proxy) - before == 1  # only "Cat maintenance" was never walked
        assert described["Cat maintenance"].hidden
        assert described["Cats nobody described"].exists is False
        assert described["Felis catus"].parents == ("Felidae",)

        expired = LiveCategoryGraph(site, store, max_age=timedelta(seconds=0))
        before = _category_requests(proxy)
        TopicHeuristic(expired, load_taxonomy()).label(first.categories)
        assert _category_requests(proxy) - before == cold  # the cache expired: ask again
    print(f"\ncategory API requests for one new upload: cold cache {cold}, warm cache {warm}")


def test_a_reverted_re_parenting_stops_counting_at_the_next_lookup(wiki, tmp_path):
    """Category vandalism: Felis domesticus re-parented under Maps, then reverted. The
    cache (a week by default) must not keep the vandal's parents."""
    client = wiki.client()
    client.edit("Category:Felis domesticus", "[[Category:Felidae]]")
    site = pywikibot.Site(url=wiki.api_url)
    graph = LiveCategoryGraph(
        site, Store(f"sqlite:///{tmp_path}/store.sqlite"), max_age=timedelta(hours=168)
    )
    assert graph.lookup(["Felis domesticus"])["Felis domesticus"].parents == ("Felidae",)
    client.edit("Category:Felis domesticus", "[[Category:Maps]]")  # the vandal
    assert graph.lookup(["Felis domesticus"])["Felis domesticus"].parents == ("Maps",)
    client.edit("Category:Felis domesticus", "[[Category:Felidae]]")  # the revert
    assert graph.lookup(["Felis domesticus"])["Felis domesticus"].parents == ("Felidae",)
    red = "Felis domesticus (red link)"
    assert graph.lookup([red])[red].exists is False  # cached as a red link
    client.edit(f"Category:{red}", "[[Category:Felidae]]")  # then the page is created
    assert graph.lookup([red])[red].parents == ("Felidae",)

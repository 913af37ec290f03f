"""The implicit review signal on a real MediaWiki: a suggestion whose topic the file's
categories did not imply is confirmed once someone categorises the file into it, and
only then; a file that has gone is skipped without harm."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pywikibot

from bot.category_parents import LiveCategoryGraph
from bot.category_recheck import CategoryRecheck
from bot.store import Store
from classifier.category_heuristic import TopicHeuristic
from classifier.taxonomy import load_taxonomy
from tests.test_review_store import add_file
from tests.wiki_fixtures import variant

pytestmark = pytest.mark.integration


def test_categories_added_later_confirm_the_suggestion_once(wiki, images, tmp_path):
    client = wiki.client()
    client.upload("Recheck cat.jpg", variant(images["Chelsea the cat.jpg"], 700), ["Test uploads"])
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    ids = add_file(store, 1, {"Animals": 0.9, "Food": 0.4}, title="File:Recheck cat.jpg")
    add_file(store, 2, {"Animals": 0.8}, title="File:Never uploaded.jpg")
    site = pywikibot.Site(url=wiki.api_url)
    heuristic = TopicHeuristic(LiveCategoryGraph(site, store, timedelta(hours=1)), load_taxonomy())
    recheck = CategoryRecheck(
        site, store, heuristic, timedelta(days=1), per_pass=10, thumb_width=330
    )

    assert recheck.run() == 0  # "Test uploads" implies no topic yet

    text = client.page_text("File:Recheck cat.jpg")
    client.edit("File:Recheck cat.jpg", text + "\n[[Category:Felis catus]]")
    assert recheck.run() == 1
    assert recheck.run() == 0  # marked once; Food is still not implied
    table = {p.label: p for p in store.label_precision()}
    assert (table["Animals"].confirmed, table["Animals"].confirmable) == (1, 2)
    assert (table["Food"].confirmed, table["Animals"].accepted) == (0, 0)
    [row] = [r for r in store.gallery_rows() if r.suggestion_id == ids["Animals"]]
    assert row.confirmed_by_categories and row.state == "pending"  # no review was made

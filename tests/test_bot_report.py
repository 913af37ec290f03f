"""Worklist pages rendered from rows: captions a reviewer can read, working uploader
links, newest first, and a byte budget that holds whatever the store holds."""

from dataclasses import replace

from bot.index_page import render_index
from bot.publisher import change_summary, owned
from bot.report import (
    NEW_MARK,
    PageStyle,
    render_needs_categories,
    render_topic_page,
    score_in_words,
    shown_files,
)
from bot.store import LabelCounts, ReportRow, UncategorizedFile
from classifier.taxonomy import load_taxonomy

TAX = load_taxonomy()
STYLE = PageStyle("User:Bot/Topics", max_bytes=500_000, max_files=500, tool_url="https://t.example")


def _row(i, label="Space", adds=True, state="pending", user="Jane Doe"):
    ts = f"2024-05-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
    return ReportRow(i, f"File:Upload {i}.jpg", label, 0.95 - (i % 50) / 100, adds, state, user, ts)


def test_topic_page_is_a_captioned_gallery_with_working_links():
    rows = [_row(3, adds=True), _row(2, adds=False, state="published"), _row(1, user=None)]
    page = render_topic_page("Space", rows, awaiting=3, taxonomy=TAX, style=STYLE)
    assert page.title == "User:Bot/Topics/Space"
    lines = page.text.splitlines()
    gallery = lines[lines.index("<gallery>") + 1 : lines.index("</gallery>")]
    assert [g.split("|", 1)[0] for g in gallery] == [
        "File:Upload 3.jpg",
        "File:Upload 2.jpg",
        "File:Upload 1.jpg",
    ]  # newest first, as given
    first = gallery[0]
    assert "Space: almost certain (92%)" in first
    assert NEW_MARK in first and NEW_MARK not in gallery[1]
    # the uploader is a link, not the escaped "[[User:X&#124;X]]" of the old table
    assert "[[Special:Contributions/Jane Doe|<bdi><nowiki>Jane Doe</nowiki></bdi>]]" in first
    assert "&#124;" not in page.text
    assert "https://t.example?file=Upload+3.jpg&topic=Space review]" in first
    assert "unknown uploader" in gallery[2]
    assert "[[User:Bot/Topics/STEM|STEM]]" in page.text  # the broader topic's page
    assert page.pending_ids == (3, 1) and page.files == tuple(r.title for r in rows)
    assert shown_files(page.text) == set(page.files)
    # no review link without a tool
    bare = render_topic_page("Space", rows, 3, TAX, PageStyle("P", 500_000, 500))
    assert " review]" not in bare.text


def test_score_words():
    assert score_in_words(0.95) == "almost certain (95%)"
    assert score_in_words(0.8) == "very likely (80%)"
    assert score_in_words(0.6) == "likely (60%)"
    assert score_in_words(0.3) == "possible (30%)"
    assert score_in_words(0.899) == "almost certain (90%)"  # the word matches the number


def test_size_budget_holds_for_30000_rows():
    rows = [_row(i) for i in range(30_000, 0, -1)]
    style = PageStyle("User:Bot/Topics", max_bytes=200_000, max_files=100_000, tool_url="https://t")
    page = render_topic_page("Space", rows, awaiting=len(rows), taxonomy=TAX, style=style)
    size = len(page.text.encode("utf-8"))
    assert 190_000 < size <= 200_000  # filled close to the budget, never over
    assert len(page.files) < len(rows)
    assert page.files == tuple(r.title for r in rows[: len(page.files)])  # the newest ones
    assert f"{len(rows) - len(page.files)} older of {len(rows)} suggestions" in page.text
    # the file cap binds before the bytes do
    capped = render_topic_page("Space", rows, len(rows), TAX, STYLE)
    assert len(capped.files) == 500
    # multi-byte names count as bytes, not characters
    wide = [replace(r, title=f"File:写真 {r.suggestion_id}.jpg") for r in rows[:5000]]
    page = render_topic_page("Space", wide, 5000, TAX, PageStyle("P", 50_000, 100_000))
    assert len(page.text.encode("utf-8")) <= 50_000
    files = [
        UncategorizedFile(r.title, r.uploader, r.uploaded_at, ((r.label, r.score),)) for r in rows
    ]
    needs = render_needs_categories(files, TAX, style)
    assert 190_000 < len(needs.text.encode("utf-8")) <= 200_000


def test_needs_categories_groups_by_best_suggestion_and_keeps_unsuggested():
    files = [
        UncategorizedFile("File:Rocket.jpg", "A", "2024-05-02T00:00:00Z", (("Space", 0.9),)),
        UncategorizedFile("File:Blob.png", "B", "2024-05-01T12:00:00Z", ()),
        UncategorizedFile(
            "File:Cake.jpg", "C", "2024-05-01T00:00:00Z", (("Food", 0.8), ("Culture", 0.7))
        ),
    ]
    text = render_needs_categories(files, TAX, STYLE).text
    assert text.index("== STEM ==") < text.index("File:Rocket.jpg")
    assert text.index("== Culture ==") < text.index("File:Cake.jpg") < text.index("== No topic")
    assert "File:Cake.jpg|Suggested: Food very likely (80%) · [[Special:" in text  # not Culture
    assert text.index("== No topic suggested ==") < text.index("File:Blob.png|no suggestion")


def test_index_lists_every_topic_with_counts_and_precision_placeholder():
    counts = {"Space": LabelCounts(awaiting=12, new=3)}
    page = render_index("User:Bot/Topics", TAX, counts, 7, None, "User:Bot/Topics/Flags", "")
    assert page.title == "User:Bot/Topics"
    assert "[[User:Bot/Topics/Space|Space]] || 3 || 12 || –" in page.text
    assert page.text.count("\n|-\n") == len(TAX.labels)
    assert (
        "[[User:Bot/Topics/Flags|" in page.text
        and "7 classified upload(s) got no topic" in page.text
    )
    reviewed = render_index("P", TAX, counts, 0, {"Space": (9, 1)}, None, "https://t")
    assert "|| 90% (9 of 10; 60%-98%)" in reviewed.text  # with its 95 % Wilson interval
    assert "[https://t the review tool]" in reviewed.text


def test_edit_summary_and_owned_pages():
    assert change_summary("Bot", {"a", "b", "c"}, {"c", "d"}, {"a"}) == (
        "Bot: +1 files, -1 deleted, -1 dropped"
    )
    assert change_summary("Bot", {"a"}, {"a"}, ()) == "Bot"
    assert owned("User:Bot/Topics", "User:Bot/Topics") and owned(
        "User:Bot/Topics/X", "User:Bot/Topics"
    )
    assert not owned("User:Bot/TopicsX", "User:Bot/Topics")

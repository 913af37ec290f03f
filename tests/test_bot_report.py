"""Report rendering: deterministic wikitext grouped by top-level topic."""

from bot.report import NEW_MARK, pages_to_render, render_reports
from bot.store import ReportRow
from classifier.taxonomy import load_taxonomy

TAX = load_taxonomy()


def _row(i, title, label, state="pending", adds=True, day="2024-05-01"):
    return ReportRow(
        i, title, label, 0.5 + i / 100, adds, state, "Uploader|x", f"{day}T10:00:0{i}Z"
    )


def test_one_page_per_day_with_tables_per_root_topic():
    rows = [
        _row(1, "File:Cat.jpg", "Nature", adds=False),
        _row(2, "File:Cat.jpg", "STEM", adds=False),
        _row(3, "File:Rocket.jpg", "Space", day="2024-05-02", state="published"),
    ]
    pages = render_reports(rows, "User:Bot/Topics", TAX)
    assert [p.title for p in pages] == ["User:Bot/Topics/2024-05-01", "User:Bot/Topics/2024-05-02"]
    text = pages[0].text
    assert "== STEM ==" in text and "[[:File:Cat.jpg|" in text
    assert "STEM (0.52), Nature (0.51)" in text  # taxonomy order, two decimals
    # a | in a user name cannot break the table: shown as typed, not made a link
    assert "<nowiki>Uploader|x</nowiki>" in text and "[[User:Uploader|x" not in text
    assert pages[0].pending_ids == (1, 2) and pages[1].pending_ids == ()
    assert f"Space (0.53) {NEW_MARK}" in pages[1].text


def test_only_pages_with_pending_suggestions_are_rendered_and_text_is_stable():
    rows = [
        _row(1, "File:A.jpg", "Nature", state="published"),
        _row(2, "File:B.jpg", "Space", day="2024-05-03"),
    ]
    wanted = pages_to_render(rows, "P")
    assert wanted == {"P/2024-05-03"}
    first = render_reports(rows, "P", TAX, only=wanted)
    assert [p.title for p in first] == ["P/2024-05-03"]
    assert first == render_reports(rows, "P", TAX, only=wanted)

"""Flags in the store (one per file, withdrawal, the near-duplicate memory), the flags
page's wikitext (tiers, order, per-uploader cap) and the review page's syntax."""

from __future__ import annotations

from bot.flag_review import review_lines
from bot.flag_score import LIKELY, MAY, TIERS, VERY_LIKELY
from bot.flag_signals import Signal
from bot.flags_report import MAX_ROWS, capped, render_flags_page
from bot.image_features import ImageFeatures
from bot.store import (
    FLAG_ACTIVE,
    FLAG_DELETED,
    FLAG_FINE,
    FLAG_KEPT,
    Cursor,
    FileRecord,
    FlagRecord,
    FlagReview,
    Store,
)
from bot.wikitext import user_link

TINY = Signal("tiny", 4.0, "tiny: 60x40 px (short side under 150 px)")
NEW = Signal("new_account", 1.5, "new account: 1 edits, registered 0 days ago")


def _store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path}/flags.sqlite")


def _record(store: Store, logid: int, title: str, flag: FlagRecord | None, sha1: str = "a"):
    file = FileRecord(logid, title, f"2024-05-01T12:00:{logid:02d}Z", "classified", sha1=sha1,
                      uploader="U")  # fmt: skip
    features = ImageFeatures(flag.dhash if flag and flag.dhash else "00", 9.0)
    return store.record_upload(file, Cursor(file.uploaded_at, logid), features=features, flag=flag)


def test_one_flag_per_file_reviews_record_who_and_a_revert_restores(tmp_path):
    store = _store(tmp_path)
    flag = FlagRecord(5.5, LIKELY, (TINY, NEW), "00000000000000ff")
    assert _record(store, 1, "File:A.png", flag)
    [row] = store.flag_rows()
    assert (row.title, row.score, row.tier, row.signals) == ("File:A.png", 5.5, LIKELY, (TINY, NEW))
    assert store.image_features("a") == ImageFeatures("00000000000000ff", 9.0)
    assert list(store.flagged_hashes()) == [("File:A.png", "00000000000000ff")]

    assert store.review_flags([FlagReview("File:A.png", FLAG_FINE, "Patroller", 77)]) == 1
    assert store.flag_rows() == [] and list(store.flagged_hashes()) == []  # fine: forgotten
    assert store.withdraw_flags(["File:A.png"], FLAG_DELETED) == 0  # stays fine
    [fine] = store.flag_rows((FLAG_FINE,))
    assert (fine.reviewed_by, fine.reviewed_revision) == ("Patroller", 77)
    assert store.flags_reviewed_in([77]) == [fine]
    assert store.restore_flags(["File:A.png"]) == 1  # revision 77 was reverted
    [row] = store.flag_rows()
    assert (row.state, row.reviewed_by, row.reviewed_revision) == (FLAG_ACTIVE, None, None)
    assert store.review_flags([FlagReview("File:A.png", FLAG_KEPT, "Patroller", 80)]) == 1
    assert [(r.state, r.reviewed_by) for r in store.flag_rows((FLAG_KEPT,))] == [
        (FLAG_KEPT, "Patroller")
    ]
    assert store.review_flags([FlagReview("File:A.png", FLAG_KEPT, "Patroller", 81)]) == 0


def test_an_overwrite_is_assessed_again_even_after_a_fine_review(tmp_path):
    """A title found fine, then overwritten with a blank image: the new bytes' flag
    replaces the old one, active and unreviewed; still one listing per file."""
    store = _store(tmp_path)
    _record(store, 1, "File:A.png", FlagRecord(4.0, MAY, (TINY,), "00000000000000ff"))
    store.review_flags([FlagReview("File:A.png", FLAG_FINE, "Patroller", 77)])
    blank = Signal("blank", 5.0, "blank or nearly uniform (luminance spread 0.0)")
    assert _record(store, 2, "File:A.png", FlagRecord(9.0, VERY_LIKELY, (TINY, blank), "0f"), "b")
    [row] = store.flag_rows()
    assert (row.logid, row.score, row.tier, row.state) == (2, 9.0, VERY_LIKELY, FLAG_ACTIVE)
    assert (row.signals, row.reviewed_by) == ((TINY, blank), None)
    _record(store, 2, "File:A.png", FlagRecord(4.0, MAY, (TINY,), "ff"), "b")  # a rerun
    assert [r.score for r in store.flag_rows()] == [9.0]


def test_deleted_flags_still_warn_of_re_uploads(tmp_path):
    store = _store(tmp_path)
    _record(store, 1, "File:Gone.png", FlagRecord(4.0, MAY, (TINY,), "0f"))
    store.withdraw_flags(["File:Gone.png"], FLAG_DELETED)
    assert store.flag_rows((FLAG_ACTIVE,)) == []
    assert list(store.flagged_hashes()) == [("File:Gone.png", "0f")]


def _flag(store: Store, title: str, tier: str, minute: int, uploader: str = "U",
          score: float = 4.0) -> None:  # fmt: skip
    file = FileRecord(minute + 1, title, f"2024-05-01T12:{minute:02d}:00Z", "classified",
                      sha1=f"{minute:040x}", uploader=uploader)  # fmt: skip
    flag = FlagRecord(score, tier, (TINY,), None)
    assert store.record_upload(file, Cursor(file.uploaded_at, file.logid), flag=flag)


def _page(store: Store, cap: int, max_rows: int = MAX_ROWS) -> str:
    return render_flags_page(capped(store.listed_flags(TIERS), cap, max_rows), "R")


def test_page_groups_by_tier_newest_first_with_every_reason(tmp_path):
    store = _store(tmp_path)
    _flag(store, "File:Old may.png", MAY, 1)
    _flag(store, "File:New may.png", MAY, 5)
    _flag(store, "File:Very.png", VERY_LIKELY, 2, score=7.5)
    _flag(store, "File:Likely.png", LIKELY, 3)
    text = render_flags_page(capped(store.listed_flags(TIERS), 5), "User:Bot/Topics/Flags/Reviewed")
    order = [text.index(f"[[:File:{n}.png|") for n in ("Very", "Likely", "New may", "Old may")]
    assert order == sorted(order)
    assert text.index("== Very likely have problems ==") < text.index("== May have problems ==")
    assert "[[File:" not in text  # files linked, not embedded: no "File usage" entry
    assert "tiny: 60x40 px (short side under 150 px) (+4)" in text
    assert "|| 7.5 ||" in text and user_link("U") in text
    assert "[[User:Bot/Topics/Flags/Reviewed]]" in text


def test_thumbnails_are_in_the_review_tool_or_embedded_when_configured(tmp_path):
    store = _store(tmp_path)
    _flag(store, "File:Very.png", VERY_LIKELY, 2, score=7.5)
    page = capped(store.listed_flags(TIERS), 5)
    tool = render_flags_page(page, "R", tool_url="https://topicbot.toolforge.org/")
    assert "[[:File:Very.png|" in tool and "[[File:" not in tool
    assert "[https://topicbot.toolforge.org/?file=Very.png review]" in tool
    embedded = render_flags_page(page, "R", embed=True)
    assert "! Image !! File !!" in embedded
    assert "| [[File:Very.png|120px|" in embedded and "[[:File:Very.png|" in embedded


def test_per_uploader_cap_keeps_one_batch_from_flooding_the_page(tmp_path):
    store = _store(tmp_path)
    for i in range(8):
        _flag(store, f"File:Batch {i}.png", MAY, i + 1, uploader="Flood")
    _flag(store, "File:Other.png", MAY, 0, uploader="Other")
    text = _page(store, cap=3)
    assert sum(f"[[:File:Batch {i}.png|" in text for i in range(8)) == 3
    assert "[[:File:Batch 7.png|" in text  # the newest are the ones listed
    assert "[[:File:Other.png|" in text
    assert f"* 5 more by {user_link('Flood')}: [[Special:ListFiles/Flood|" in text
    assert "[[User talk:Flood|" in text and "[[Special:Contributions/Flood|" in text


def test_the_cap_never_hides_an_uploaders_riskiest_file(tmp_path):
    """A new account's older upload scores higher than its newer ones: it is listed."""
    store = _store(tmp_path)
    for i in range(3):
        _flag(store, f"File:Newer {i}.png", MAY, 10 + i, uploader="New", score=3.0)
    _flag(store, "File:Riskiest.png", MAY, 1, uploader="New", score=4.5)
    text = _page(store, cap=2)
    assert "[[:File:Riskiest.png|" in text
    assert text.index("[[:File:Riskiest.png|") < text.index("[[:File:Newer 2.png|")


def test_the_page_keeps_at_most_max_rows_and_counts_the_rest(tmp_path):
    """However many flags the store holds, the page (and the memory it takes) holds
    MAX_ROWS rows; the rest are counted, the strongest tier listed first."""
    store = _store(tmp_path)
    for i in range(6):
        _flag(store, f"File:May {i}.png", MAY, i, uploader=f"U{i}")
    _flag(store, "File:Very.png", VERY_LIKELY, 10, uploader="V", score=8.0)
    page = capped(store.listed_flags(TIERS), cap=5, max_rows=4)
    assert [r.title for r in page.listed][:2] == ["File:Very.png", "File:May 5.png"]
    assert (len(page.listed), page.unshown) == (4, 3)
    assert "3 more flags are not listed (at most 4 rows)." in render_flags_page(page, "R")


def test_empty_page_says_so(tmp_path):
    assert "No active flags." in _page(_store(tmp_path), cap=5)


def test_review_page_syntax():
    text = """Files reviewed:
* [[:File:Chelsea_the cat.jpg]] fine, own work ~~~~
* [[:file:lower case.png|a label]] Fine: checked
* [[:Image:Old namespace.gif]] - not fine: copy of a logo
* [[:File:Shouting.png]] NOT fine: copy of https://example.org
* [[:File:No verdict.png]]
* [[:File:Verdict later.png]] is fine
* [[Category:Not a file]] fine [[:File:]] fine
<!-- * [[:File:In a comment.png]] fine -->
<nowiki>* [[:File:In nowiki.png]] fine</nowiki>
<pre>
* [[:File:In pre.png]] fine
</pre>
<!-- an unclosed comment hides the rest
* [[:File:After the comment.png]] fine
"""
    assert review_lines(text) == {
        "File:Chelsea the cat.jpg": FLAG_FINE,
        "File:Lower case.png": FLAG_FINE,
        "File:Old namespace.gif": FLAG_KEPT,
        "File:Shouting.png": FLAG_KEPT,
    }
    assert review_lines("#REDIRECT [[File:Chelsea the cat.jpg]]\n* [[:File:A.png]] fine") == {}
    assert review_lines("* [[:File:A.png]] fine\n* [[:File:A.png]] not fine") == {
        "File:A.png": FLAG_KEPT  # the last line about a file wins
    }


def test_a_discount_reads_as_minus_its_points(tmp_path):
    store = _store(tmp_path)
    discount = Signal("trusted_uploader", -3.0, "the uploader is established: 4,200 edits")
    file = FileRecord(1, "File:Icon.png", "2024-05-01T12:00:00Z", "classified", sha1="a" * 40,
                      uploader="Veteran")  # fmt: skip
    flag = FlagRecord(4.0, MAY, (TINY, Signal("x", 3.0, "third signal (made up)"), discount),
                      None)  # fmt: skip
    assert store.record_upload(file, Cursor(file.uploaded_at, file.logid), flag=flag)
    text = _page(store, 5)
    assert "the uploader is established: 4,200 edits (-3)" in text
    assert "(+-" not in text and "tiny: 60x40 px (short side under 150 px) (+4)" in text

"""Vandalism-candidate flags end to end on a real MediaWiki: real uploads by a fresh
account, an old one and an established one, `python -m bot.run --once` as a subprocess with the
default model, the flags page read back from the wiki, a reviewer's line that clears a
flag, and the page as a browser shows it (headless Chromium, when installed).

The "regular" account (old, 400 edits: not new, not established) and the "veteran"
(4,200 edits since 2015: established, so discounted like an autopatrolled uploader)
are made the way the API will report them: their registration date and edit count are
set in the wiki's own database, since every account of a test wiki is minutes old.
The "logo from a new account" upload is flagged by all three of its
signals: new account, small JPEG, and the default model (v2) calling it Logos & Symbols
at its operating point; tests/test_flag_signals.py covers each signal on its own.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.flag_score import LIKELY, MAY
from bot.flag_signals import hamming
from bot.image_features import image_features
from bot.store import FLAG_FINE, Store
from bot.wikitext import user_link
from tests.conftest import bot_env, write_bot_config
from tests.wiki_fixtures import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    ApiClient,
    LocalWiki,
    run_bot,
    sample_images,
    variant,
    wait_next_second,
)

pytestmark = pytest.mark.integration

PREFIX = "User:Bot/Topics/FlagsTest"
FLAGS_PAGE = f"{PREFIX}/Flags"
REVIEW_PAGE = f"{PREFIX}/Flags/Reviewed"
KILL_SWITCH = "User:Bot/Run/FlagsTest"
APP_PASSWORD = "0123456789abcdef0123456789abcdef"  # BotPasswords allow only [0-9a-w]

# file -> (expected tier, expected signal names); None: must not be flagged
EXPECTED = {
    "Tiny icon.png": (MAY, ["tiny"]),
    "Blank page.png": (LIKELY, ["blank"]),
    "Company logo.jpg": (LIKELY, ["new_account", "small_jpeg", "logo_new_account"]),
    "Cat in buildings.jpg": (MAY, ["small_jpeg", "category_mismatch"]),
    "Coffee by regular.jpg": None,
    "Temple by regular.jpg": None,
    "Flower by regular.jpg": None,
    "Tiny icon by veteran.png": None,  # tiny, but an established uploader's
}


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _tiny_icon(square: bool = False) -> bytes:
    image = Image.new("RGB", (60, 40), (255, 255, 255))
    if square:
        ImageDraw.Draw(image).rectangle((4, 14, 56, 26), fill=(20, 30, 200))
    else:
        ImageDraw.Draw(image).ellipse((8, 4, 52, 36), fill=(200, 30, 30))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _logo() -> bytes:
    """A logo as such uploads look: flat colours, a mark and a word, saved as a small JPEG."""
    ramp = np.linspace(20, 120, 320, dtype=np.uint8)  # a brand gradient, left to right
    background = np.dstack([np.tile(ramp, (200, 1))] * 2 + [np.full((200, 320), 200, np.uint8)])
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 40, 150, 160), fill=(255, 200, 0))
    draw.polygon([(90, 55), (135, 140), (45, 140)], fill=(20, 20, 120))
    draw.text((170, 85), "ACME CORP", fill=(255, 255, 255), font_size=24)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _account(wiki: LocalWiki, name: str) -> None:
    """A plain account (no groups) with a BotPassword to upload through the API."""
    wiki.maintenance("createAndPromote.php", name, f"{name}-Pass-12345")
    wiki.maintenance(
        "createBotPassword.php",
        "--appid",
        "test",
        "--grants",
        "basic,editpage,createeditmovepage,uploadfile,uploadeditmovefile",
        name,
        APP_PASSWORD,
    )


def _make_old(wiki: LocalWiki, name: str, edits: int) -> None:
    """Registered in 2015, with `edits` edits."""
    with sqlite3.connect(wiki.dir / "data" / "wikidb.sqlite") as db:
        db.execute(
            "UPDATE user SET user_registration = '20150301000000', user_editcount = ?"
            " WHERE user_name = ?",
            (edits, name),
        )


def _listed(text: str) -> dict[str, tuple[str, float, str]]:
    """title -> (tier, score, reasons) of each row of the flags page."""
    out = {}
    for line in text.splitlines():
        if line.startswith("| [[:File:"):
            file, _, _, tier, score, reasons = line[2:].split(" || ")
            out[file[3:].split("|")[0]] = (tier, float(score), reasons)
    return out


@pytest.fixture(scope="module")
def admin(wiki: LocalWiki):
    return wiki.client(ADMIN_LOGIN, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def flag_uploads(wiki: LocalWiki, admin) -> dict:
    """The accounts, categories and uploads of this module; returns `since` and files."""
    _account(wiki, "Newcomer")
    _account(wiki, "Regular")
    _make_old(wiki, "Regular", 400)
    _account(wiki, "Veteran")
    _make_old(wiki, "Veteran", 4200)
    admin.edit("Category:Buildings", "Buildings.[[Category:Architecture]]")
    photos = sample_images()
    cat = variant(photos["Chelsea the cat.jpg"], 7)
    files = {
        "Tiny icon.png": ("Regular", _tiny_icon(), []),
        "Blank page.png": ("Regular", _png(np.full((600, 800, 3), 255, np.uint8)), []),
        "Company logo.jpg": ("Newcomer", _logo(), []),
        "Cat in buildings.jpg": ("Regular", cat, ["Buildings"]),
        "Coffee by regular.jpg": ("Regular", variant(photos["Coffee cup.jpg"], 7), ["Coffee cups"]),
        "Temple by regular.jpg": (
            "Regular",
            variant(photos["China temple.jpg"], 7),
            ["Buddhist temples in China"],
        ),
        "Flower by regular.jpg": ("Regular", variant(photos["Flower closeup.jpg"], 7), ["Flowers"]),
        "Tiny icon by veteran.png": ("Veteran", _tiny_icon(square=True), []),
    }  # fmt: skip
    # the flagged images must not be near-copies of each other, or near_duplicate joins in
    hashes = [image_features(data).dhash for _, data, _ in files.values()]
    assert min(hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]) > 6
    since = wait_next_second()
    users = ("Newcomer", "Regular", "Veteran")
    clients = {user: wiki.client(f"{user}@test", APP_PASSWORD) for user in users}
    for name, (user, data, categories) in files.items():
        clients[user].upload(name, data, categories)
    return {"since": since}


def _setup(tmp_path: Path, wiki: LocalWiki) -> dict:
    write_bot_config(
        tmp_path / "config.toml",
        wiki.api_url,
        report={"page_prefix": PREFIX, "kill_switch_page": KILL_SWITCH},
        flags={"enabled": True},
    )
    return bot_env(tmp_path / "pwb", {"localwiki": wiki.port})


def _summary(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first_pass(wiki, admin, flag_uploads, tmp_path_factory) -> dict:
    cwd = tmp_path_factory.mktemp("flags-bot")
    env = _setup(cwd, wiki)
    admin.edit(KILL_SWITCH, "true")
    summary = _summary(run_bot(["--once", "--since", flag_uploads["since"]], cwd, env))
    return {"cwd": cwd, "env": env, "summary": summary}


def test_first_pass_lists_exactly_the_suspect_uploads(first_pass, admin):
    summary = first_pass["summary"]
    assert summary["files_classified"] == len(EXPECTED) and summary["errors"] == {}
    assert summary["flags"] == 4 and FLAGS_PAGE in summary["pages_written"]
    listed = _listed(admin.page_text(FLAGS_PAGE))
    expected = {f"File:{n}": e for n, e in EXPECTED.items() if e is not None}
    assert {t: row[0] for t, row in listed.items()} == {t: e[0] for t, e in expected.items()}
    store = Store(f"sqlite:///{first_pass['cwd']}/var/bot.sqlite")
    for row in store.flag_rows():
        tier, names = expected[row.title]
        assert [s.name for s in row.signals] == names, row
        assert listed[row.title][1] == row.score
        for signal in row.signals:
            assert f"{signal.reason} (+{signal.points:g})" in listed[row.title][2]
    logo = listed["File:Company logo.jpg"][2]
    assert "new account: 1 edit," in logo and "looks like a logo or symbol" in logo
    cat = listed["File:Cat in buildings.jpg"][2]
    assert "the categories say Architecture" in cat and "% sure)" in cat
    assert [c["comment"] for c in admin.revisions(FLAGS_PAGE)] == [
        "Bot: update vandalism-candidate flags"
    ]


def test_flags_page_in_a_browser(first_pass, wiki, tmp_path):
    """What a patroller sees: the page as the wiki renders it, in headless Chromium."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (scripts/install-test-services.sh)")
    shot = tmp_path / "flags-report.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--hide-scrollbars",
            "--window-size=1280,1100",
            f"--screenshot={shot}",
            f"http://127.0.0.1:{wiki.port}/index.php/{FLAGS_PAGE.replace(' ', '_')}",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot)
    assert image.size == (1280, 1100)
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert pixels.std() > 20  # a rendered page, not an empty window


def test_second_pass_adds_nothing(first_pass, admin):
    again = _summary(run_bot(["--once"], first_pass["cwd"], first_pass["env"]))
    assert again["files_seen"] == 0 and again["flags"] == 0 and again["pages_written"] == []
    assert len(admin.revisions(FLAGS_PAGE)) == 1


def test_marking_a_flag_fine_withdraws_it(first_pass, admin):
    admin.edit(REVIEW_PAGE, "* [[:File:Cat in buildings.jpg]] fine: a test upload, checked")
    done = _summary(run_bot(["--once"], first_pass["cwd"], first_pass["env"]))
    assert FLAGS_PAGE in done["pages_written"]  # (and the worklists that showed the file)
    listed = _listed(admin.page_text(FLAGS_PAGE))
    assert set(listed) == {"File:Tiny icon.png", "File:Blank page.png", "File:Company logo.jpg"}
    store = Store(f"sqlite:///{first_pass['cwd']}/var/bot.sqlite")
    [fine] = store.flag_rows((FLAG_FINE,))
    assert fine.title == "File:Cat in buildings.jpg"
    assert admin.page_text(REVIEW_PAGE).startswith("* [[:File:Cat in buildings.jpg]]")  # untouched


def test_deleted_file_is_withdrawn(first_pass, wiki, admin):
    wiki.delete_file("File:Tiny icon.png")
    done = _summary(run_bot(["--once"], first_pass["cwd"], first_pass["env"]))
    assert FLAGS_PAGE in done["pages_written"]  # (and the worklists that showed the file)
    assert set(_listed(admin.page_text(FLAGS_PAGE))) == {
        "File:Blank page.png",
        "File:Company logo.jpg",
    }


def test_kill_switch_and_dry_run_hold_the_flags_page_back(wiki, admin, flag_uploads, tmp_path):
    env = _setup(tmp_path, wiki)
    write_bot_config(
        tmp_path / "config.toml",
        wiki.api_url,
        report={"page_prefix": f"{PREFIX}/Held", "kill_switch_page": f"{KILL_SWITCH}/Held"},
        flags={"enabled": True},
    )
    admin.edit(f"{KILL_SWITCH}/Held", "false")
    stopped = _summary(run_bot(["--once", "--since", flag_uploads["since"]], tmp_path, env))
    assert stopped["flags"] >= 3 and stopped["pages_written"] == []
    assert admin.page_text(f"{PREFIX}/Held/Flags") is None
    dry = _summary(run_bot(["--once", "--dry-run"], tmp_path, env))
    [local] = [p for p in dry["pages_written"] if p.endswith("_Held_Flags.wiki")]
    assert "[[:File:Blank page.png|" in Path(local).read_text()
    assert admin.page_text(f"{PREFIX}/Held/Flags") is None


# --- whose word counts on the review page (issue 15, item 4) --------------------------


def _anonymous(wiki: LocalWiki) -> ApiClient:
    client = ApiClient(wiki.api_url)
    client.csrf = "+\\"  # the edit token of a logged-out editor
    return client


def _store_of(first_pass) -> Store:
    return Store(f"sqlite:///{first_pass['cwd']}/var/bot.sqlite")


def test_review_lines_of_untrusted_accounts_do_not_count(first_pass, wiki, admin):
    """The uploader (a new account) clears their own flag, an IP clears another, one hides
    a line in a comment: none of it counts, and the flags page is not even re-saved."""
    trusted_text = admin.page_text(REVIEW_PAGE)
    newcomer = wiki.client("Newcomer@test", APP_PASSWORD)
    newcomer.edit(REVIEW_PAGE, trusted_text + "\n* [[:File:Company logo.jpg]] fine: mine")
    ip_text = admin.page_text(REVIEW_PAGE) + "\n* [[:File:Blank page.png]] fine\n"
    _anonymous(wiki).edit(REVIEW_PAGE, ip_text)
    assert admin.revisions(REVIEW_PAGE)[0]["anon"]

    done = _summary(run_bot(["--once"], first_pass["cwd"], first_pass["env"]))

    assert done["pages_written"] == []
    listed = set(_listed(admin.page_text(FLAGS_PAGE)))
    assert listed == {"File:Blank page.png", "File:Company logo.jpg"}
    admin.edit(REVIEW_PAGE, trusted_text)  # a patroller reverts both edits


def test_not_fine_keeps_a_flag_and_a_revert_restores_one(first_pass, wiki, admin):
    admin.edit(
        REVIEW_PAGE,
        (admin.page_text(REVIEW_PAGE) or "")
        + "\n* [[:File:Company logo.jpg]] fine: the company's own upload, checked"
        + "\n* [[:File:Blank page.png]] NOT fine: an empty page"
        + "\n<!-- * [[:File:Tiny icon.png]] fine -->",
    )
    revision = admin.revisions(REVIEW_PAGE)[0]["revid"]
    _summary(run_bot(["--once"], first_pass["cwd"], first_pass["env"]))
    listed = _listed(admin.page_text(FLAGS_PAGE))
    assert set(listed) == {"File:Blank page.png"}
    assert f"'''not fine''', per {user_link('Admin')}" in listed["File:Blank page.png"][2]
    [fine] = [r for r in _store_of(first_pass).flag_rows((FLAG_FINE,)) if "logo" in r.title]
    assert (fine.reviewed_by, fine.reviewed_revision) == ("Admin", revision)

    admin.post(action="edit", title=REVIEW_PAGE, undo=revision, token=admin.csrf)
    _summary(run_bot(["--once"], first_pass["cwd"], first_pass["env"]))

    listed = _listed(admin.page_text(FLAGS_PAGE))
    assert set(listed) == {"File:Blank page.png", "File:Company logo.jpg"}
    assert "not fine" not in listed["File:Blank page.png"][2]


def test_a_file_cannot_be_cleared_before_it_is_flagged(first_pass, wiki, admin):
    admin.edit(
        REVIEW_PAGE, (admin.page_text(REVIEW_PAGE) or "") + "\n* [[:File:Cleared ahead.png]] fine"
    )
    newcomer = wiki.client("Newcomer@test", APP_PASSWORD)
    newcomer.upload("Cleared ahead.png", _png(np.full((500, 700, 3), 250, np.uint8)))

    _summary(run_bot(["--once"], first_pass["cwd"], first_pass["env"]))

    assert "File:Cleared ahead.png" in _listed(admin.page_text(FLAGS_PAGE))


def test_a_re_upload_of_a_flagged_file_is_found_through_the_hash_bands(first_pass, wiki):
    """A recompressed copy of the flagged logo, by an account that is not new: the
    near-duplicate lookup (by hash bands, bot.store.flagged_hashes) finds the original."""
    copy = io.BytesIO()
    Image.open(io.BytesIO(_logo())).save(copy, format="JPEG", quality=60)
    assert 0 < hamming(image_features(copy.getvalue()).dhash, image_features(_logo()).dhash) <= 6
    since = wait_next_second()
    wiki.client("Regular@test", APP_PASSWORD).upload("Logo again.jpg", copy.getvalue())
    summary = _summary(run_bot(["--once", "--since", since], first_pass["cwd"], first_pass["env"]))
    assert summary["flags"] == 1
    store = Store(f"sqlite:///{first_pass['cwd']}/var/bot.sqlite")
    [row] = [r for r in store.flag_rows() if r.title == "File:Logo again.jpg"]
    [near] = [s for s in row.signals if s.name == "near_duplicate"]
    assert "[[:File:Company logo.jpg|" in near.reason


def _used_by(admin, title: str) -> set[str]:
    """The pages the wiki lists under the file's "File usage", asked both ways."""
    usage = admin.get(action="query", list="imageusage", iutitle=title, iulimit="max")
    pages = admin.get(action="query", prop="fileusage", titles=title, fulimit="max")
    via_file = pages["query"]["pages"][0].get("fileusage", [])
    return {p["title"] for p in usage["query"]["imageusage"]} | {p["title"] for p in via_file}


def test_a_flagged_files_usage_does_not_name_the_flags_page(first_pass, wiki, admin):
    """Files are linked from the flags page, not embedded, so no flagged file lists it
    under "File usage"; the embedding a wiki may choose instead (`embed_thumbnails`)
    does list it, which shows the check can see such a use."""
    listed = set(_listed(admin.page_text(FLAGS_PAGE)))
    assert "File:Company logo.jpg" in listed
    for title in listed:
        assert FLAGS_PAGE not in _used_by(admin, title), title

    cwd, env = first_pass["cwd"], first_pass["env"]
    write_bot_config(
        cwd / "config.toml",
        wiki.api_url,
        report={"page_prefix": PREFIX, "kill_switch_page": KILL_SWITCH},
        flags={"enabled": True, "embed_thumbnails": True},
    )
    done = run_bot(["--publish-only"], cwd, env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[[File:Company logo.jpg|120px|" in admin.page_text(FLAGS_PAGE)
    assert FLAGS_PAGE in _used_by(admin, "File:Company logo.jpg")

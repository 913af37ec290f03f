"""Names on pages and in logs shown as themselves (issue 15, item 8): a file title with
quote markup and a user name with a right-to-left override, rendered by the bot's
flags and topic pages, then parsed by the real MediaWiki; and pywikibot's debug log,
which would write the password, refused without the operator's switch."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from bot.flag_score import MAY
from bot.flag_signals import Signal, near_duplicate
from bot.flags_report import capped, render_flags_page
from bot.report import PageStyle, render_topic_page
from bot.store import FLAG_ACTIVE, FlagRow, ReportRow
from bot.wikitext import for_log
from classifier.artifact import DEFAULT_MODEL_DIR
from classifier.taxonomy import load_taxonomy
from tests.wiki_fixtures import REPO, write_pywikibot_dir

TITLE = "File:Five'''''tiny.png"
USER = "Mallory\u202eevil"
BOLD = "tiny.png"  # the text quote markup would turn bold and italic


def _html(wiki, text: str) -> str:
    parsed = wiki.client().post(action="parse", text=text, contentmodel="wikitext", prop="text")
    return parsed["parse"]["text"]


@pytest.mark.integration
def test_titles_and_names_are_inert_on_the_pages(wiki):
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(image, "PNG")
    wiki.client().upload(TITLE.removeprefix("File:"), image.getvalue())  # the flagged file
    duplicate = near_duplicate("5a3c0f0f96e1c3a5", [(TITLE, "5a3c0f0f96e1c3a5")], 3.0)
    row = FlagRow(TITLE, USER, "2024-05-01T12:00:00Z", 1, 7.0, MAY,
                  (Signal("tiny", 4.0, "tiny"), duplicate), FLAG_ACTIVE)  # fmt: skip
    flags_html = _html(wiki, render_flags_page(capped([row], 5), "User:Bot/Topics/Flags/Reviewed"))
    taxonomy = load_taxonomy()
    label = taxonomy.labels[0]
    worklist = render_topic_page(
        label,
        [ReportRow(1, TITLE, label, 0.9, True, "pending", USER, "2024-05-01T12:00:00Z")],
        1,
        taxonomy,
        PageStyle(prefix="User:Bot/Topics", max_bytes=100_000, max_files=10),
    )
    worklist_html = _html(wiki, worklist.text)
    for html in (flags_html, worklist_html):
        assert "<i>" not in html and "<b><i>" not in html, html  # quotes stay quotes
        assert "<bdi>Mallory\u202eevil</bdi>" in html
    # the flags page names the file; a gallery shows the file itself, its title only as
    # the image's link target
    assert "<bdi>File:Five'''''tiny.png</bdi>" in flags_html


def test_direction_controls_are_escaped_in_logs():
    assert for_log(f"{TITLE} by {USER}") == "File:Five'''''tiny.png by Mallory\\u202eevil"


def test_pywikibot_debug_log_needs_the_operators_switch(tmp_path):
    """No wiki needed: the refusal comes before any request (the API URL is a closed port)."""
    if not (DEFAULT_MODEL_DIR / "model.json").is_file():
        pytest.skip("no default model")
    pwb = write_pywikibot_dir(tmp_path / "pwb", {"localwiki": 9})
    with open(pwb / "user-config.py", "a") as config:
        config.write("debug_log = ['']\n")
    (tmp_path / "config.toml").write_text("[wiki]\napi_url = 'http://127.0.0.1:9/api.php'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(PYWIKIBOT_DIR=str(pwb), PYTHONPATH=str(REPO))

    def run(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot.run", "--once", "--dry-run"],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = run()
    assert refused.returncode == 2
    assert "debug log is on" in refused.stderr
    assert "BOT_ALLOW_PASSWORD_IN_DEBUG_LOG=yes" in refused.stderr
    allowed = run(BOT_ALLOW_PASSWORD_IN_DEBUG_LOG="yes")
    assert allowed.returncode == 3 and "cannot reach the wiki" in allowed.stderr

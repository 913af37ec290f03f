"""Publisher rules that need no wiki: the kill switch, the prefix, dry-run files.
(Saving, {{nobots}} and the kill switch on a real wiki are in the integration tests.)"""

import pytest

from bot.publisher import Publisher, kill_switch_says_run, under_prefix
from bot.report import ReportPage


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("true", True),
        (" true\n\n", True),
        ("True", False),
        ("  TRUE\n\n", False),
        ("true\xa0", False),  # a no-break space is not nothing
        ("false", False),
        ("", False),
        ("true please", False),
    ],
)
def test_kill_switch_needs_exactly_true(text, allowed):
    assert kill_switch_says_run(text) is allowed


def test_prefix():
    assert under_prefix("User:Bot/Topics/2024-05-01", "User:Bot/Topics")
    assert under_prefix("User:Bot/Topics/2024-05-01", "User:Bot/Topics/")
    assert not under_prefix("User:Bot/Topics", "User:Bot/Topics")
    assert not under_prefix("User:Bot/TopicsX/1", "User:Bot/Topics")
    assert not under_prefix("Main Page", "User:Bot/Topics")


def test_dry_run_writes_local_files_only_when_changed(tmp_path):
    # site=None: a dry run must not need (or touch) the wiki at all
    publisher = Publisher(None, "User:Bot/Topics", "User:Bot/Run", "s", True, tmp_path / "out")
    page = ReportPage("User:Bot/Topics/2024-05-01", "text", (1,))
    [first] = publisher.publish([page])
    assert first.status == "written" and first.written
    assert (tmp_path / "out" / "User_Bot_Topics_2024-05-01.wiki").read_text() == "text"
    [again] = publisher.publish([page])
    assert again.status == "unchanged" and not again.written
    assert publisher.publish([]) == []

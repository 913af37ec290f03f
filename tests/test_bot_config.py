"""Configuration validation: safe defaults, clear messages, nothing silently ignored."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config, page_titles, parse_config, resolve_path

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_is_the_safe_default():
    config = load_config(REPO / "config.toml")
    assert config.dry_run is True
    assert (config.wiki.family, config.wiki.code, config.wiki.api_url) == (
        "commons",
        "commons",
        None,
    )
    assert config == Config()  # the file states the built-in defaults, nothing else


def test_empty_file_gives_defaults():
    assert parse_config("") == Config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dryrun = false", "unknown key(s) dryrun"),
        ("[wiki]\nfamilly = 'x'", "[wiki]: unknown key(s) familly"),
        ("[nope]\na = 1", "unknown key(s) nope"),
        ("dry_run = 'no'", "dry_run: expected bool"),
        ("[source]\nper_pass_limit = 0", "per_pass_limit = 0: must be greater than 0"),
        ("[source]\nper_pass_limit = true", "per_pass_limit: expected int"),
        ("[thumbnails]\nwidth = 33.5", "width: expected int"),
        ("[wiki]\napi_url = 'ftp://x/api.php'", "must be an http(s) URL ending in api.php"),
        ("[report]\npage_prefix = '  '", "must not be empty"),
        ("wiki = 3", "wiki: must be a table"),
        ("[store]\npath = 'a.db'\nurl = 'sqlite://'", "either path or url"),
        ("dry_run = ", "not valid TOML"),
        ("[review]\nprecision_floor = 1.5", "must be a share between 0 and 1"),
        ("[review]\nmin_reviews = 0", "min_reviews = 0: must be greater than 0"),
        ("[review]\noauth_url = 'meta.wikimedia.org'", "must be an http(s) URL"),
        ("[review]\ntool_url = 'topicbot.toolforge.org'", "must be an http(s) URL"),
        ("[flags.limits]\nestablished_edits = 0", "established_edits = 0: must be greater"),
        ("[flags.limits]\nestablished_days = 30", "no account is both new and established"),
        ("[flags.limits]\nestablished_edits = 20", "no account is both new and established"),
    ],
)
def test_bad_values_are_rejected_with_a_clear_message(text, message):
    with pytest.raises(ConfigError, match=None) as err:
        parse_config(text, "test.toml")
    assert message in str(err.value)
    assert str(err.value).startswith("test.toml")


def test_ints_are_accepted_for_floats_and_empty_string_unsets_optional():
    config = parse_config("[thumbnails]\ntimeout_seconds = 5\n[model]\npath = ''")
    assert config.thumbnails.timeout_seconds == 5.0
    assert isinstance(config.thumbnails.timeout_seconds, float)
    assert config.model.path is None


def test_overrides_and_relative_paths(tmp_path):
    config = Config().with_overrides(**{"dry_run": False, "wiki.api_url": "http://h/api.php"})
    assert config.dry_run is False and config.wiki.api_url == "http://h/api.php"
    assert str(config.store_url(tmp_path)) == f"sqlite:///{tmp_path}/var/bot.sqlite"
    assert resolve_path("/abs/x") == Path("/abs/x")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "missing.toml")


# --- a configuration cannot aim the bot at the wrong pages (issue 15, item 8) ---------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thumbnails]\ntimeout_seconds = inf", "timeout_seconds: expected a finite number"),
        ("[source]\nlookback_hours = nan", "lookback_hours: expected a finite number"),
        ("[categories]\ncache_hours = inf", "cache_hours: expected a finite number"),
        ("[flags.limits]\nblank_spread = -inf", "blank_spread: expected a finite number"),
    ],
)
def test_numbers_must_be_finite(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def _pages(text: str, user: str = "Topic bot"):
    return page_titles(parse_config(text), user)


def test_page_titles_are_normalised_like_the_wiki_does():
    pages = _pages(
        '[report]\npage_prefix = "user:{user}/topics_e\\u0301te"\n'
        "kill_switch_page = 'User:{user}/Run'"
    )
    composed = "User:Topic bot/topics \u00e9te"  # NFC, a space for the underscore
    assert (pages.prefix, pages.flags) == (composed, composed + "/Flags")
    assert pages.review == composed + "/Flags/Reviewed"
    assert _pages("", "topic_bot").kill_switch == "User:Topic bot/Run"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[report]\npage_prefix = 'User:{bot}/Topics'", r"page_prefix = .*unknown \{bot\}"),
        ("[report]\npage_prefix = 'MediaWiki:Topics'", "page_prefix .* own user space"),
        ("[report]\npage_prefix = 'User:{user}'", "page_prefix .* own user space"),
        ("[report]\npage_prefix = 'User:Someone else/Topics'", "own user space, User:Topic bot/"),
        ("[flags]\npage = 'User:{user}/Elsewhere'", r"\[flags\] page = .* must lie under"),
        ("[flags]\npage = '{prefix}/{nope}'", r"\[flags\] page = .*unknown \{nope\}"),
        (
            "[report]\nkill_switch_page = 'User:{user}/Topics/Run'",
            "kill_switch_page = .* must not lie under the prefix",
        ),
        ("[flags]\nreview_page = '{prefix}/Flags'", "review_page = .* must differ"),
        ("[flags]\nreview_page = 'User:{user}/Run'", "review_page = .* must differ"),
    ],
)
def test_pages_that_would_aim_the_bot_wrong_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        _pages(text)


def test_bad_pages_and_store_fail_before_any_wiki_request(tmp_path):
    """One line naming the key, exit 2, and no request: the wiki's URL is a closed port."""
    cases = {
        "[report]\npage_prefix = 'MediaWiki:Topics'": "[report] page_prefix",
        "[store]\nurl = 'mysql+pymysql://u:p@127.0.0.1:9/db?ssl_ca=/nonexistent/ca.pem'": (
            "[store] cannot open"
        ),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["PYTHONPATH"] = str(REPO)
    for text, says in cases.items():
        (tmp_path / "config.toml").write_text(text + "\n[wiki]\napi_url = 'http://127.0.0.1:9/api.php'\n")
        done = subprocess.run(
            [sys.executable, "-m", "bot.run", "--once", "--dry-run"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == 2 and len(errors) == 1 and says in errors[0], done.stderr[-2000:]

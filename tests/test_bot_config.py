"""Configuration validation: safe defaults, clear messages, nothing silently ignored."""

from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config, parse_config, resolve_path

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

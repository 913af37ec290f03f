"""The promotion gate's decisions in the bot's store (migration 0008), on SQLite and
MariaDB: recorded once however often a report is given, the latest one shown by
`bot.status`, and a report that is not one refused with a one-line error, never
stopping the bot's start."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import inspect

from bot import migrate, record_promotion
from bot.store import PromotionRecord, Store
from tests import test_bot_store

store_url = test_bot_store.store_url  # a SQLite file, a MariaDB database


def _report(path, promoted: bool, at: str, version: str = "3.0.0+log.1"):
    """A promotion.json as training.promote writes it; returns its path."""
    reasons = [] if promoted else ["micro_f1 0.3 < installed 0.7"]
    scores = {"how": "run on the images", "micro_f1": 0.7, "macro_f1": 0.6, "per_label": {}}
    path.write_text(json.dumps({
        "promoted": promoted, "reasons": reasons, "operating_point": "precise",
        "margin": 0.05, "at": at, "judged_on": {}, "reviewed": None,
        "candidate": scores | {"version": version}, "installed": scores | {"version": "3.0.0"},
    }), encoding="utf-8")
    return path


def test_decisions_are_kept_once_and_the_latest_is_last(store_url, tmp_path):
    store = Store(store_url)
    assert store.last_promotion() is None
    first = record_promotion.read_report(
        _report(tmp_path / "a.json", True, "2026-12-01T10:00:00+00:00"))
    later = record_promotion.read_report(
        _report(tmp_path / "b.json", False, "2026-12-02T09:00:00+01:00", "3.0.0+log.2"))
    assert store.record_promotion(later) and store.record_promotion(first)
    assert not store.record_promotion(later)
    last = store.last_promotion()
    assert last == later
    assert last.decided_at == datetime(2026, 12, 2, 8, 0)  # kept in UTC
    assert last.figures["reasons"] == ["micro_f1 0.3 < installed 0.7"]
    assert last.figures["candidate"] == {"version": "3.0.0+log.2", "how": "run on the images",
                                         "micro_f1": 0.7, "macro_f1": 0.6}
    with pytest.raises(ValueError, match="promoted"):
        store.record_promotion(PromotionRecord(datetime(2026, 1, 1), "x", "y", "maybe", {}, ""))


def test_migration_0008_round_trips(store_url):
    store = Store(store_url)
    assert "promotions" in inspect(store.engine).get_table_names()
    migrate.downgrade(store.engine, "0007")
    assert "promotions" not in inspect(store.engine).get_table_names()
    migrate.upgrade(store.engine)
    assert migrate.current(store.engine) == migrate.head()
    assert "promotions" in inspect(store.engine).get_table_names()


def test_the_command_records_and_says_so(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path}/bot.sqlite"\n', encoding="utf-8")
    report = str(_report(tmp_path / "promotion.json", False, "2026-12-01T10:00:00+00:00"))
    assert record_promotion.main([report, "--config", str(config)]) == 0
    assert record_promotion.main([report, "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("recorded: refused 3.0.0+log.1 (installed 3.0.0)")
    assert out[1].startswith("already recorded: ")


@pytest.mark.parametrize("text", ["not json", '{"promoted": true}', "[]"])
def test_a_report_that_is_not_one_is_a_one_line_error(tmp_path, capsys, text):
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path}/bot.sqlite"\n', encoding="utf-8")
    bad = tmp_path / "promotion.json"
    bad.write_text(text, encoding="utf-8")
    assert record_promotion.main([str(bad), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: not a promotion report") and err.count("\n") == 1
    # in an installed model's folder it is logged and skipped: the bot still starts
    store = Store(f"sqlite:///{tmp_path}/bot.sqlite")
    assert not record_promotion.record_installed(store, tmp_path)
    assert store.last_promotion() is None


def test_a_missing_report_is_an_error(tmp_path, capsys):
    assert record_promotion.main([str(tmp_path / "nothing.json")]) == 2
    assert "cannot be read" in capsys.readouterr().err

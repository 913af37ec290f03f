"""The training log crosses from the bot to training as a file: `python -m
bot.export_training_log` writes a real store's log (SQLite and MariaDB), with the labels
reviewers accepted or rejected, to Parquet; `training.retrain_head` reads it (or runs the
export itself with --from-store), and reviewers' decisions overrule the categories."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from bot import export_training_log
from bot.store import (
    FileRecord,
    PredictionRecord,
    Store,
    SuggestionRecord,
    TrainingLogRecord,
    suggestions_table,
)
from classifier.head_inputs import HeadInputs, encode
from classifier.model import TopicModel
from tests import test_bot_store
from tests.wiki_fixtures import REPO
from training import retrain_head
from training.training_log import LogRow, read_export

store_url = test_bot_store.store_url  # a SQLite file, a MariaDB database


def _inputs(seed: int) -> HeadInputs:
    rng = np.random.default_rng(seed)
    return HeadInputs(rng.random(28, np.float32), rng.random(1280, np.float32) * 6,
                      rng.random(4, np.float32))


def record(store: Store, i: int, claimed: tuple[str, ...] | None,
           reviews: dict[str, str] | None = None, inputs: HeadInputs | None = None) -> str:
    """One logged upload, as a pass records it; each label in `reviews` suggested and
    then accepted or rejected in the review tool. Returns its sha1."""
    sha1 = f"{i:040x}"
    reviews = reviews or {}
    prediction = PredictionRecord(sha1=sha1, model_name="m", model_version="3.0.0",
                                  operating_point="precise", predictions=tuple(reviews),
                                  probabilities=dict.fromkeys(reviews, 0.9))
    store.record_upload(
        FileRecord(logid=i, title=f"File:{i}.jpg", uploaded_at="2026-12-01T00:00:00Z",
                   outcome="classified", sha1=sha1, claimed_topics=claimed),
        None, prediction, [SuggestionRecord(label, 0.9, None) for label in reviews],
        training=TrainingLogRecord(sha1, "3.0.0", *encode(inputs or _inputs(i)), claimed))
    s = suggestions_table
    with store.engine.connect() as conn:
        ids = dict(conn.execute(select(s.c.label, s.c.id).where(s.c.sha1 == sha1)).all())
    for label, decision in reviews.items():
        assert store.record_review(ids[label], decision, "Reviewer")
    return sha1


def _config(tmp_path, url: str, model: str = "") -> str:
    config = tmp_path / "config.toml"
    model_line = f'[model]\npath = "{model}"\n' if model else ""
    config.write_text(f'[store]\nurl = "{url}"\n{model_line}', encoding="utf-8")
    return str(config)


def test_export_holds_every_row_with_its_reviews(store_url, tmp_path):
    store = Store(store_url)
    a = record(store, 1, ("Places", "Maps & Flags"), {"Maps & Flags": "rejected",
                                                      "Art": "accepted"})
    b = record(store, 2, None, {"People": "accepted"})  # walk incomplete, still reviewed
    c = record(store, 3, ())
    record(store, 4, ("Art",), {"Art": "accepted"})
    assert store.undo_review(
        store.engine.connect().execute(
            select(suggestions_table.c.id).where(suggestions_table.c.sha1 == f"{4:040x}")
        ).scalar_one(), "Reviewer")  # an undone review is no decision
    out = tmp_path / "log.parquet"
    code = export_training_log.main(["--config", _config(tmp_path, store_url, "my-model"),
                                     "--out", str(out), "--quiet"])
    assert code == 0
    table = pq.read_table(out)
    rows = {r["sha1"]: r for r in table.to_pylist()}
    assert set(rows) == {a, b, c, f"{4:040x}"}
    assert rows[a]["claimed_topics"] == ["Places", "Maps & Flags"]
    assert (rows[a]["accepted"], rows[a]["rejected"]) == (["Art"], ["Maps & Flags"])
    assert rows[b]["walk_complete"] is False and rows[b]["claimed_topics"] is None
    assert rows[b]["accepted"] == ["People"]
    assert rows[f"{4:040x}"]["accepted"] == []
    meta = json.loads(table.schema.metadata[b"training_log"])
    assert meta["model_path"].endswith("/my-model")  # resolved as the bot resolves it
    back = read_export(out)
    [row_a] = [r for r in back.rows if r.sha1 == a]
    assert row_a.reviewed and row_a.claimed == ("Places", "Maps & Flags")
    assert not [r for r in back.rows if r.sha1 == b][0].claimed  # None: incomplete


def test_export_of_an_empty_log_is_a_readable_file(tmp_path):
    url = f"sqlite:///{tmp_path}/bot.sqlite"
    Store(url)
    out = tmp_path / "log.parquet"
    assert export_training_log.main(["--config", _config(tmp_path, url), "--out", str(out),
                                     "--quiet"]) == 0
    assert read_export(out).rows == []


def test_bad_config_unreachable_store_and_missing_folder_are_one_line_errors(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text("[store]\nnot_a_key = 1\n", encoding="utf-8")
    out = str(tmp_path / "log.parquet")
    assert export_training_log.main(["--config", str(config), "--out", out]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    good = _config(tmp_path, f"sqlite:///{tmp_path}/bot.sqlite")
    assert export_training_log.main(["--config", good, "--out", str(tmp_path / "no/x.pq")]) == 2
    assert "no such folder" in capsys.readouterr().err
    dead = _config(tmp_path, "mysql+pymysql://nobody:x@127.0.0.1:1/none")
    assert export_training_log.main(["--config", dead, "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the store cannot be read") and err.count("\n") == 1


def test_the_command_has_help_and_training_rejects_a_file_that_is_not_an_export(tmp_path,
                                                                               capsys):
    done = subprocess.run([sys.executable, "-m", "bot.export_training_log", "--help"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--since" in done.stdout
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"sha1": ["x"]}), other)
    assert retrain_head.main(["--from-log", str(other), "--out", str(tmp_path / "m")]) == 2
    assert "not a training-log export" in capsys.readouterr().err


def test_reviewers_overrule_the_categories_for_their_labels():
    taxonomy = TopicModel.load().taxonomy
    row = LogRow("a", b"", "", ("Places", "Maps & Flags"), accepted=("Art",),
                 rejected=("Maps & Flags",))
    assert retrain_head.labelled(row, taxonomy) == ("Places", "Culture", "Art")
    # rejecting a parent takes its children with it
    row = LogRow("b", b"", "", ("Places", "Maps & Flags"), (), ("Places",))
    assert retrain_head.labelled(row, taxonomy) == ()


def test_read_log_uses_reviewed_labels_and_keeps_reviewed_rows(tmp_path):
    """Through the store and the export: a reviewed row whose categories imply nothing
    is kept (a clean negative), its accepted label is a positive, its rejected one not."""
    url = f"sqlite:///{tmp_path}/bot.sqlite"
    store = Store(url)
    record(store, 1, (), {"Art": "accepted"})
    record(store, 2, ("Places", "Maps & Flags"), {"Maps & Flags": "rejected"})
    record(store, 3, ())  # no topic, no review: left out
    record(store, 4, None)  # incomplete walk: left out
    out = tmp_path / "log.parquet"
    assert export_training_log.main(["--config", _config(tmp_path, url), "--out", str(out),
                                     "--quiet"]) == 0
    model = TopicModel.load()
    rows, stats = retrain_head.read_log(read_export(out).rows, model, cap=10, seed=0)
    assert stats["rows_used"] == 2 and stats["reviewed_rows_used"] == 2
    assert stats["skipped"] == {"incomplete_walk": 1, "other_layout": 0, "no_topic": 1,
                                "kept_for_the_gate": 0}
    positives = {label for label, n in stats["positives"].items() if n}
    assert positives == {"Art", "Culture", "Places"}


def test_from_store_runs_the_bots_export(tmp_path):
    """`--from-store` goes through the bot's command in a subprocess, not an import: a
    store the export cannot read fails the retraining with the export's error."""
    dead = _config(tmp_path, "mysql+pymysql://nobody:x@127.0.0.1:1/none")
    done = subprocess.run(
        [sys.executable, "-m", "training.retrain_head", "--from-store", dead,
         "--out", str(tmp_path / "m")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "error: the store cannot be read" in done.stderr
    assert "bot.export_training_log" in done.stderr.splitlines()[-1]

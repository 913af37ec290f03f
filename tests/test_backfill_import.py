"""Importing the backfill's predictions into the bot's store, on a real SQLite file and a
real MariaDB server: files and pending suggestions appear, the uploads cursor does not
move, a rerun writes nothing, a file the live bot recorded is left alone, the report
pages the bot publishes show the old files, and rows the store cannot key are refused.

The predictions are made by the plain-loop path (`classify_batch` over real photos
from scikit-image) and written as the backfill writes them (Parquet partitioned by
`model_version`, Spark's column types), so these tests need no JVM; one slow test runs
the real Spark command on three images and imports its output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from backfill.import_predictions import (
    PredictionsError,
    file_title,
    import_predictions,
    main,
    upload_time,
)
from bot.publisher import Publisher, publish_from_store
from bot.report import PageStyle, shown_files
from bot.store import Cursor, FileRecord, Store, files_table, suggestions_table
from classifier.batch import classify_batch
from classifier.model import TopicModel
from tests.wiki_fixtures import REPO, sample_images

OUTPUT_SCHEMA = pa.schema([
    ("sha1", pa.string()), ("title", pa.string()), ("outcome", pa.string()),
    ("error", pa.string()), ("model_name", pa.string()), ("operating_point", pa.string()),
    ("predictions", pa.list_(pa.string())), ("probabilities", pa.map_(pa.string(), pa.float64())),
    ("logid", pa.int64()), ("uploaded_at", pa.string()), ("uploader", pa.string()),
    ("page_id", pa.int64()), ("categories", pa.list_(pa.string())),
    ("model_version", pa.string()),
])
"""The backfill's output columns with the types Spark writes (backfill.job.OUTPUT_SCHEMA)."""

LIVE_CURSOR = Cursor("2024-05-01T10:00:00Z", 9000)
PREFIX = "User:TopicBot/Topics"


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.load(num_threads=1)


@pytest.fixture(scope="module")
def rows(model) -> list[dict]:
    """Output rows as the backfill makes them: four real photos through the plain-loop
    path, one undecodable file, one unreachable thumbnail, and two rows without what the
    store needs (no logid; no upload time). Upload times in both forms the input may
    give: ISO, and MediaWiki's 14 digits from the dumps."""
    photos = dict(list(sample_images().items())[:4])
    items = [(hashlib.sha1(data).hexdigest(), data) for data in photos.values()]
    items.append((hashlib.sha1(b"junk").hexdigest(), b"junk"))
    out = []
    for i, (row, name) in enumerate(zip(classify_batch(model, items), [*photos, "Broken.jpg"],
                                        strict=True)):
        sha1 = row.pop("key")
        out.append({**row, "sha1": sha1, "title": name.replace(" ", "_"), "logid": 100 + i,
                    "uploaded_at": f"2015-03-0{1 + i % 2}T12:00:00Z" if i % 2 == 0
                    else f"2015030{1 + i % 2}120000",
                    "uploader": f"Old uploader {i}", "page_id": 5000 + i,
                    "categories": ["Cats", "Photographs"]})
    base = {k: out[0][k] for k in ("model_name", "model_version", "operating_point")}
    out.append({**base, "sha1": "e" * 40, "title": "Gone.jpg", "outcome": "thumbnail_unreachable",
                "error": "cannot download", "logid": 200, "uploaded_at": "2015-03-01T00:00:00Z"})
    out.append({**base, "sha1": "f" * 40, "title": "No log id.jpg", "outcome": "no_thumbnail",
                "logid": None, "uploaded_at": "2015-03-01T00:00:00Z"})
    out.append({**base, "sha1": "d" * 40, "title": "No time.jpg", "outcome": "no_thumbnail",
                "logid": 300, "uploaded_at": None})
    return out


def write_output(rows: list[dict], folder: Path) -> Path:
    """Write rows as the backfill's output folder: Parquet partitioned by model_version."""
    table = pa.Table.from_pylist(
        [{name: row.get(name) for name in OUTPUT_SCHEMA.names} for row in rows], OUTPUT_SCHEMA
    )
    pq.write_to_dataset(table, str(folder), partition_cols=["model_version"])
    return folder


@pytest.fixture
def output(rows, tmp_path) -> Path:
    return write_output(rows, tmp_path / "predictions")


@pytest.fixture(params=["sqlite", "mariadb"])
def store(request, tmp_path) -> Store:
    """An empty store in which the live bot has already recorded one upload."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/bot.sqlite"
    else:
        server = request.getfixturevalue("mariadb")
        url = server.url(server.new_database()).render_as_string(hide_password=False)
    store = Store(url)
    live = FileRecord(logid=LIVE_CURSOR.logid, title="File:Live.jpg",
                      uploaded_at=LIVE_CURSOR.timestamp, outcome="deleted")
    assert store.record_upload(live, LIVE_CURSOR)
    return store


def table_rows(store: Store) -> dict[str, list[tuple]]:
    with store.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key))]
                for t in (files_table, suggestions_table)}


def test_import_records_old_files_without_moving_the_cursor_and_reruns_write_nothing(
    store, output, rows
):
    classified = [r for r in rows if r["outcome"] == "classified"]
    labels = sum(len(r["predictions"]) for r in classified)
    assert labels > 0  # the photos give the queue something to show

    summary = import_predictions(store, output, progress=False)
    assert summary.to_dict() == {
        "model_version": rows[0]["model_version"],
        "imported": 5, "skipped_existing": 0, "skipped_transient": 1,
        "refused": 2, "refused_by_reason": {"no_logid": 1, "no_upload_time": 1},
        "by_outcome": {"classified": 4, rows[4]["outcome"]: 1},
        "suggestions": labels,
    }
    assert rows[4]["outcome"].startswith("image_")
    assert store.cursor() == LIVE_CURSOR
    assert store.counts()["files"] == 1 + 5
    assert store.counts()["predictions"] == 4
    assert store.counts()["suggestions"] == labels

    with store.engine.connect() as conn:
        files = {r.logid: r for r in conn.execute(select(files_table))}
    assert files[100].title == "File:Coffee cup.jpg"  # the dump's form, as the bot writes it
    assert files[100].uploaded_at == "2015-03-01T12:00:00Z"
    assert files[101].uploaded_at == "2015-03-02T12:00:00Z"  # from "20150302120000"
    assert files[101].uploader == "Old uploader 1" and files[101].page_id == 5001
    assert files[104].outcome == rows[4]["outcome"] and files[104].error
    report = store.report_rows()
    assert {r.state for r in report} == {"pending"} and {r.adds_topic for r in report} == {None}

    before = table_rows(store)
    again = import_predictions(store, output, progress=False)
    assert (again.imported, again.skipped_existing, again.suggestions) == (0, 5, 0)
    assert table_rows(store) == before
    assert store.cursor() == LIVE_CURSOR


def test_a_file_the_live_bot_recorded_is_left_alone(store, rows, tmp_path):
    recorded = rows[0]
    live = FileRecord(logid=recorded["logid"], title="File:Coffee cup.jpg",
                      uploaded_at="2015-03-01T12:00:00Z", outcome="deleted")
    assert store.record_upload(live, None)
    output = write_output([recorded], tmp_path / "one")
    summary = import_predictions(store, output, progress=False)
    assert (summary.imported, summary.skipped_existing) == (0, 1)
    assert store.counts()["suggestions"] == 0
    with store.engine.connect() as conn:
        outcome = conn.execute(select(files_table.c.outcome)
                               .where(files_table.c.logid == recorded["logid"])).scalar_one()
    assert outcome == "deleted"


def test_the_published_reports_show_the_imported_files(store, output, rows, model, tmp_path):
    import_predictions(store, output, progress=False)
    publisher = Publisher(site=None, prefix=PREFIX, kill_switch_page="User:TopicBot/Run",
                          summary="test", dry_run=True, output_dir=tmp_path / "reports")
    style = PageStyle(PREFIX, max_bytes=500_000, max_files=500)
    results = publish_from_store(store, publisher, model.taxonomy, style, None, datetime.now())
    assert {r.status for r in results} == {"written"}
    pages = {r.title: Path(r.detail).read_text(encoding="utf-8") for r in results}
    shown = set()
    for row in rows[:4]:
        title = f"File:{row['title'].replace('_', ' ')}"
        for label in row["predictions"]:  # on each of its topics' worklist pages
            text = pages[f"{PREFIX}/{label}"]
            assert f"{title}|{label}: " in text
            assert f"[[Special:Contributions/{row['uploader']}|" in text
            shown.add(title)
    assert shown  # the model suggested something for the imported photos
    every = set().union(*(shown_files(text) for text in pages.values()))
    assert every == shown  # the live file without suggestions is on no page


def test_rows_without_a_log_id_are_refused_with_a_count(rows, tmp_path):
    store = Store(f"sqlite:///{tmp_path}/bot.sqlite")
    without = [{**r, "logid": None} for r in rows[:3]]
    warnings: list[str] = []
    summary = import_predictions(store, write_output(without, tmp_path / "p"), progress=False,
                                 warn=warnings.append)
    assert summary.imported == 0 and summary.refused == {"no_logid": 3}
    assert warnings and "refused 3 of 3 rows" in warnings[0] and "3 no_logid" in warnings[0]
    assert store.counts()["files"] == 0 and store.cursor() is None


def test_the_model_version_must_be_named_when_there_are_several(rows, tmp_path):
    folder = tmp_path / "p"
    write_output(rows[:2], folder)
    write_output([{**r, "model_version": "1.0"} for r in rows[2:4]], folder)
    store = Store(f"sqlite:///{tmp_path}/bot.sqlite")
    with pytest.raises(PredictionsError, match="--model-version"):
        import_predictions(store, folder, progress=False)
    summary = import_predictions(store, folder, "1.0", progress=False)  # not the float 1.0
    assert summary.imported == 2 and store.counts()["files"] == 2
    with pytest.raises(PredictionsError, match="no rows for model version '9'"):
        import_predictions(store, folder, "9", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PredictionsError, match="no Parquet files"):
        import_predictions(store, tmp_path / "empty", progress=False)


def test_upload_times_and_titles_are_written_as_the_bot_writes_them():
    assert upload_time("2015-03-01T12:00:00Z") == "2015-03-01T12:00:00Z"
    assert upload_time("20150301120000") == "2015-03-01T12:00:00Z"
    assert upload_time("2015-03-01 12:00:00") == "2015-03-01T12:00:00Z"  # Spark's cast
    assert upload_time("2015-03-01T14:00:00+02:00") == "2015-03-01T12:00:00Z"
    assert upload_time(None) is None and upload_time("yesterday") is None
    assert file_title("A_b.jpg") == "File:A b.jpg" == file_title("File:A b.jpg")


def test_command_prints_a_json_summary_last_and_has_help(output, tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path}/cli.sqlite"\n', encoding="utf-8")
    assert main([str(output), "--config", str(config), "--no-progress"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["imported"] == 5
    assert main([str(tmp_path / "missing"), "--config", str(config)]) == 2
    assert "not a backfill output" in capsys.readouterr().err
    done = subprocess.run([sys.executable, "-m", "backfill.import_predictions", "--help"],
                          cwd=REPO, capture_output=True, text=True, check=True)
    assert "PARQUET_DIR" in done.stdout and "--model-version" in done.stdout


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:distutils Version classes:DeprecationWarning")
def test_spark_backfill_then_import(tmp_path):
    """The real pipeline: input table -> `backfill.run` on local Spark -> import."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark")
    photos = list(sample_images().values())[:3]
    input_path = tmp_path / "files.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"title": f"Old_{i}.jpg", "sha1": hashlib.sha1(data).hexdigest(), "image": data,
         "logid": 10 + i, "timestamp": f"2012010{i + 1}080000", "uploader": "Someone",
         "page_id": 70 + i, "categories": ["Old photographs"]}
        for i, data in enumerate(photos)
    ]), input_path)
    output = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "backfill.run", str(input_path), str(output),
                    "--master", "local[1]"], cwd=REPO, check=True, capture_output=True,
                   timeout=300)
    written = pq.read_table(output).to_pylist()
    assert {r["logid"] for r in written} == {10, 11, 12}
    assert {tuple(r["categories"]) for r in written} == {("Old photographs",)}

    store = Store(f"sqlite:///{tmp_path}/bot.sqlite")
    summary = import_predictions(store, output, progress=False)
    assert (summary.imported, summary.outcomes["classified"]) == (3, 3)
    days = {r.uploaded_at[:10] for r in store.report_rows()}
    assert days <= {"2012-01-01", "2012-01-02", "2012-01-03"} and store.cursor() is None

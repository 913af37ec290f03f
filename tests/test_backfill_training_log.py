"""The backfill fills the training log for files already on Commons, end to end on real
images: Debian's country flags and the photographs that ship in packages, under a small
category graph, go through `backfill.run --training-log` on local Spark and
`backfill.label_graph`; `backfill.import_training_log` writes the rows the live bot would
have logged (the same bytes for the same image), and `training.retrain_head` learns
from them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backfill import import_training_log
from bot.store import Store
from classifier.head_inputs import encode
from classifier.images import decode_image
from classifier.model import TopicModel
from tests.test_label_graph import write_graph
from tests.test_retrain_promote import FLAG_TOPICS, PHOTO_TOPICS
from tests.wiki_fixtures import REPO
from training import retrain_head
from training.sample_images import package_photos, real_flags

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:distutils Version classes:DeprecationWarning"),
]

PARENTS = {"Flags of countries": ["Flags"], "Photographs of art": ["Art"],
           "Mystery": ["Unknown parent"]}
DEPTH = {"Flags of countries": 4, "Photographs of art": 4, "Mystery": 4, "Unknown parent": 3}


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    """(folder, input rows): the Spark output, label_graph's files.parquet, a config."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark")
    flags = real_flags()
    if len(flags) < 100:
        pytest.skip("iso-flags-png-320x240 is not installed")
    tmp = tmp_path_factory.mktemp("backfill-log")
    items = [(f"Flag {n}.png", data, ["Flags of countries"])
             for n, data in list(flags.items())[:60]]
    items += [(f"Photo {i}.jpg", data, ["Photographs of art"])
              for i, data in enumerate(list(package_photos().values())[:40])]
    items += [(f"Odd {i}.png", data, ["Mystery"]) for i, data in
              enumerate(list(flags.values())[60:63])]
    items += [("Broken.jpg", b"not an image", ["Flags of countries"])]
    rows = [{"title": title, "sha1": hashlib.sha1(data).hexdigest(), "image": data,
             "logid": i, "timestamp": "20120101080000", "categories": cats}
            for i, (title, data, cats) in enumerate(items)]
    pq.write_table(pa.Table.from_pylist(rows), tmp / "files.parquet")
    run = dict(cwd=REPO, check=True, capture_output=True, timeout=600)
    subprocess.run([sys.executable, "-m", "backfill.run", str(tmp / "files.parquet"),
                    str(tmp / "out"), "--master", "local[1]", "--training-log"], **run)
    graph = write_graph(tmp / "graph", PARENTS, DEPTH, unknown={"Unknown parent"})
    subprocess.run([sys.executable, "-m", "backfill.label_graph", str(graph),
                    str(tmp / "files.parquet"), str(tmp / "labels")], **run)
    (tmp / "config.toml").write_text(f'[store]\npath = "{tmp}/bot.sqlite"\n', encoding="utf-8")
    return tmp, rows


def test_the_backfill_logs_what_the_bot_would(backfilled, capsys):
    tmp, rows = backfilled
    args = [str(tmp / "out"), str(tmp / "labels" / "files.parquet"),
            "--config", str(tmp / "config.toml"), "--no-progress"]
    assert import_training_log.main(args) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary == {"model_version": TopicModel.load().version, "files": 103, "added": 103,
                       "already_logged": 0, "walk_complete": 100, "walk_incomplete": 3,
                       "unlabelled": 0}
    store = Store(f"sqlite:///{tmp}/bot.sqlite")
    logged = {r.sha1: r for r in store.training_log(complete_only=False)}
    by_title = {r["title"]: r for r in rows}
    flag = by_title[next(t for t in by_title if t.startswith("Flag "))]
    photo, odd = by_title["Photo 0.jpg"], by_title["Odd 0.png"]
    assert json.loads(logged[flag["sha1"]].claimed_topics) == list(FLAG_TOPICS)
    assert json.loads(logged[photo["sha1"]].claimed_topics) == list(PHOTO_TOPICS)
    assert logged[odd["sha1"]].walk_complete is False
    assert by_title["Broken.jpg"]["sha1"] not in logged
    # the same bytes the live bot logs for the same image
    model = TopicModel.load()
    [prediction] = model.predict_images(
        [decode_image(photo["image"], min_size=max(model.input_sizes))], return_inputs=True)
    assert (logged[photo["sha1"]].inputs, logged[photo["sha1"]].layout) == \
        encode(prediction.head_inputs)
    # a rerun adds nothing
    assert import_training_log.main(args) == 0
    again = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (again["added"], again["already_logged"]) == (0, 103)


def test_a_retraining_learns_from_the_backfilled_log(backfilled, capsys):
    tmp, _ = backfilled
    import_training_log.main([str(tmp / "out"), str(tmp / "labels" / "files.parquet"),
                              "--config", str(tmp / "config.toml"), "--no-progress"])
    assert retrain_head.main(["--from-store", str(tmp / "config.toml"),
                              "--out", str(tmp / "model")]) == 0
    stats = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert stats["rows_used"] == 100 and stats["skipped"]["incomplete_walk"] == 3
    card = json.loads((tmp / "model" / "model.json").read_text())
    assert set(card["metrics"]["training_log"]["labels_refitted"]) == {*FLAG_TOPICS,
                                                                       *PHOTO_TOPICS}


def test_errors_name_what_is_missing(backfilled, tmp_path, capsys):
    tmp, _ = backfilled
    config = ["--config", str(tmp / "config.toml")]
    assert import_training_log.main([str(tmp / "out"), str(tmp / "files.parquet"), *config]) == 2
    assert "not the files.parquet of backfill.label_graph" in capsys.readouterr().err
    plain = tmp_path / "plain"  # a backfill output written without --training-log
    (plain / "model_version=1").mkdir(parents=True)
    pq.write_table(pa.table({"sha1": ["a"], "title": ["t"], "outcome": ["classified"],
                             "model_name": ["m"], "operating_point": ["p"]}),
                   plain / "model_version=1" / "part.parquet")
    assert import_training_log.main([str(plain), str(tmp / "labels" / "files.parquet"),
                                     *config]) == 2
    assert "run backfill.run with --training-log" in capsys.readouterr().err
    done = subprocess.run([sys.executable, "-m", "backfill.import_training_log", "--help"],
                          cwd=REPO, capture_output=True, text=True, check=True)
    assert "--max-rows" in done.stdout

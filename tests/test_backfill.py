"""The Spark backfill on a local SparkSession: the same rows as the plain loop over
`classify_batch`, a rerun that writes nothing, and a killed job that resumes.

One session-scoped `local[2]` session serves every in-process test (starting one costs
seconds); the kill test runs the command in its own process group, since only a real
process can be killed midway.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("pyspark")

from backfill.inputs import Unreadable, read_reference  # noqa: E402
from backfill.job import InputTableError, run_backfill  # noqa: E402
from backfill.session import spark_session  # noqa: E402
from classifier.batch import classify_batch  # noqa: E402
from classifier.model import TopicModel  # noqa: E402
from tests.wiki_fixtures import sample_images, variant  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    # PySpark 3.5 compares versions with distutils; nothing this project can change
    pytest.mark.filterwarnings("ignore:distutils Version classes:DeprecationWarning"),
]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def spark():
    session = spark_session("local[2]", shuffle_partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.load(num_threads=1)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> pd.DataFrame:
    """24 distinct files: photos as bytes, two undecodable ones, one read from a path and
    one whose path is missing, plus a duplicate row of the first file."""
    photos = list(sample_images().values())
    blobs = [variant(photos[i % len(photos)], seed=i) for i in range(18)]
    blobs += [b"not an image at all", photos[0][:200]]
    rows = [{"title": f"File {i}.jpg", "image": b, "thumbnail": None} for i, b in enumerate(blobs)]
    folder = tmp_path_factory.mktemp("thumbs")
    for i in range(2):
        (folder / f"{i}.jpg").write_bytes(variant(photos[1], seed=100 + i))
        rows.append({"title": f"On disk {i}.jpg", "image": None,
                     "thumbnail": str(folder / f"{i}.jpg")})
    rows.append({"title": "Gone.jpg", "image": None, "thumbnail": str(folder / "missing.jpg")})
    rows.append({"title": "Nothing.jpg", "image": None, "thumbnail": None})
    for row in rows:
        key = row["image"] or (row["thumbnail"] or row["title"]).encode()
        row["sha1"] = hashlib.sha1(key).hexdigest()
    table = pd.DataFrame(rows)
    table["logid"] = range(1000, 1000 + len(table))
    table["uploaded_at"] = "2020-01-01T00:00:00Z"
    return pd.concat([table, table.iloc[[0]]], ignore_index=True)


@pytest.fixture(scope="module")
def input_path(files, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("input") / "files.parquet"
    files.to_parquet(path)
    return str(path)


def plain_loop(model: TopicModel, files: pd.DataFrame) -> dict[str, dict]:
    """The reference: the shared batch function over the readable files, in one process."""
    unique = files.drop_duplicates("sha1")
    rows, items = {}, []
    for row in unique.itertuples():
        data = read_reference(row.image, None if pd.isna(row.thumbnail) else row.thumbnail)
        if isinstance(data, Unreadable):
            rows[row.sha1] = {"outcome": data.outcome, "predictions": None,
                              "probabilities": None}
        else:
            items.append((row.sha1, data))
    for start in range(0, len(items), 5):
        for r in classify_batch(model, items[start:start + 5]):
            rows[r["key"]] = r
    return rows


def read_output(path: str) -> pd.DataFrame:
    table = pd.read_parquet(path)
    table["model_version"] = table["model_version"].astype(str)
    return table


def assert_same_as_plain(output: pd.DataFrame, expected: dict[str, dict]) -> None:
    assert output["sha1"].is_unique
    assert set(output["sha1"]) == set(expected)
    for row in output.itertuples():
        want = expected[row.sha1]
        assert row.outcome == want["outcome"], row.title
        if want["predictions"] is None:
            assert row.predictions is None and row.probabilities is None
        else:
            assert list(row.predictions) == want["predictions"]
            assert dict(row.probabilities) == pytest.approx(want["probabilities"], abs=1e-9)


def test_backfill_equals_plain_loop_and_rerun_writes_nothing(spark, model, files, input_path,
                                                               tmp_path):
    out = str(tmp_path / "predictions")
    lines: list[str] = []
    summary = run_backfill(spark, input_path, out, chunk_files=10, batch_size=4,
                           progress=lines.append)
    expected = plain_loop(model, files)
    output = read_output(out)
    assert_same_as_plain(output, expected)
    assert summary.processed == len(expected) == 24 and summary.already_done == 0
    assert summary.outcomes == {"classified": 20, "image_not_an_image": 1, "image_corrupt": 1,
                                "thumbnail_unreachable": 1, "no_thumbnail": 1}
    assert (output["model_version"] == model.version).all()
    assert set(output.dropna(subset=["logid"])["logid"]) == set(range(1000, 1024))
    assert len([line for line in lines if line.startswith("chunk ")]) == 3  # 24 files / 10

    again = run_backfill(spark, input_path, out, chunk_files=10, progress=lines.append)
    assert again.processed == 0 and again.already_done == 24
    pd.testing.assert_frame_equal(
        read_output(out).sort_values("sha1", ignore_index=True),
        output.sort_values("sha1", ignore_index=True),
    )


def test_a_new_model_version_gets_its_own_partition(spark, model, input_path, tmp_path):
    """Done means done for this version only: a partition of another version is no skip."""
    out = tmp_path / "predictions"
    other = pd.DataFrame({"sha1": ["x"], "outcome": ["classified"], "model_name": ["old"],
                          "operating_point": ["p"]})
    (out / "model_version=0.0-old").mkdir(parents=True)
    other.to_parquet(out / "model_version=0.0-old" / "part-0.parquet")
    summary = run_backfill(spark, input_path, str(out), chunk_files=100)
    assert summary.already_done == 0 and summary.processed == 24
    assert set(read_output(str(out))["model_version"]) == {"0.0-old", model.version}


def test_killed_midway_resumes(spark, model, files, input_path, tmp_path):
    """SIGKILL the whole job (driver and JVM) once its first chunk has committed; the
    rerun skips what was committed and the result is the same as an unbroken run."""
    out = tmp_path / "predictions"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    job = subprocess.Popen(
        [sys.executable, "-m", "backfill.run", input_path, str(out), "--master", "local[1]",
         "--chunk-files", "2", "--batch-size", "2"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("model_version=*/*.parquet")):
            assert job.poll() is None, "the job ended before committing a chunk"
            assert time.monotonic() < deadline, "no chunk committed in 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    committed = read_output(str(out))
    assert 0 < len(committed) < 24, "the kill should land between chunks"

    summary = run_backfill(spark, input_path, str(out), chunk_files=10)
    assert summary.already_done == committed["sha1"].nunique()
    assert summary.already_done + summary.processed == 24
    assert_same_as_plain(read_output(str(out)), plain_loop(model, files))


def test_input_without_a_reference_is_refused(spark, tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"title": ["A.jpg"], "sha1": ["a"]}).to_parquet(path)
    with pytest.raises(InputTableError, match="image.*thumbnail"):
        run_backfill(spark, str(path), str(tmp_path / "out"))
    pd.DataFrame({"title": ["A.jpg"], "image": [b"x"]}).to_parquet(path)
    with pytest.raises(InputTableError, match="sha1"):
        run_backfill(spark, str(path), str(tmp_path / "out"))


def test_command_help():
    result = subprocess.run([sys.executable, "-m", "backfill.run", "--help"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert "--master" in result.stdout and "local[*]" in result.stdout

"""The learning-curve command on a small synthetic run: shares, sizes, plot, bad input.

The head inputs are random except for one label that a feature separates, so the command
runs its real cross-validation in seconds; what is checked is the bookkeeping (every
share scored on every image, sizes per fit, the JSON and the plot), not a figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from classifier.detectors import FACE_SIGNALS
from classifier.taxonomy import load_taxonomy
from training import build_default_model as v1
from training import learning_curve
from training.build_default_model_v3 import CACHE_FILE, FEATURES


@pytest.fixture
def run_and_dev(tmp_path):
    taxonomy = load_taxonomy(v1.TAXONOMY_VERSION)
    rng = np.random.default_rng(0)
    n_dev, n_extra, labels = 40, 10, len(taxonomy.labels)
    dev = tmp_path / "dev"
    (dev / "images").mkdir(parents=True)
    rows = ["file,labels,what_it_shows"]
    people = rng.random(n_dev) < 0.5
    for i in range(n_dev):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(dev / "images" / f"{i}.png")
        rows.append(f"images/{i}.png,{'Society;People' if people[i] else 'Places'},tile {i}")
    (dev / "labels.csv").write_text("\n".join(rows) + "\n")
    features = rng.normal(size=(n_dev, FEATURES)).astype(np.float32)
    features[:, 0] += 4 * people  # one feature says People
    signals = {"graph": rng.random((n_dev, labels)).astype(np.float32), "features": features,
               "face": rng.random((n_dev, len(FACE_SIGNALS))).astype(np.float32)}
    extra = {"graph": rng.random((n_extra, labels)).astype(np.float32),
             "features": rng.normal(size=(n_extra, FEATURES)).astype(np.float32),
             "face": rng.random((n_extra, len(FACE_SIGNALS))).astype(np.float32)}
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / CACHE_FILE, y_extra=np.zeros((n_extra, labels), np.float32),
             known=np.zeros((n_extra, labels), bool), sources=np.array(["x"] * n_extra),
             **{f"dev_{k}": v for k, v in signals.items()},
             **{f"extra_{k}": v for k, v in extra.items()})
    return run, dev


def test_every_share_is_scored_and_plotted(run_and_dev, tmp_path, capsys):
    run, dev = run_and_dev
    plot = tmp_path / "curve.png"
    code = learning_curve.main(["--run", str(run), "--dev", str(dev), "--shares", "0.5", "1",
                                "--repeats", "1", "--folds", "2", "--inner-folds", "2",
                                "--plot", str(plot)])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(result) == ["0.5", "1.0"]
    assert [v["images_per_fit"] for v in result.values()] == [10, 20]
    assert result["1.0"]["balanced"]["micro_f1"] > 0  # People is learnable from feature 0
    assert plot.stat().st_size > 5000 and plot.read_bytes().startswith(b"\x89PNG")


def test_a_run_built_on_other_images_is_refused(run_and_dev):
    run, dev = run_and_dev
    csv = dev / "labels.csv"
    csv.write_text("\n".join(csv.read_text().splitlines()[:-1]) + "\n")  # one image fewer
    with pytest.raises(SystemExit, match="holds 40 Commons images"):
        learning_curve.main(["--run", str(run), "--dev", str(dev), "--repeats", "1",
                             "--folds", "2", "--inner-folds", "2"])


def test_a_missing_run_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        learning_curve.main(["--run", str(tmp_path / "nothing")])
    assert stop.value.code == 2
    assert "build_default_model_v3 --out" in capsys.readouterr().err


def test_a_label_with_one_class_in_a_draw_gets_a_constant_not_an_error():
    from training.commons_head import Rows, fit_linear, learned_scores

    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 5)).astype(np.float32)
    y = np.zeros((12, 2), np.float32)
    y[:6, 1] = 1  # label 0 has no positive in this draw, label 1 has six
    rows = Rows(x, np.zeros((12, 2), np.float32), y, np.ones((12, 2), bool),
                np.ones(12, np.float32))
    weights, bias = fit_linear(rows, 1.0, np.array([True, True]))
    scores = learned_scores(x, weights, bias)
    assert np.all(weights[:, 0] == 0) and np.all(scores[:, 0] < 0.01)
    assert scores[:6, 1].mean() > scores[6:, 1].mean()

"""Train, evaluate and export a tiny model on real Fashion-MNIST images, end to end.

The images come from Debian's dataset-fashion-mnist (scripts/install-test-services.sh
installs it); without it these tests skip. A two-layer backbone at 32 px keeps the
whole run to seconds; the real backbone is exercised by the documented quick run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifier.model import TopicModel
from training import fashion_mnist

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not fashion_mnist.available(),
                       reason="apt-get install dataset-fashion-mnist"),
]
tf = pytest.importorskip("tensorflow")

TAXONOMY_FILE = Path(__file__).parents[1] / "training/configs/fashion-mnist-taxonomy.toml"


def _config(tmp: Path, head: str, loss: str) -> Path:
    path = tmp / f"{head}.toml"
    path.write_text(f"""
name = "tiny-{head}"
seed = 0
[data]
table = "{tmp / 'data' / 'table.csv'}"
taxonomy = "{TAXONOMY_FILE}"
fractions = [0.5, 0.25, 0.25]
input_size = 32
cache = "{tmp / 'cache'}"
no_flip_labels = ["Bag"]
[model]
backbone = "tiny"
imagenet_weights = false
head = "{head}"
loss = "{loss}"
[train]
batch_size = 16
frozen_epochs = 1
finetune_epochs = 1
[export]
representative_images = 20
min_top_level_agreement = 0.5
min_label_agreement = 0.5
max_mean_abs_difference = 0.1
""")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from training import evaluate, export, train

    tmp = tmp_path_factory.mktemp("tiny")
    fashion_mnist.write_table(tmp / "data", per_class=12, seed=0)
    run_dir = tmp / "run"
    assert train.main([str(_config(tmp, "chmcnn", "mcloss")), "--run-dir", str(run_dir)]) == 0
    assert evaluate.main([str(run_dir)]) == 0
    assert export.main([str(run_dir)]) == 0
    return run_dir


def test_the_run_directory_holds_config_logs_history_checkpoints_and_results(run):
    for name in ("config.toml", "train.log", "history.csv", "dataset.parquet", "train.json",
                 "checkpoints/best.weights.h5", "checkpoints/last.weights.h5",
                 "evaluation.json", "MODEL_CARD.md", "plots/pr_curves.png",
                 "plots/frequency_vs_f1.png", "model/model.tflite", "model/model.json"):
        assert (run / name).is_file(), name
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 3  # header + two epochs (one frozen, one fine-tuned)


def test_the_loss_named_in_the_config_is_the_loss_trained_with(run, tmp_path):
    from training.config import load_config
    from training.heads import build_models
    from training.losses import MCLoss, WeightedBCE
    from training.train import compile_model

    assert json.loads((run / "train.json").read_text())["loss"] == "mcloss"
    for head, loss, cls in (("chmcnn", "mcloss", MCLoss), ("flat", "bce", WeightedBCE),
                            ("flat", "mcloss", MCLoss)):
        config = load_config(_config(tmp_path, head, loss))
        taxonomy = config.taxonomy()
        model, _ = build_models(config, taxonomy)
        compile_model(model, config, taxonomy, np.ones(len(taxonomy.labels), np.float32), 1e-3)
        assert isinstance(model.loss, cls) and model.loss.name == loss


def test_evaluation_has_valid_operating_points_and_no_hierarchy_violations(run):
    result = json.loads((run / "evaluation.json").read_text())
    for thresholds in result["operating_points"].values():
        assert all(t is None or 0 < t < 1 for t in thresholds.values())
    assert result["test"]["threshold_0.5"]["hierarchy_violations"] == {
        "scores": 0.0, "predictions": 0.0}
    per_label = result["test"]["precision_0.9"]["per_label"]
    assert set(per_label["Bag"]) == {"support", "precision", "recall", "f1", "pr_auc", "roc_auc"}


def test_the_exported_model_loads_in_the_classifier_and_predicts(run):
    model = TopicModel.load(run / "model")
    assert model.card.taxonomy.version == "fashion-mnist-1" and model.card.input_size == 32
    images = sorted((run.parent / "data" / "images").glob("*.png"))[:3]
    results = model.predict_bytes([p.read_bytes() for p in images], threshold=0.5)
    assert all(set(r.probabilities) == set(model.labels) for r in results)
    card = json.loads((run / "model" / "model.json").read_text())
    assert card["metrics"]["int8_vs_float"]["images"] > 0


def test_the_export_gate_refuses_a_deliberately_broken_int8_model(run):
    """Calibrating on black images only gives activation ranges that real images overflow:
    the int8 model is broken, and the gate must say so rather than write it."""
    from training.export import ExportRefused, quantize_checked
    from training.pipeline import split_arrays
    from training.run_dir import load_trained

    config, taxonomy, built, model = load_trained(run)
    validation = split_arrays(config, taxonomy, built, "validation")
    black = np.zeros((10, 32, 32, 3), np.uint8)
    thresholds = dict.fromkeys(taxonomy.labels, 0.5)
    with pytest.raises(ExportRefused, match="exceeds|agree"):
        quantize_checked(model, black, validation.pixels[validation.valid], taxonomy,
                         thresholds, config.export)

"""The run directory: everything one experiment writes, in one place.

    runs/<name>/config.toml          the experiment file, copied at the start
    runs/<name>/train.log            the log of every command run on it
    runs/<name>/dataset.parquet      the built table (labels closed, splits) + dataset.json
    runs/<name>/history.csv          loss and metrics per epoch
    runs/<name>/checkpoints/         best.weights.h5 (lowest validation loss), last.weights.h5
    runs/<name>/train.json           timings and what was trained how
    runs/<name>/evaluation.json, plots/, MODEL_CARD.md     (training.evaluate)
    runs/<name>/model/               model.tflite + model.json + MODEL_CARD.md (training.export)

Evaluation and export rebuild the architecture from the copied configuration and load
the checkpoint explicitly (the research's prediction script never loaded its weights).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd

from training.config import Config, load_config

CONFIG_FILE = "config.toml"
TABLE_FILE = "dataset.parquet"
CHECKPOINTS = "checkpoints"
BEST_WEIGHTS = "best.weights.h5"
LAST_WEIGHTS = "last.weights.h5"


def setup_logging(run_dir: Path) -> None:
    """Log the training package to stderr and append it to the run's train.log.

    Only the `training` logger is configured, replacing its handlers on each call, so
    commands run in one process (tests) neither stack handlers nor take over the root
    logger of the program that called them."""
    run_dir.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("training")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in (logging.StreamHandler(sys.stderr),
                    logging.FileHandler(run_dir / "train.log", encoding="utf-8")):
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def load_run(run_dir: Path) -> tuple[Config, pd.DataFrame]:
    """The run's own configuration copy and built table."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory: {CONFIG_FILE} missing")
    return load_config(run_dir / CONFIG_FILE), pd.read_parquet(run_dir / TABLE_FILE)


def load_trained(run_dir: Path, weights: str = BEST_WEIGHTS):
    """(config, taxonomy, built table, inference model with the checkpoint loaded)."""
    from training.heads import build_models

    config, built = load_run(run_dir)
    taxonomy = config.taxonomy()
    train_model, inference = build_models(config, taxonomy)
    train_model.load_weights(run_dir / CHECKPOINTS / weights)
    return config, taxonomy, built, inference

"""Train a topic model from an experiment file.

    python -m training.train training/configs/fashion-mnist-quick.toml [--run-dir DIR]

Builds the dataset table (checks, content hashes, ancestors, seeded splits), decodes the
images once into the cache, then trains in two phases: the backbone frozen (only the
head learns, fast and safe for pretrained features), then its last blocks unfrozen at a
lower learning rate. The checkpoint with the lowest validation loss is kept. Everything
goes under the run directory (see training/run_dir.py); then run training.evaluate and
training.export on it.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from training.config import Config, load_config
from training.run_dir import (
    BEST_WEIGHTS,
    CHECKPOINTS,
    CONFIG_FILE,
    LAST_WEIGHTS,
    TABLE_FILE,
    setup_logging,
)

log = logging.getLogger("training.train")


def build_dataset(config: Config, run_dir: Path):
    """Build and write the run's dataset table; returns it."""
    from classifier.category_heuristic import TopicHeuristic
    from training.dataset import build_table, read_table
    from training.heuristic_graph import load_bench_graph

    taxonomy = config.taxonomy()
    label_categories = None
    if config.data.category_graph:
        heuristic = TopicHeuristic(load_bench_graph(Path(config.data.category_graph)), taxonomy)

        def label_categories(categories: tuple[str, ...]) -> tuple[str, ...]:
            return heuristic.label(categories).labels()

    table_path = Path(config.data.table)
    built, report = build_table(
        read_table(table_path), taxonomy, base=table_path.parent, seed=config.seed,
        fractions=config.data.fractions, label_categories=label_categories,
        cache=Path(config.data.cache),
    )
    built.to_parquet(run_dir / TABLE_FILE, index=False)
    (run_dir / "dataset.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    log.info("dataset: %s", json.dumps(report.to_json()))
    return built


def compile_model(model, config: Config, taxonomy, pos_weight: np.ndarray, learning_rate: float):
    """Compile with the loss the configuration names, and nothing else."""
    from tensorflow import keras

    from training.losses import build_loss

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=build_loss(config.model.loss, taxonomy, pos_weight),
        metrics=[keras.metrics.AUC(multi_label=True, curve="PR", name="pr_auc")],
    )
    return model


def train(config: Config, run_dir: Path) -> dict:
    """Run both phases; returns what train.json records."""
    from tensorflow import keras

    from training.heads import build_models, set_trainable
    from training.losses import positive_weights
    from training.pipeline import make_dataset, split_arrays
    from training.progress import EpochProgress

    keras.utils.set_random_seed(config.seed)
    taxonomy = config.taxonomy()
    built = build_dataset(config, run_dir)
    start = time.perf_counter()
    train_data = split_arrays(config, taxonomy, built, "train")
    val_data = split_arrays(config, taxonomy, built, "validation")
    decode_s = time.perf_counter() - start
    pos_weight = positive_weights(train_data.targets[train_data.valid], config.model.pos_weight,
                                  config.model.max_pos_weight)
    log.info("positive weights: %s", dict(zip(taxonomy.labels, pos_weight.round(2).tolist(),
                                               strict=True)))
    train_model, _ = build_models(config, taxonomy)
    batch = config.train.batch_size
    steps = -(-len(train_data) // batch)
    if config.train.max_steps_per_epoch:
        steps = min(steps, config.train.max_steps_per_epoch)
    train_ds = make_dataset(train_data, batch, True, config).repeat()
    val_ds = make_dataset(val_data, batch, False, config)
    (run_dir / CHECKPOINTS).mkdir(exist_ok=True)
    callbacks = [
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        keras.callbacks.ModelCheckpoint(str(run_dir / CHECKPOINTS / BEST_WEIGHTS),
                                        monitor="val_loss", save_best_only=True,
                                        save_weights_only=True),
        EpochProgress(steps),
    ]
    phases = [("frozen", None, config.train.frozen_epochs, config.train.frozen_learning_rate),
              ("finetune", config.train.unfreeze_blocks, config.train.finetune_epochs,
               config.train.finetune_learning_rate)]
    timings, epoch = {}, 0
    for name, unfreeze, epochs, learning_rate in phases:
        if not epochs:
            continue
        set_trainable(train_model, unfreeze)
        compile_model(train_model, config, taxonomy, pos_weight, learning_rate)
        log.info("phase %s: %d epochs, learning rate %g, %d trainable weights", name, epochs,
                 learning_rate, sum(int(np.prod(w.shape)) for w in train_model.trainable_weights))
        t0 = time.perf_counter()
        train_model.fit(train_ds, validation_data=val_ds, epochs=epoch + epochs,
                        initial_epoch=epoch, steps_per_epoch=steps, callbacks=callbacks,
                        shuffle=False, verbose=0)  # tf.data shuffles, seeded
        seconds = time.perf_counter() - t0
        timings[name] = {"epochs": epochs, "seconds": round(seconds, 1),
                         "train_images_per_second": round(epochs * steps * batch / seconds, 1)}
        epoch += epochs
    train_model.save_weights(run_dir / CHECKPOINTS / LAST_WEIGHTS)
    return {
        "config": config.name,
        "loss": train_model.loss.name,
        "head": config.model.head,
        "train_images": len(train_data),
        "validation_images": len(val_data),
        "decode_and_cache_seconds": round(decode_s, 1),
        "phases": timings,
        "positive_weights": dict(zip(taxonomy.labels, pos_weight.round(3).tolist(), strict=True)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.train",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("config", type=Path, help="experiment TOML file")
    parser.add_argument("--run-dir", type=Path,
                        help="output folder (default: runs/<name from the config>)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    run_dir = args.run_dir or Path("runs") / config.name
    if (run_dir / CHECKPOINTS).exists():
        parser.error(f"{run_dir} already holds a trained run; choose another --run-dir")
    setup_logging(run_dir)
    shutil.copyfile(args.config, run_dir / CONFIG_FILE)
    start = time.perf_counter()
    summary = train(config, run_dir)
    summary["total_seconds"] = round(time.perf_counter() - start, 1)
    (run_dir / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "positive_weights"}, indent=2))
    print(f"next: python -m training.evaluate {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

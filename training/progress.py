"""A tqdm progress bar per epoch for Keras fit, also logging each epoch's metrics."""

from __future__ import annotations

import logging

from tensorflow import keras
from tqdm import tqdm

log = logging.getLogger("training.train")


class EpochProgress(keras.callbacks.Callback):
    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        self.bar: tqdm | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}", unit="batch")

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{(logs or {}).get('loss', 0):.4f}")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()
        log.info("epoch %d: %s", epoch + 1,
                 {k: round(float(v), 4) for k, v in (logs or {}).items()})

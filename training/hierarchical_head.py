"""The hierarchical head for retraining: C-HMCNN(h) trained with MCLoss (the training
package's own `losses.MCLoss` and `heads.descendant_matrix`), with h one linear layer
with a sigmoid per label.

Why a linear h: the installed model's runtime (`classifier.head.LinearHead`) applies
x @ W + b and a sigmoid per label, and the classifier then raises every parent to its
descendants' maximum (`classifier.hierarchy.max_constraint`), which is C-HMCNN's
max-constraint module. A linear h trained with MCLoss therefore runs unchanged in the
bot, with no new graph and no new int8 export; what differs from one logistic
regression per label is the training: a parent's positive is credited to the child
that explains it, and a parent's negative pushes down its descendants. Inputs are
standardised over the fitting rows and the standardisation folded back into W and b,
as `training.commons_head.fit_linear` does. TensorFlow is imported only when it is
chosen (`python -m training.retrain_head --head hierarchical`).
"""

from __future__ import annotations

import numpy as np

from classifier.taxonomy import Taxonomy
from training.commons_head import Rows

STEPS = 20_000  # optimiser steps in all, spread over the epochs (at least 5, at most 200)
BATCH = 256
POSITIVE_CAP = 10.0  # the largest weight of a label's positive term (sqrt of neg/pos)


def fit_hierarchical(rows: Rows, c: float, taxonomy: Taxonomy,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(weights (n_inputs, n_labels), bias) of a linear h trained with MCLoss on every
    label at once; `c` is the logistic regressions' inverse regularisation, turned into
    the same L2 penalty per row (1 / (2 c N))."""
    from tensorflow import keras

    from training.heads import descendant_matrix
    from training.losses import MCLoss, positive_weights

    keras.utils.set_random_seed(seed)
    mean, scale = rows.x.mean(axis=0), rows.x.std(axis=0) + 1e-6
    x = ((rows.x - mean) / scale).astype(np.float32)
    n, n_inputs = x.shape
    dense = keras.layers.Dense(len(taxonomy.labels), activation="sigmoid",
                               kernel_regularizer=keras.regularizers.L2(1.0 / (2 * c * n)))
    model = keras.Sequential([keras.Input((n_inputs,)), dense])
    loss = MCLoss(descendant_matrix(taxonomy),
                  positive_weights(rows.y, "sqrt_inverse", POSITIVE_CAP))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    steps_per_epoch = -(-n // BATCH)
    epochs = int(np.clip(STEPS // steps_per_epoch, 5, 200))
    model.fit(x, rows.y, sample_weight=rows.weight, batch_size=BATCH, epochs=epochs,
              shuffle=True, verbose=0)
    kernel, bias = (v.astype(np.float64) for v in dense.get_weights())
    weights = kernel / scale[:, None]
    return weights.astype(np.float32), (bias - mean / scale @ kernel).astype(np.float32)

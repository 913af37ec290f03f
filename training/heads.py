"""Backbones and heads: pixels -> features -> one score per taxonomy label.

The hierarchical head is C-HMCNN(h) (Giunchiglia & Lukasiewicz, NeurIPS 2020): a sigmoid
output h per label, and the max-constraint module, whose output for a label is the
maximum of h over the label and its descendants, so that no child ever outscores its
parent. Its matrix is built from the taxonomy at run time (the research hard-coded it
for an older label set, misaligned with the columns). The flat head is the sigmoid
output alone, for comparison.
"""

from __future__ import annotations

import numpy as np
from tensorflow import keras

from classifier.taxonomy import Taxonomy
from training.config import Config
from training.imagenet_topics import class_groups


def descendant_matrix(taxonomy: Taxonomy) -> np.ndarray:
    """R (n, n) float32 with R[i, j] = 1 when label j is label i or one of its descendants."""
    labels = taxonomy.labels
    out = np.eye(len(labels), dtype=np.float32)
    for j, label in enumerate(labels):
        for ancestor in taxonomy.ancestors(label):
            out[labels.index(ancestor), j] = 1.0
    return out


def max_constraint(h, matrix: np.ndarray):
    """The max-constraint module: out[..., i] = max_j R[i, j] * h[..., j] (h >= 0)."""
    return keras.ops.max(keras.ops.expand_dims(h, -2) * matrix, axis=-1)


class MaxConstraint(keras.layers.Layer):
    """The max-constraint module as a layer, with its matrix fixed at construction."""

    def __init__(self, matrix: np.ndarray, **kwargs):
        super().__init__(**kwargs)
        self.matrix = np.asarray(matrix, dtype=np.float32)

    def call(self, h):
        return max_constraint(h, self.matrix)

    def get_config(self) -> dict:
        return {**super().get_config(), "matrix": self.matrix.tolist()}


def mapped_topic_scores(logits, matrix: np.ndarray):
    """ImageNet logits (N, 1000) -> topic scores (N, n_labels) = softmax(logits) @ matrix,
    computed so that full-integer int8 keeps them.

    Done literally, int8 stores each of the 1000 class probabilities in steps of 1/256:
    the many small ones round to zero and a topic made of hundreds of classes loses up to
    a tenth of its mass (top-level labels of int8 and float then differed on 7 % of photos
    from that alone). Here each group of classes with the same topics is first reduced
    to its log-sum-exp, max + log(sum(exp(logit - max))), where each exp is relative to
    the group's own largest logit; the softmax then runs over the ~30 groups, and the
    fixed 0/1 group -> label matrix adds them up. In float this is the same function.
    """
    members, group_labels = class_groups(matrix)
    group_logits = []
    for classes in members:
        part = keras.ops.take(logits, classes, axis=1)
        top = keras.ops.max(part, axis=1, keepdims=True)
        mass = keras.ops.sum(keras.ops.exp(part - top), axis=1, keepdims=True)
        group_logits.append(top + keras.ops.log(mass))
    stacked = keras.layers.Concatenate(name="group_logits")(group_logits)
    groups = keras.layers.Softmax(name="group_probs")(stacked)
    topics = keras.layers.Dense(matrix.shape[1], use_bias=False, trainable=False, name="topics")
    scores = topics(groups)
    topics.set_weights([group_labels])
    return scores


def build_backbone(config: Config) -> keras.Model:
    """Pixels in [0, 255] -> pooled features. "tiny" is a two-layer net for fast tests."""
    size = config.data.input_size
    if config.model.backbone == "lite0":
        from training.efficientnet_lite import build_lite0_backbone, load_imagenet_weights

        backbone = build_lite0_backbone(size)
        if config.model.imagenet_weights:
            load_imagenet_weights(backbone)
        return backbone
    from training.efficientnet_lite import centred

    pixels = keras.Input((size, size, 3), name="pixels")
    x = centred(pixels)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="tiny_conv1")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="tiny_conv2")(x)
    features = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(pixels, features, name="tiny")


def build_models(config: Config, taxonomy: Taxonomy) -> tuple[keras.Model, keras.Model]:
    """(training model, inference model), sharing every weight.

    The training model outputs h, the per-label sigmoid, which the loss needs (MCLoss
    applies the max-constraint itself, differently for positives and negatives). The
    inference model outputs what is scored and exported: the max-constraint of h for
    the hierarchical head, h itself for the flat head.
    """
    backbone = build_backbone(config)
    features = backbone.output
    if config.model.dropout:
        features = keras.layers.Dropout(config.model.dropout, name="dropout")(features)
    logits = keras.layers.Dense(len(taxonomy.labels), name="logits")(features)
    h = keras.layers.Activation("sigmoid", name="h")(logits)
    train_model = keras.Model(backbone.input, h, name=f"{config.model.head}_train")
    scores = h
    if config.model.head == "chmcnn":
        scores = MaxConstraint(descendant_matrix(taxonomy), name="max_constraint")(h)
    inference = keras.Model(backbone.input, scores, name=f"{config.model.head}_inference")
    return train_model, inference


def backbone_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of the training model that belong to the backbone (not the head)."""
    head = {"dropout", "logits", "h", "max_constraint"}
    return [layer for layer in model.layers if layer.name not in head]


def _block(name: str) -> int | None:
    """The Lite0 block number in a layer name ("block12_dw" -> 12)."""
    head = name.split("_")[0]
    return int(head[5:]) if head.startswith("block") and head[5:].isdigit() else None


def set_trainable(model: keras.Model, unfreeze_blocks: int | None) -> None:
    """Freeze the backbone (None) or unfreeze its last `unfreeze_blocks` Lite0 blocks.

    BatchNormalization layers stay frozen (inference mode) in both phases: with small
    fine-tuning batches their statistics would drift away from ImageNet's and wreck the
    pretrained features. A backbone without blocks (the tiny test one) is unfrozen whole.
    """
    layers = backbone_layers(model)
    blocks = sorted({b for b in map(_block, (x.name for x in layers)) if b is not None})
    first = blocks[-min(unfreeze_blocks, len(blocks))] if unfreeze_blocks and blocks else 10**9
    for layer in layers:
        block = _block(layer.name)
        layer.trainable = (
            unfreeze_blocks is not None
            and not isinstance(layer, keras.layers.BatchNormalization)
            and (
                not blocks
                or layer.name.startswith("head")
                or (block is not None and block >= first)
            )
        )

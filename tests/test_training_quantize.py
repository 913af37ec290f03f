"""Weight-rounding bias correction (training.quantize) on a small convolution.

The correction must make a layer with int8-rounded weights produce, on average over the
calibration data, what the float layer produces; and it must leave the model as it was.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")


def _model(depthwise: bool, seed: int):
    from tensorflow import keras

    keras.utils.set_random_seed(seed)
    pixels = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 64)(pixels)
    conv = (
        keras.layers.DepthwiseConv2D(3, padding="valid", use_bias=False, name="dw")
        if depthwise
        else keras.layers.Conv2D(5, 3, padding="valid", use_bias=False, name="conv")
    )
    y = keras.layers.BatchNormalization(name=f"{conv.name}_bn")(conv(x))
    model = keras.Model(pixels, y)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights(
                [rng.uniform(0.5, 2, n), rng.normal(0, 1, n), rng.normal(0, 1, n),
                 rng.uniform(0.5, 2, n)]
            )
    return model, conv.name


def _with_rounded_weights(model, name: str):
    """A copy of `model` whose `name` layer has TFLite's int8 rounding of its folded weights."""
    from tensorflow import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    layer, bn = copy.get_layer(name), copy.get_layer(f"{name}_bn")
    gamma, _, _, var = bn.get_weights()
    factor = gamma / np.sqrt(var + bn.epsilon)
    w = layer.get_weights()[0]
    folded = w * (factor[:, None] if w.shape[-1] == 1 else factor)
    axes = (0, 1) if w.shape[-1] == 1 else (0, 1, 2)
    step = np.abs(folded).max(axis=axes, keepdims=True) / 127
    rounded = np.round(folded / step) * step
    layer.set_weights([rounded / (factor[:, None] if w.shape[-1] == 1 else factor)])
    return copy


@pytest.mark.parametrize("depthwise", [False, True])
def test_correction_cancels_the_mean_error_of_rounded_weights(depthwise: bool):
    from training.quantize import weight_rounding_bias_corrected

    model, name = _model(depthwise, seed=3)
    rng = np.random.default_rng(0)
    # A strong common brightness so that E[x] is far from zero, as in real images; "valid"
    # padding, because the correction assumes the same E[x] under every tap of a kernel.
    calibration = rng.integers(120, 256, (40, 32, 32, 3)).astype(np.uint8)
    data = calibration.astype(np.float32)
    float_mean = np.asarray(model(data)).mean(axis=(0, 1, 2))
    before = [w.copy() for w in model.get_weights()]

    uncorrected = np.asarray(_with_rounded_weights(model, name)(data)).mean(axis=(0, 1, 2))
    with weight_rounding_bias_corrected(model, calibration):
        corrected = np.asarray(_with_rounded_weights(model, name)(data)).mean(axis=(0, 1, 2))
    error_before = np.abs(uncorrected - float_mean).max()
    error_after = np.abs(corrected - float_mean).max()
    print(f"\nmax |mean error| per channel: {error_before:.2e} -> {error_after:.2e}")
    assert error_before > 1e-3, "rounding should move the mean output of this layer"
    assert error_after < error_before / 20

    for saved, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, now)

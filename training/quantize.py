"""Keras -> TFLite conversion (float or full-integer int8) and the int8/float agreement gate.

Shared by the default model's build and by `training.export`. Post-training int8
quantization moves scores; a model whose int8 predictions no longer match its float
ones is a different model from the one that was evaluated, so exports measure the
agreement on held-out images, print it, and refuse to write a model beyond tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from classifier.hierarchy import predicted_labels
from classifier.taxonomy import Taxonomy
from training.config import ExportConfig as ExportGate


def convert(model, representative: list[np.ndarray] | None) -> bytes:
    """Keras model -> TFLite bytes; full-integer int8 when representative data is given.

    int8 conversion first cancels the mean error of int8 weight rounding
    (`weight_rounding_bias_corrected`); `model` itself is left as it was."""
    import tensorflow as tf

    if representative is not None:
        with weight_rounding_bias_corrected(model, np.stack(representative)):
            return _convert_int8(model, representative)
    # Float model with the same uint8 input, so both run on identical arrays.
    from tensorflow import keras

    pixels = keras.Input(model.input_shape[1:], dtype="uint8", name="pixels")
    wrapped = keras.Model(pixels, model(keras.ops.cast(pixels, "float32")))
    return tf.lite.TFLiteConverter.from_keras_model(wrapped).convert()


def calibrated_converter(model, representative: list[np.ndarray] | np.ndarray):
    """A TFLite converter of `model` that quantizes with ranges measured on `representative`
    (uint8 pixel arrays); the caller picks the integer op set."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: (
        [x[None].astype(np.float32)] for x in representative
    )
    return converter


def _convert_int8(model, representative: list[np.ndarray]) -> bytes:
    import tensorflow as tf

    converter = calibrated_converter(model, representative)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    return converter.convert()


def _convs_with_batchnorm(model) -> list:
    """The Conv2D / DepthwiseConv2D layers followed by a BatchNormalization "<conv>_bn"."""
    from tensorflow import keras

    names = {layer.name for layer in model.layers}
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D | keras.layers.DepthwiseConv2D)
        and f"{layer.name}_bn" in names
    ]


def int8_quantization(model, calibration_data: str) -> dict:
    """model.json's "quantization" of `convert(model, ...)` to int8, calibrated on
    `calibration_data` (a description); says whether bias correction applied to it."""
    corrected = bool(_convs_with_batchnorm(model))
    return {
        "type": "full_integer_int8",
        "input": "uint8 pixels",
        "output": "uint8 scores (dequantized by the classifier)",
        "representative_dataset": calibration_data,
        "weight_rounding_bias_correction": (
            "BatchNorm offsets shifted by E[x] . (W_int8 - W) before conversion "
            "(training.quantize.weight_rounding_bias_corrected)"
            if corrected
            else "none: no convolution is followed by a BatchNormalization named <conv>_bn"
        ),
    }


@contextmanager
def weight_rounding_bias_corrected(model, calibration: np.ndarray, batch: int = 20):
    """Within the block, each convolution's BatchNorm offset also cancels the mean error
    that rounding its weights to int8 will add to its output; restored afterwards.

    Rounding a channel's BatchNorm-folded weights W to int8 adds (W_int8 - W) . x to the
    channel's output. Over real inputs its mean is E[x] . (W_int8 - W), a constant per
    channel that the converter does not see; it shifted whole topic scores (model 2.0.0's
    int8 STEM was lower than float on 65 of 70 chessboard evaluation images). Subtracting
    it from the offset removes it (bias correction, Nagel et al., "Data-Free
    Quantization", ICCV 2019). The rounding is
    TFLite's (symmetric, per output channel, 127 levels); E[x] is the float model's mean
    input per channel on `calibration` (uint8 pixels, the int8 representative set).
    Applies to every Conv2D / DepthwiseConv2D followed by a BatchNormalization named
    "<conv>_bn", as `training.efficientnet_lite` names them; others are left alone.
    """
    from tensorflow import keras

    convs = _convs_with_batchnorm(model)
    if not convs:
        yield
        return
    probe = keras.Model(model.input, [layer.input for layer in convs])
    sums = [np.zeros(layer.input.shape[-1]) for layer in convs]
    positions = np.zeros(len(convs))
    for start in range(0, len(calibration), batch):
        outputs = probe(calibration[start : start + batch].astype(np.float32), training=False)
        if len(convs) == 1:  # a one-output Keras model returns the tensor, not a list
            outputs = [outputs]
        for k, out in enumerate(outputs):
            out = np.asarray(out)
            sums[k] += out.sum(axis=(0, 1, 2))
            positions[k] += out.shape[0] * out.shape[1] * out.shape[2]
    saved = {}
    try:
        for layer, total, count in zip(convs, sums, positions, strict=True):
            bn = model.get_layer(f"{layer.name}_bn")
            saved[bn.name] = bn.get_weights()
            gamma, beta, moving_mean, moving_var = saved[bn.name]
            weights = layer.get_weights()[0]
            depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
            if depthwise:
                weights = weights[..., 0]  # (kh, kw, channels, 1) -> (kh, kw, channels)
            folded = weights * (gamma / np.sqrt(moving_var + bn.epsilon))
            step = np.maximum(np.abs(folded).max(axis=tuple(range(folded.ndim - 1))) / 127, 1e-12)
            error = np.round(folded / step) * step - folded
            mean_input = total / count
            if depthwise:
                shift = error.sum(axis=(0, 1)) * mean_input
            else:
                shift = np.einsum("hwio,i->o", error, mean_input)
            bn.set_weights([gamma, (beta - shift).astype(beta.dtype), moving_mean, moving_var])
        yield
    finally:
        for name, weights in saved.items():
            model.get_layer(name).set_weights(weights)


def run_tflite(model_bytes: bytes, pixels: np.ndarray, batch: int = 32,
               width: int | None = None) -> np.ndarray:
    """Scores of a TFLite model with uint8 input on (N, S, S, 3) uint8, dequantized: its
    first output, or the one `width` columns wide (a model with several outputs)."""
    interpreter = Interpreter(model_content=model_bytes, num_threads=2)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    if width is not None:
        (out,) = [o for o in interpreter.get_output_details() if o["shape"][-1] == width]
    scale, zero_point = out["quantization"]
    results = []
    for start in range(0, len(pixels), batch):
        chunk = np.ascontiguousarray(pixels[start : start + batch], dtype=np.uint8)
        interpreter.resize_tensor_input(inp["index"], chunk.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], chunk)
        interpreter.invoke()
        raw = interpreter.get_tensor(out["index"]).astype(np.float32)
        results.append((raw - zero_point) * scale if scale else raw)
    return np.concatenate(results) if results else np.zeros((0, out["shape"][-1]), np.float32)


def compare(int8: np.ndarray, float_: np.ndarray, taxonomy: Taxonomy,
            thresholds: Mapping[str, float | None]) -> dict:
    """Agreement of int8 with float on the same images, at the given thresholds."""
    roots = set(taxonomy.roots)

    def labels(row):
        return set(predicted_labels(row, taxonomy, thresholds))

    top_agree = [
        (labels(a) & roots) == (labels(b) & roots) for a, b in zip(int8, float_, strict=True)
    ]
    all_agree = [labels(a) == labels(b) for a, b in zip(int8, float_, strict=True)]
    diff = np.abs(int8 - float_)
    return {
        "images": int(len(int8)),
        "top_level_agreement": round(float(np.mean(top_agree)), 4),
        "all_labels_agreement": round(float(np.mean(all_agree)), 4),
        "mean_abs_score_difference": round(float(diff.mean()), 5),
        "max_abs_score_difference": round(float(diff.max()), 5),
    }


def gate_failures(agreement: dict, gate: ExportGate) -> list[str]:
    """Why an int8 model must not be written; empty when it may."""
    failures = []
    top = agreement["top_level_agreement"]
    if top < gate.min_top_level_agreement:
        failures.append(f"int8 and float top-level labels agree on {top:.3f} of images, "
                        f"below {gate.min_top_level_agreement}")
    share = agreement["all_labels_agreement"]
    if share < gate.min_label_agreement:
        failures.append(f"int8 and float label sets agree on {share:.3f} of images, "
                        f"below {gate.min_label_agreement}")
    gap = agreement["mean_abs_score_difference"]
    if gap > gate.max_mean_abs_difference:
        failures.append(f"mean |int8 - float| score {gap:.4f} exceeds "
                        f"{gate.max_mean_abs_difference}")
    return failures

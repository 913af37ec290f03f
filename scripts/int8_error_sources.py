"""Where the default model's int8 error comes from: the diagnostics behind README's
"int8 against float". A benchmark of the quantization, not a test.

    .venv/bin/python scripts/int8_error_sources.py

Needs TensorFlow (`scripts/setup.sh --full`); about five minutes on 2 cores. It rebuilds
the default model's float graph (`training.build_default_model_v2.float_reference`) and,
on the 250 images its build compared int8 with float, sets beside that float graph:

- the committed int8 model, and its int8 pooled features passed through the float head
  (what the backbone alone loses, head excluded);
- the graph converted with int8 weights but 16-bit activations (TFLite's 16x8 mode, not
  full-integer), its pooled features through the float head (what the weights alone lose);
- int8 conversions without bias correction (which assumes every convolution in int8) that
  keep one group of tensors in float with TFLite's selective quantization: none, the
  residual stream (projections and additions), or the ReLU6 outputs.

Each row prints the top-level agreement at each operating point and the mean absolute
score difference; rows with pooled features also print those features' RMS error.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from classifier.model import TopicModel
from training import sample_images
from training.quantize import calibrated_converter, compare, weight_rounding_bias_corrected

FLOAT_GROUPS = {
    "none": (),
    "residual stream (projections and additions)": ("project_bn", "_add_1/Add"),
    "ReLU6 outputs (stem, expansions, depthwise, head)": ("_relu",),
}


def run(model_bytes: bytes, pixels: np.ndarray, tensor: str | None = None):
    """Dequantized scores of a TFLite model, one image at a time, and the named tensor's
    dequantized values when `tensor` is given (a substring of its name)."""
    interpreter = Interpreter(model_content=model_bytes,
                              experimental_preserve_all_tensors=tensor is not None)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    probe = next((d for d in interpreter.get_tensor_details()
                  if tensor and tensor in d["name"] and len(d["shape"]) == 2), None)
    if tensor and probe is None:
        raise SystemExit(f"no tensor named like {tensor!r} in the converted model")

    def value(detail) -> np.ndarray:
        raw = interpreter.get_tensor(detail["index"]).astype(np.float32)
        scale, zero_point = detail["quantization"]
        return (raw - zero_point) * scale if scale else raw

    scores, probed = [], []
    for image in pixels:
        interpreter.set_tensor(inp["index"], image[None].astype(inp["dtype"]))
        interpreter.invoke()
        scores.append(value(out))
        if probe is not None:
            probed.append(value(probe))
    return np.concatenate(scores), (np.concatenate(probed) if probe is not None else None)


def int16_activations(model, calibration: np.ndarray) -> bytes:
    """int8 weights (bias-corrected, as shipped) with 16-bit activations."""
    import tensorflow as tf

    with weight_rounding_bias_corrected(model, calibration):
        convert = calibrated_converter(model, calibration)
        convert.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        return convert.convert()


def int8_keeping_float(model, calibration: np.ndarray, patterns: tuple[str, ...]) -> bytes:
    """int8 without bias correction, except the ops whose output names hold a pattern."""
    import tensorflow as tf

    names = [d["name"] for d in Interpreter(
        model_content=tf.lite.TFLiteConverter.from_keras_model(model).convert()
    ).get_tensor_details()]
    denied = sorted({n for n in names if any(p in n for p in patterns)})
    if patterns and not denied:
        raise SystemExit(f"no tensor named like {patterns}: the graph's names have changed")
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=calibrated_converter(model, calibration),
        debug_dataset=lambda: ([x[None].astype(np.float32)] for x in calibration[:2]),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=denied),
    )
    return debugger.get_nondebug_quantized_model()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)

    from tensorflow import keras

    from training.build_default_model_v2 import NAME, float_reference

    int8 = TopicModel.load()
    if int8.name != NAME:
        parser.error(f"the default model is {int8.name}, not {NAME}: no float graph to rebuild")
    try:
        calibration_photos, evaluation_photos = sample_images.recorded_split(int8.card)
    except ValueError as error:
        parser.error(str(error))
    size = int8.card.input_size
    calibration = sample_images.pixels(sample_images.calibration_images(calibration_photos), size)
    pixels = sample_images.pixels(sample_images.evaluation_images(evaluation_photos), size)
    model = float_reference(int8.taxonomy)
    features = keras.Model(model.input, model.get_layer("pool").output)
    head = keras.Model(model.get_layer("pool").output, model.output)
    reference = model.predict(pixels.astype(np.float32), verbose=0)
    pooled = features.predict(pixels.astype(np.float32), verbose=0)

    table = {}

    def row(name: str, scores: np.ndarray, pool: np.ndarray | None = None) -> None:
        table[name] = {
            point: compare(scores, reference, int8.taxonomy, op.thresholds)["top_level_agreement"]
            for point, op in int8.card.operating_points.items()
        }
        gap = np.abs(scores - reference).mean()
        table[name]["mean_abs_score_difference"] = round(float(gap), 5)
        if pool is not None:
            table[name]["pooled_features_rms_error"] = round(
                float(np.sqrt(((pool - pooled) ** 2).mean())), 4)
        print(name, table[name], flush=True)

    print(f"{len(pixels)} images; RMS of the float pooled features "
          f"{float(np.sqrt((pooled ** 2).mean())):.4f}")
    scores, pool = run((int8.model_dir / "model.tflite").read_bytes(), pixels, "pool")
    row(f"committed int8 ({int8.name} {int8.version})", scores)
    row("its int8 pooled features -> float head", head.predict(pool, verbose=0), pool)
    _, pool = run(int16_activations(model, calibration), pixels, "pool")
    row("int8 weights, 16-bit activations: pooled features -> float head",
        head.predict(pool, verbose=0), pool)
    for group, patterns in FLOAT_GROUPS.items():
        scores, _ = run(int8_keeping_float(model, calibration, patterns), pixels)
        row(f"int8 without bias correction, in float: {group}", scores)
    print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

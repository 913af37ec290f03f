"""Classify a batch of keyed images into plain rows: the one function every runner shares.

The bot (one upload at a time), a plain loop over a folder and the Spark backfill
(`mapInPandas`, a batch per Arrow chunk) must give the same answer for the same bytes,
so none of them turns a `Prediction` into a stored row by itself: they all call
`classify_batch`. A row is a plain dict of Python values (no numpy types, no
dataclasses), so it goes unchanged into a pandas frame, a Parquet file or the bot's
store, and an undecodable image is a row with its outcome, never an exception.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from classifier.head_inputs import encode
from classifier.images import ImageError, decode_image
from classifier.model import TopicModel

CLASSIFIED = "classified"
"""The outcome of an image that was predicted (the bot's word for it too)."""


def outcome_of(error: ImageError) -> str:
    """The recorded outcome of an image that could not be used: `image_<kind>`, as the bot
    records it, so that backfilled and live outcomes count together."""
    return f"image_{error.kind}"


def classify_batch(
    model: TopicModel,
    items: Sequence[tuple[Hashable, bytes]],
    operating_point: str | None = None,
    with_inputs: bool = False,
) -> list[dict]:
    """(key, encoded image) pairs -> one row per pair, in input order.

    Every row has `key`, `outcome` (`classified` or `image_<kind>`), `error` (None or the
    decoder's message), `model_name`, `model_version`, `operating_point`, and, when
    classified, `predictions` (labels over the operating point's thresholds, in taxonomy
    order) and `probabilities` (every label's score, rounded as `Prediction.to_dict`
    rounds); both are None for an image that could not be used. With `with_inputs`,
    also `head_inputs` and `head_layout`: what the learned head read, as the bot's
    training log stores it (`classifier.head_inputs.encode`; None without a head or an
    image), from the same inference.
    """
    point = operating_point or model.default_operating_point
    if with_inputs:
        decoded = [_decoded(data, model) for _, data in items]
        results = model.predict_images(decoded, operating_point=point, return_inputs=True)
    else:
        results = model.predict_bytes([data for _, data in items], operating_point=point)
    rows = []
    for (key, _), result in zip(items, results, strict=True):
        row = {
            "key": key,
            "model_name": model.name,
            "model_version": model.version,
            "operating_point": point,
        }
        if isinstance(result, ImageError):
            row.update(outcome=outcome_of(result), error=str(result),
                       predictions=None, probabilities=None)
        else:
            shown = result.to_dict()
            row.update(outcome=CLASSIFIED, error=None, predictions=shown["predictions"],
                       probabilities=shown["probabilities"])
        if with_inputs:
            inputs = None if isinstance(result, ImageError) else result.head_inputs
            row["head_inputs"], row["head_layout"] = (None, None) if inputs is None \
                else encode(inputs)
        rows.append(row)
    return rows


def _decoded(data: bytes, model: TopicModel):
    """An image decoded as `TopicModel.predict_bytes` decodes it, or its ImageError."""
    try:
        return decode_image(data, min_size=max(model.input_sizes))
    except ImageError as err:
        return err

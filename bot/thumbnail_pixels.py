"""A thumbnail's bytes to its prediction and pixel features, decoded once.

The classifier and the flag features (bot.image_features) look at the same pixels, so the
bytes are decoded once, within the bot's caps ([thumbnails] max_decoded_bytes, and the
format, pixel and scan limits of classifier.images), reduced towards the size the model
needs (ordinary 330 px thumbnails are too small to be reduced, so their pixels are
exactly training's), and that one image goes to both. A decoding failure is raised as
the classifier's `ImageError`, whose kind becomes the file's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.image_features import ImageFeatures, image_features
from classifier.images import ImageError, decode_image
from classifier.model import Prediction, TopicModel


@dataclass(frozen=True)
class ThumbnailResult:
    prediction: Prediction
    features: ImageFeatures | None  # None when not asked for


def classify_thumbnail(
    data: bytes,
    model: TopicModel,
    operating_point: str,
    max_decoded_bytes: int,
    with_features: bool = True,
    with_inputs: bool = False,
    deadline: float | None = None,
) -> ThumbnailResult:
    """Decode `data` once; classify it and, with `with_features`, compute its features;
    with `with_inputs`, the prediction carries the head's inputs (for the training log).
    Decoding stops with `ImageTimeoutError` once `deadline` (time.monotonic()) passes."""
    image = decode_image(
        data,
        min_size=max(model.input_sizes),
        max_decoded_bytes=max_decoded_bytes,
        reduce=True,
        deadline=deadline,
    )
    prediction = model.predict_images(
        [image], operating_point=operating_point, return_inputs=with_inputs
    )[0]
    if isinstance(prediction, ImageError):  # not for a decoded image; kept for the type
        raise prediction
    return ThumbnailResult(prediction, image_features(image) if with_features else None)

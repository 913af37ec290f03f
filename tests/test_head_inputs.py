"""The head's inputs that one inference exposes, and their 8-bit form in the training log."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.head_inputs import HeadInputs, decode, encode
from classifier.images import decode_image
from classifier.model import TopicModel
from training.sample_images import package_photos


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.load()


@pytest.fixture(scope="module")
def images(model: TopicModel):
    photos = package_photos(include_opencv=False)
    names = ["skimage/astronaut", "skimage/chelsea", "skimage/coffee", "skimage/rocket"]
    return [decode_image(photos[n], min_size=max(model.input_sizes)) for n in names]


def test_inputs_come_with_the_same_prediction(model: TopicModel, images):
    plain = model.predict_images(images)
    with_inputs = model.predict_images(images, return_inputs=True)
    assert [p.probabilities for p in plain] == [p.probabilities for p in with_inputs]
    assert all(p.head_inputs is None for p in plain)
    for p in with_inputs:
        x = p.head_inputs
        assert x.graph_scores.shape == (len(model.labels),)
        assert x.features.shape == (1280,)
        assert x.face.shape == (4,)


def test_the_logged_inputs_give_back_the_heads_scores(model: TopicModel, images):
    """Encoded, decoded and put through the installed head, the row scores what the bot
    scored: the log holds what a retraining needs, within 8-bit steps."""
    for p in model.predict_images(images, return_inputs=True):
        data, layout = encode(p.head_inputs)
        assert 1300 <= len(data) <= 1320
        back = decode(data, layout)
        raw = model.head.scores(p.head_inputs.graph_scores[None], p.head_inputs.features[None],
                                p.head_inputs.face[None])
        again = model.head.scores(back.graph_scores[None], back.features[None], back.face[None])
        assert np.abs(raw - again).max() < 0.05
        for name in ("graph_scores", "features", "face"):
            original, decoded = getattr(p.head_inputs, name), getattr(back, name)
            step = (max(original.max(), 0) - min(original.min(), 0)) / 255
            assert np.abs(original - decoded).max() <= step / 2 + 1e-6


def test_constant_and_empty_blocks_round_trip():
    x = HeadInputs(np.zeros(3, np.float32), np.full(5, 2.5, np.float32), np.zeros(0, np.float32))
    back = decode(*encode(x))
    assert np.allclose(back.features, 2.5, atol=0.01)
    assert back.face.shape == (0,) and np.all(back.graph_scores == 0)


def test_a_row_that_does_not_fit_its_layout_is_an_error():
    data, layout = encode(HeadInputs(np.ones(3), np.ones(4), np.ones(2)))
    with pytest.raises(ValueError, match="does not fit"):
        decode(data[:-1], layout)

"""The light classifier runtime: taxonomy, image decoding, model loading and inference.

Used by the bot (serving) and by training (so that both share one taxonomy and one
preprocessing function). It never imports TensorFlow: models run on LiteRT.
"""

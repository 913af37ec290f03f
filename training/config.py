"""One TOML file per experiment, read into frozen dataclasses.

Every key is checked: an unknown key or an unknown choice is an error, not a silent
default. The research configured a focal loss that was never passed to the model; here
the configuration is the only place a loss, head or weighting is chosen, and
`training.model.compile_model` uses exactly what it names. Paths are relative to the
folder the command runs in (the repository root). See `configs/fashion-mnist-quick.toml`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifier.taxonomy import Taxonomy, load_taxonomy, load_taxonomy_file

BACKBONES = ("lite0", "tiny")
HEADS = ("chmcnn", "flat")
LOSSES = ("mcloss", "bce")
POS_WEIGHTS = ("none", "sqrt_inverse", "inverse")


class ConfigError(ValueError):
    """The experiment file names something unknown or inconsistent."""


@dataclass(frozen=True)
class DataConfig:
    table: str
    taxonomy: str = "1.4"  # a shipped version ("1.4") or a path to a taxonomy TOML
    category_graph: str = ""  # heuristic-bench style folder, for rows with categories only
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    input_size: int = 224
    cache: str = "var/cache"
    # Labels whose images must never be mirrored: text, maps, flags, logos and
    # diagrams mean something else (or nothing) when flipped.
    no_flip_labels: tuple[str, ...] = (
        "Maps & Flags", "Logos & Symbols", "Diagrams", "Mathematics", "Literature",
    )


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "lite0"
    imagenet_weights: bool = True
    head: str = "chmcnn"
    loss: str = "mcloss"
    pos_weight: str = "sqrt_inverse"
    max_pos_weight: float = 10.0
    dropout: float = 0.2


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 64
    frozen_epochs: int = 3
    frozen_learning_rate: float = 1e-3
    finetune_epochs: int = 2
    finetune_learning_rate: float = 1e-4
    unfreeze_blocks: int = 3  # the last N MBConv blocks (and the head conv) of Lite0
    max_steps_per_epoch: int = 0  # 0: the whole split


@dataclass(frozen=True)
class AugmentConfig:
    crop_scale: float = 0.85  # random crops keep at least this share of each side
    brightness: float = 0.1
    contrast: float = 0.1
    flip: bool = True  # left-right, except for images with a `no_flip_labels` label


@dataclass(frozen=True)
class ExportConfig:
    representative_images: int = 200  # drawn from the train split, seeded
    # int8 must reproduce the float model's top-level labels and whole label sets (at the
    # default operating point) on at least these shares of validation images, with at most
    # this mean |score| gap. Full label sets move more: fine labels sit near thresholds.
    min_top_level_agreement: float = 0.98
    min_label_agreement: float = 0.9
    max_mean_abs_difference: float = 0.03


@dataclass(frozen=True)
class Config:
    name: str
    data: DataConfig
    seed: int = 0
    version: str = "0.1.0"
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def taxonomy(self) -> Taxonomy:
        if self.data.taxonomy.endswith(".toml"):
            return load_taxonomy_file(self.data.taxonomy)
        return load_taxonomy(self.data.taxonomy)

    def is_project_taxonomy(self) -> bool:
        return not self.data.taxonomy.endswith(".toml")


def _section(cls: type, data: dict[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"[{where}]: unknown keys {unknown}; known: {sorted(names)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(f"[{where}]: {err}") from None


def parse_config(data: dict[str, Any]) -> Config:
    sections = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig,
                "augment": AugmentConfig, "export": ExportConfig}
    top = {k: v for k, v in data.items() if k not in sections}
    parts = {k: _section(cls, data.get(k, {}), k) for k, cls in sections.items()
             if k in data or k != "data"}
    if "data" not in parts:
        raise ConfigError("the configuration needs a [data] section with a table")
    config = _section(Config, {**top, **parts}, "top level")
    check_config(config)
    return config


def check_config(config: Config) -> None:
    choices = (("backbone", config.model.backbone, BACKBONES),
               ("head", config.model.head, HEADS),
               ("loss", config.model.loss, LOSSES),
               ("pos_weight", config.model.pos_weight, POS_WEIGHTS))
    for key, value, allowed in choices:
        if value not in allowed:
            raise ConfigError(f"[model] {key} = {value!r}: choose one of {allowed}")
    if abs(sum(config.data.fractions) - 1) > 1e-6 or len(config.data.fractions) != 3:
        raise ConfigError(f"[data] fractions {config.data.fractions} must be 3 summing to 1")
    if config.data.input_size < 32:
        raise ConfigError("[data] input_size must be at least 32 pixels")


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from None
    return parse_config(data)

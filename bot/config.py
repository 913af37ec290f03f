"""The bot's configuration: `config.toml`, validated before anything touches the wiki.

Each section is a dataclass whose fields are the only keys allowed, with their types
and defaults; a typo or a wrong type stops the bot at start with a message that names
the file, the key and what was expected, instead of silently falling back to a default
(a misspelt `dry_run` must never turn into a live run). Credentials are deliberately
not configurable here: they come from the environment or pywikibot's own files.
"""

from __future__ import annotations

import dataclasses
import math
import os
import string
import tomllib
import types
import typing
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

DEFAULT_CONFIG = "config.toml"
TOOLSDB_USER = "TOOL_TOOLSDB_USER"
TOOLSDB_PASSWORD = "TOOL_TOOLSDB_PASSWORD"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or has a bad key or value."""


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def _api_url(value: Any) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")) or not value.endswith("api.php"):
        return "must be an http(s) URL ending in api.php"
    return None


def _page_title(value: Any) -> str | None:
    return None if value.strip() else "must not be empty"


def _rights(value: Any) -> str | None:
    return None if value and all(r.strip() for r in value) else "must name at least one right"


TRUSTED_RIGHTS = ("patrol", "autopatrol")
"""Rights whose holders' word counts on the bot's control pages (Commons gives them to
patrollers and trusted uploaders)."""


def _check(fn: Callable[[Any], str | None]) -> dict[str, Callable[[Any], str | None]]:
    return {"check": fn}


@dataclass(frozen=True)
class WikiConfig:
    """Which wiki: a pywikibot family/code pair, or any MediaWiki's api.php URL."""

    family: str = "commons"
    code: str = "commons"
    api_url: str | None = field(default=None, metadata=_check(_api_url))
    user_agent: str = (
        "CommonsTopicBot/0.1 (https://github.com/commons-topic-bot; contact via User talk)"
    )


@dataclass(frozen=True)
class SourceConfig:
    """Where a pass starts and how much it takes."""

    per_pass_limit: int = field(default=200, metadata=_check(_positive))
    lookback_hours: float = field(default=1.0, metadata=_check(_non_negative))
    poll_interval_seconds: int = field(default=300, metadata=_check(_positive))
    metadata_batch: int = field(default=50, metadata=_check(_positive))
    max_attempts: int = field(default=3, metadata=_check(_positive))


@dataclass(frozen=True)
class ThumbnailConfig:
    """Thumbnail fetching and decoding: a standard Commons step width, caps on the bytes
    downloaded and on the memory their decoded pixels take, and bounded patience: each
    socket operation, each Retry-After, and the whole file (download, decoding and
    classification) have a limit."""

    width: int = field(default=330, metadata=_check(_positive))
    max_bytes: int = field(default=3_000_000, metadata=_check(_positive))
    max_decoded_bytes: int = field(default=64_000_000, metadata=_check(_positive))
    timeout_seconds: float = field(default=20.0, metadata=_check(_positive))
    file_budget_seconds: float = field(default=60.0, metadata=_check(_positive))
    max_retry_after_seconds: float = field(default=30.0, metadata=_check(_non_negative))
    retries: int = field(default=3, metadata=_check(_non_negative))
    backoff_seconds: float = field(default=1.0, metadata=_check(_non_negative))


@dataclass(frozen=True)
class StoreConfig:
    """The database: an SQLite file by default; ToolsDB (MariaDB) when `host` is set,
    with the account from TOOL_TOOLSDB_USER / TOOL_TOOLSDB_PASSWORD (Toolforge sets both
    for every tool) and `database` named `{user}__<name>`, as ToolsDB requires; or any
    SQLAlchemy URL in `url`."""

    path: str = "var/bot.sqlite"
    url: str | None = None
    host: str | None = None
    port: int = field(default=3306, metadata=_check(_positive))
    database: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    """The classifier model directory (empty: the default model) and its operating point."""

    path: str | None = None
    operating_point: str | None = None


@dataclass(frozen=True)
class CategoryConfig:
    """The live category graph: how long a category's parents stay cached."""

    cache_hours: float = field(default=168.0, metadata=_check(_non_negative))


@dataclass(frozen=True)
class ReportConfig:
    """Report pages, the kill switch and the local output of dry runs.

    `{user}` in the page prefix and kill-switch page is replaced by the bot's user name.
    The kill switch lets the bot save only while it says exactly `true` AND its last
    editor holds one of `kill_switch_rights`.
    """

    page_prefix: str = field(default="User:{user}/Topics", metadata=_check(_page_title))
    kill_switch_page: str = field(default="User:{user}/Run", metadata=_check(_page_title))
    kill_switch_rights: tuple[str, ...] = field(default=TRUSTED_RIGHTS, metadata=_check(_rights))
    summary: str = "Bot: update image topic suggestions"
    output_dir: str = "output/reports"
    publish_interval_seconds: int = field(default=3600, metadata=_check(_non_negative))
    # a worklist page never grows past this (Commons refuses pages over 2 MiB) ...
    page_max_bytes: int = field(default=500_000, metadata=_check(_positive))
    # ... nor shows more files than a reviewer's browser loads comfortably
    page_max_files: int = field(default=500, metadata=_check(_positive))


@dataclass(frozen=True)
class FlagWeights:
    """Points each flag signal adds (bot.flag_signals says why each one exists); 0
    switches a signal off. Context signals (new_account, small_jpeg, no_camera_exif)
    stay under the lowest tier alone; see docs/flags.md for how these were set."""

    new_account: float = field(default=1.5, metadata=_check(_non_negative))
    tiny: float = field(default=4.0, metadata=_check(_non_negative))
    small_jpeg: float = field(default=1.5, metadata=_check(_non_negative))
    blank: float = field(default=5.0, metadata=_check(_non_negative))
    logo_new_account: float = field(default=3.5, metadata=_check(_non_negative))
    category_mismatch: float = field(default=3.0, metadata=_check(_non_negative))
    no_camera_exif: float = field(default=1.0, metadata=_check(_non_negative))
    near_duplicate: float = field(default=3.0, metadata=_check(_non_negative))
    # subtracted for an autopatrolled or established uploader (limits.established_*)
    trusted_uploader: float = field(default=3.0, metadata=_check(_non_negative))


def _share(value: Any) -> str | None:
    return None if 0 <= value <= 1 else "must be a share between 0 and 1"


@dataclass(frozen=True)
class FlagLimits:
    """Where each signal starts to fire; defaults from Commons' own abuse filters."""

    new_account_edits: int = field(default=50, metadata=_check(_positive))
    new_account_days: float = field(default=180.0, metadata=_check(_positive))
    # an uploader with at least this many edits over at least this many days is
    # discounted like an autopatrolled one (weights.trusted_uploader)
    established_edits: int = field(default=1000, metadata=_check(_positive))
    established_days: float = field(default=730.0, metadata=_check(_positive))
    tiny_side: int = field(default=150, metadata=_check(_positive))
    tiny_long_side: int = field(default=400, metadata=_check(_positive))
    small_jpeg_pixels: int = field(default=2_000_000, metadata=_check(_positive))
    small_jpeg_bytes: int = field(default=60_000, metadata=_check(_positive))
    blank_spread: float = field(default=4.0, metadata=_check(_positive))
    mismatch_absent_ratio: float = field(default=0.2, metadata=_check(_positive))
    mismatch_confidence: float = field(default=0.8, metadata=_check(_share))
    duplicate_bits: int = field(default=6, metadata=_check(_non_negative))
    duplicate_min_bits: int = field(default=8, metadata=_check(_non_negative))


@dataclass(frozen=True)
class FlagTiers:
    """The lowest score of each tier, named like ORES' review filters."""

    may_have_problems: float = field(default=3.0, metadata=_check(_positive))
    likely_have_problems: float = field(default=5.0, metadata=_check(_positive))
    very_likely_have_problems: float = field(default=7.0, metadata=_check(_positive))


@dataclass(frozen=True)
class FlagsConfig:
    """Vandalism-candidate flags: their page, review page, restraint and scoring.

    `page` and `review_page` may use {prefix} ([report] page_prefix) and {user}. The
    flags page must lie under the prefix (the publisher refuses anything else); the bot
    only reads the review page, where a reviewer marks flagged files `fine` or `not fine`;
    only revisions by accounts holding one of `review_rights` count (bot.flag_review).
    Files on the flags page are linked, not embedded, unless `embed_thumbnails`: an
    embedded file lists the flags page under its "File usage" (bot.flags_report).
    """

    enabled: bool = True
    page: str = field(default="{prefix}/Flags", metadata=_check(_page_title))
    review_page: str = field(default="{prefix}/Flags/Reviewed", metadata=_check(_page_title))
    review_rights: tuple[str, ...] = field(default=TRUSTED_RIGHTS, metadata=_check(_rights))
    summary: str = "Bot: update vandalism-candidate flags"
    per_uploader_cap: int = field(default=5, metadata=_check(_positive))
    embed_thumbnails: bool = False
    weights: FlagWeights = FlagWeights()
    limits: FlagLimits = FlagLimits()
    tiers: FlagTiers = FlagTiers()


def _http_url(value: Any) -> str | None:
    return None if value.startswith(("http://", "https://")) else "must be an http(s) URL"


def _optional_http_url(value: Any) -> str | None:
    return _http_url(value) if value else None


@dataclass(frozen=True)
class ReviewConfig:
    """Reviews and the review tool (`python -m review`).

    A label whose measured precision (the share of its reviewed suggestions that
    reviewers accepted) is under `precision_floor`, once it has `min_reviews` reviews of
    the current model's suggestions, is held back from the worklists. The tool's OAuth
    client id and secret and its session key come from the environment (REVIEW_*), never
    from this file; `oauth_url` is the wiki's OAuth 2.0 REST base; `tool_url` is where the
    tool is served (empty: pages link to no tool); `<tool_url>?file=<name>&topic=<label>`
    and `<tool_url>/suggestions/<id>` show one suggestion's card. Each bot pass re-reads
    the categories of up to `recheck_per_pass` files suggested in the last `recheck_days`
    (0: never), for the implicit signal "confirmed by categories" (bot.category_recheck).
    """

    precision_floor: float = field(default=0.5, metadata=_check(_share))
    min_reviews: int = field(default=20, metadata=_check(_positive))
    page_size: int = field(default=48, metadata=_check(_positive))
    thumb_width: int = field(default=220, metadata=_check(_positive))
    oauth_url: str = field(
        default="https://meta.wikimedia.org/w/rest.php/oauth2", metadata=_check(_http_url)
    )
    tool_url: str = field(default="", metadata=_check(_optional_http_url))
    recheck_days: float = field(default=30.0, metadata=_check(_non_negative))
    recheck_per_pass: int = field(default=200, metadata=_check(_positive))


@dataclass(frozen=True)
class TrainingLogConfig:
    """The training log (issue 18): per classified image, the learned head's inputs
    (about 1.3 KB) and the topics its categories implied, for `training.retrain_head`.
    Each pass drops rows older than `retention_days` (0: no age limit), then the oldest
    beyond `max_rows`."""

    enabled: bool = True
    max_rows: int = field(default=1_000_000, metadata=_check(_positive))
    retention_days: float = field(default=60.0, metadata=_check(_non_negative))


@dataclass(frozen=True)
class Config:
    """The whole configuration. `dry_run` defaults to true: reading is always safe."""

    dry_run: bool = True
    wiki: WikiConfig = WikiConfig()
    source: SourceConfig = SourceConfig()
    thumbnails: ThumbnailConfig = ThumbnailConfig()
    store: StoreConfig = StoreConfig()
    model: ModelConfig = ModelConfig()
    categories: CategoryConfig = CategoryConfig()
    report: ReportConfig = ReportConfig()
    flags: FlagsConfig = FlagsConfig()
    review: ReviewConfig = ReviewConfig()
    training_log: TrainingLogConfig = TrainingLogConfig()

    def store_url(
        self, base: Path | None = None, environ: Mapping[str, str] = os.environ
    ) -> URL:
        """The SQLAlchemy URL; a relative SQLite path resolves against `base` (the cwd).
        A URL object, not a string: printing it hides the password."""
        store = self.store
        if store.url:
            return make_url(store.url)
        if store.host:
            user, password = environ.get(TOOLSDB_USER), environ.get(TOOLSDB_PASSWORD)
            if not user or not password:
                raise ConfigError(
                    f"[store] host = {store.host!r} needs {TOOLSDB_USER} and "
                    f"{TOOLSDB_PASSWORD} in the environment (on Toolforge: `toolforge "
                    "envvars list` shows them)"
                )
            return URL.create(
                "mysql+pymysql",
                username=user,
                password=password,
                host=store.host,
                port=store.port,
                database=store.database.format(user=user),
                query={"charset": "utf8mb4"},
            )
        return make_url(f"sqlite:///{resolve_path(store.path, base)}")

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with dotted keys replaced, e.g. {"wiki.api_url": ...}; used by the CLI."""
        updated = self
        for dotted, value in changes.items():
            section, _, key = dotted.rpartition(".")
            if not section:
                updated = dataclasses.replace(updated, **{key: value})
            else:
                inner = dataclasses.replace(getattr(updated, section), **{key: value})
                updated = dataclasses.replace(updated, **{section: inner})
        return updated


@dataclass(frozen=True)
class PageTitles:
    """The pages the bot writes and reads, as the wiki spells their titles."""

    prefix: str
    kill_switch: str
    flags: str
    review: str


def normalise_title(title: str) -> str:
    """A title as MediaWiki spells it: Unicode NFC, underscores as spaces, one space at a
    time, the namespace and the first letter of the name in upper case (for the User
    namespace; the bot checks nothing else)."""
    title = " ".join(unicodedata.normalize("NFC", title).replace("_", " ").split())
    namespace, colon, name = title.partition(":")
    if not colon:
        return title[:1].upper() + title[1:]
    name = name.strip()
    return f"{namespace.strip().capitalize()}:{name[:1].upper()}{name[1:]}"


def _fill(key: str, template: str, names: dict[str, str]) -> str:
    """`template` with its {placeholders} filled; an unknown one is a ConfigError."""
    used = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    unknown = sorted(used - set(names))
    if unknown:
        allowed = ", ".join("{" + n + "}" for n in names)
        raise ConfigError(f"{key} = {template!r}: unknown {{{unknown[0]}}}; allowed: {allowed}")
    return normalise_title(template.format(**names))


def page_titles(config: Config, user: str) -> PageTitles:
    """The bot's pages for the account `user`, checked so that a configuration cannot
    aim the bot at anyone else's pages: the prefix lies in the bot's own user space,
    the flags page under it, and the kill switch, the flags page and the review page are
    three different pages (the kill switch outside the prefix, where the bot never
    writes). Called before any wiki request, dry runs included."""
    user = normalise_title(user)
    report, flags = config.report, config.flags
    prefix = _fill("[report] page_prefix", report.page_prefix, {"user": user}).rstrip("/")
    if not prefix.startswith(f"User:{user}/"):
        raise ConfigError(
            f"[report] page_prefix = {report.page_prefix!r} is {prefix!r}: it must lie "
            f"in the bot's own user space, User:{user}/..."
        )
    names = {"prefix": prefix, "user": user}
    titles = PageTitles(
        prefix=prefix,
        kill_switch=_fill("[report] kill_switch_page", report.kill_switch_page, {"user": user}),
        flags=_fill("[flags] page", flags.page, names),
        review=_fill("[flags] review_page", flags.review_page, names),
    )
    if not titles.flags.startswith(prefix + "/"):
        raise ConfigError(f"[flags] page = {titles.flags!r}: it must lie under {prefix}/")
    if titles.kill_switch.startswith(prefix + "/"):
        raise ConfigError(
            f"[report] kill_switch_page = {titles.kill_switch!r}: it must not lie under "
            f"the prefix {prefix}/, where the bot writes"
        )
    if titles.review in (titles.flags, titles.kill_switch):
        raise ConfigError(
            f"[flags] review_page = {titles.review!r}: it must differ from the flags page "
            "and the kill-switch page"
        )
    return titles


def resolve_path(path: str, base: Path | None = None) -> Path:
    """Resolve a configured path against the working directory, so two runs in two
    folders never share a store or an output directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base or Path.cwd()) / p


def _type_ok(value: Any, annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typing.get_origin(annotation) is tuple:  # tuple[str, ...]: a TOML array of strings
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    return isinstance(value, annotation)


def _build(cls: type, table: Mapping[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(fields)}"
        )
    values: dict[str, Any] = {}
    for name, value in table.items():
        annotation = hints[name]
        key = f"{where}.{name}" if where != "top level" else name
        if dataclasses.is_dataclass(annotation):
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: must be a table ([{name}])")
            values[name] = _build(annotation, value, f"[{name}]")
            continue
        if isinstance(value, str) and value == "" and _type_ok(None, annotation):
            value = None  # TOML has no null: an empty string means "not set"
        if not _type_ok(value, annotation):
            expected = getattr(annotation, "__name__", str(annotation))
            if annotation is float or float in typing.get_args(annotation):
                expected = "a finite number"
            raise ConfigError(f"{key}: expected {expected}, got {value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and annotation is float:
            value = float(value)
        if isinstance(value, list):
            value = tuple(value)
        problem = fields[name].metadata.get("check", lambda _: None)(value)
        if problem:
            raise ConfigError(f"{key} = {value!r}: {problem}")
        values[name] = value
    return cls(**values)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Parse and validate TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from None
    try:
        config = _build(Config, data, "top level")
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
    store = config.store
    chosen = [k for k in ("url", "host") if getattr(store, k)]
    if len(chosen) > 1 or (chosen and store.path != StoreConfig.path):
        raise ConfigError(f"{source}: [store] set either path or url or host, not several")
    if bool(store.host) != bool(store.database):
        raise ConfigError(f"{source}: [store] host and database go together")
    flags = config.flags
    tiers = flags.tiers
    if not (
        tiers.may_have_problems < tiers.likely_have_problems < tiers.very_likely_have_problems
    ):
        raise ConfigError(f"{source}: [flags.tiers] must rise: may < likely < very likely")
    if flags.weights.no_camera_exif >= tiers.may_have_problems:
        raise ConfigError(
            f"{source}: [flags.weights] no_camera_exif must stay under "
            "[flags.tiers] may_have_problems: missing EXIF is never enough alone"
        )
    limits = flags.limits
    if (
        limits.established_edits < limits.new_account_edits
        or limits.established_days < limits.new_account_days
    ):
        raise ConfigError(
            f"{source}: [flags.limits] established_edits and established_days must be at "
            "least new_account_edits and new_account_days: no account is both new and "
            "established"
        )
    return config


def find_config(path: Path | None = None) -> Config:
    """The file given, else ./config.toml when there is one, else the safe defaults."""
    if path is not None:
        return load_config(path)
    if Path(DEFAULT_CONFIG).is_file():
        return load_config(DEFAULT_CONFIG)
    return Config()


def load_config(path: str | Path) -> Config:
    """Read and validate a configuration file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read configuration {p}: {err.strerror}") from None
    return parse_config(text, str(p))

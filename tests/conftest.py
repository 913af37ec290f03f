"""Shared fixtures: a fresh local MediaWiki per test session, with real images uploaded.

pywikibot reads its configuration once, at import, from PYWIKIBOT_DIR. Test modules
import bot modules (hence pywikibot) while being collected, so a throwaway
PYWIKIBOT_DIR with quick-failing retries is set here, before any of them, so that
nothing is written into the repository or the user's ~/.pywikibot. The bot under test
runs as a subprocess with its own PYWIKIBOT_DIR (see `bot_env`).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from classifier.artifact import DEFAULT_MODEL_DIR
from tests.mariadb_fixtures import (
    LocalMariaDB,
    mariadb,  # noqa: F401 - a session fixture for all tests
)
from tests.wiki_fixtures import (
    BOT_LOGIN,
    BOT_PASSWORD,
    REPO,
    USER_CONFIG,
    LocalWiki,
    sample_images,
    wait_next_second,
    wiki_available,
    write_pywikibot_dir,
)

_TEST_PWB_DIR = Path(tempfile.mkdtemp(prefix="pwb-tests-"))
(_TEST_PWB_DIR / "families").mkdir()
(_TEST_PWB_DIR / "user-config.py").write_text(
    USER_CONFIG.replace("family = 'localwiki'\nmylang = 'localwiki'\n", "")
)
os.environ["PYWIKIBOT_DIR"] = str(_TEST_PWB_DIR)
atexit.register(shutil.rmtree, _TEST_PWB_DIR, True)

CATEGORY_TREE = {
    # child: parents, a small slice of Commons' shape under the taxonomy's anchors
    "Felis catus": ["Felidae"],
    "Felidae": ["Mammals"],
    "Mammals": ["Animalia"],
    "Coffee cups": ["Cups", "Coffee"],
    "Coffee": ["Food"],
    "Astronauts": ["Astronautics", "People by occupation"],
    "People by occupation": ["People"],
    "Astronautics": ["Astronomy"],
    "Rockets": ["Astronautics"],
    "Flowers": ["Plantae"],
    "Buddhist temples in China": ["Buddhist temples", "Religious buildings in China"],
    "Buddhist temples": ["Religious buildings"],
    "Religious buildings": ["Architecture"],
    "Test uploads": [],
    "Files with maintenance": [],
}

UPLOAD_CATEGORIES = {
    "Coffee cup.jpg": ["Coffee cups", "Test uploads"],
    "Chelsea the cat.jpg": ["Felis catus", "Test uploads"],
    "Astronaut portrait.jpg": ["Astronauts", "Test uploads"],
    "China temple.jpg": ["Buddhist temples in China", "Test uploads"],
    "Flower closeup.jpg": ["Flowers", "Test uploads", "Files with maintenance"],
    "Cat with transparency.png": ["Felis catus", "Test uploads"],
    "Rocket launch.gif": ["Rockets", "Test uploads"],
    "Rocket launch.webp": ["Rockets", "Test uploads"],
}


@contextmanager
def local_services(
    base: Path, with_mariadb: bool = False
) -> Iterator[tuple[LocalWiki, LocalMariaDB | None]]:
    """A fresh MediaWiki under `base` with CATEGORY_TREE (and its hidden maintenance
    category), and with `with_mariadb` a local MariaDB server too; both stopped at the end.
    The tests' session wiki, scripts/soak.py and scripts/bench-bot-pass.py all start here."""
    wiki = LocalWiki.start(base / "wiki")
    db = None
    try:
        db = LocalMariaDB.start(base / "mariadb") if with_mariadb else None
        client = wiki.client()
        for child, parents in CATEGORY_TREE.items():
            client.edit(
                f"Category:{child}",
                "Test category." + "".join(f"[[Category:{p}]]" for p in parents),
            )
        client.edit("Category:Files with maintenance", "Maintenance. __HIDDENCAT__")
        yield wiki, db
    finally:
        wiki.stop()
        if db:
            db.stop()


@pytest.fixture(scope="session")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWiki]:
    """A fresh MediaWiki on a free loopback port with the category tree; stopped at the end."""
    reason = wiki_available()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("wiki")
    try:
        with local_services(base) as (wiki, _):
            yield wiki
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def images() -> dict[str, bytes]:
    return sample_images()


@pytest.fixture(scope="session")
def uploaded(wiki: LocalWiki, images: dict[str, bytes]) -> str:
    """The sample photos uploaded with categories; returns the time just before."""
    since = wait_next_second()
    client = wiki.client()
    for name, data in images.items():
        client.upload(name, data, UPLOAD_CATEGORIES[name])
    return since


def bot_env(pwb_dir: Path, families: dict[str, int]) -> dict[str, str]:
    """The environment of a bot subprocess: its own PYWIKIBOT_DIR, credentials as on
    Toolforge, and the repository importable. Skips while there is no model to run."""
    if not os.environ.get("BOT_TEST_MODEL") and not (DEFAULT_MODEL_DIR / "model.json").is_file():
        pytest.skip(f"no default model in {DEFAULT_MODEL_DIR} (or set BOT_TEST_MODEL=DIR)")
    write_pywikibot_dir(pwb_dir, families)
    env = dict(os.environ)
    env.update(
        PYWIKIBOT_DIR=str(pwb_dir),
        BOT_USERNAME=BOT_LOGIN,
        BOT_PASSWORD=BOT_PASSWORD,
        PYTHONPATH=str(REPO),
    )
    return env


def write_bot_config(path: Path, api_url: str, **sections: dict) -> Path:
    """A config.toml for a test run: the local wiki, fast retries, publishing on."""
    values = {
        "wiki": {"api_url": api_url},
        "source": {"per_pass_limit": 500, "metadata_batch": 50},
        "thumbnails": {"retries": 1, "backoff_seconds": 0.1, "timeout_seconds": 30.0},
        "report": {"page_prefix": "User:{user}/Topics"},
        # every account of the test wiki is days old, so flags would list most uploads;
        # tests of topics leave them off, tests/test_flags_wiki.py turns them on
        "flags": {"enabled": False},
    }
    if os.environ.get("BOT_TEST_MODEL"):  # try a candidate model instead of the default
        values["model"] = {"path": os.environ["BOT_TEST_MODEL"]}
    for name, table in sections.items():
        values.setdefault(name, {}).update(table)
    lines = ["dry_run = false"]
    for name, table in values.items():
        lines.append(f"[{name}]")
        for key, value in table.items():
            lines.append(f"{key} = {json.dumps(value)}")  # JSON scalars are TOML scalars
    path.write_text("\n".join(lines) + "\n")
    return path


def pytest_unconfigure(config: pytest.Config) -> None:
    """Forget the last test failure before pywikibot's exit handler sees it.

    pytest records each failure (expected ones too) in sys.last_type; pywikibot's atexit
    hook then prints "CRITICAL: Exiting due to uncaught exception" after pytest's own
    closing line, which reads like a crash of the run and hides the real summary.
    """
    import sys

    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)

"""Helpers for the integration tests: a real local MediaWiki, real images, a raw API client.

The tests drive the wiki with plain `requests` (as a human or another tool would), and
run the bot itself as a subprocess, so nothing in the test process shares pywikibot
state with the bot under test.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
MEDIAWIKI = Path("/usr/share/mediawiki")
BOT_LOGIN = "Bot@test"
BOT_PASSWORD = "0123456789abcdef0123456789abcdef"
ADMIN_LOGIN = "Admin"
ADMIN_PASSWORD = "AdminPass-12345"


def wiki_available() -> str | None:
    """None when a local wiki can run here, else the reason to skip."""
    if shutil.which("php") is None:
        return "php is not installed (scripts/install-test-services.sh)"
    if not (MEDIAWIKI / "maintenance" / "install.php").is_file():
        return f"MediaWiki is not installed at {MEDIAWIKI}"
    if not Path("/usr/bin/convert").is_file():
        return "ImageMagick (/usr/bin/convert) is not installed"
    if shutil.which("curl") is None:
        return "curl is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAMILY_TEMPLATE = """\
from pywikibot import family


class Family(family.SingleSiteFamily):
    name = {name!r}
    domain = '127.0.0.1:{port}'

    def protocol(self, code):
        return 'http'

    def scriptpath(self, code):
        return ''
"""

USER_CONFIG = """\
import os
user_families_paths = [os.path.join(base_dir, 'families')]
family = 'localwiki'
mylang = 'localwiki'
put_throttle = 0
minthrottle = 0
max_retries = 1
retry_wait = 1
retry_max = 2
"""


def write_pywikibot_dir(path: Path, ports: dict[str, int]) -> Path:
    """A fresh PYWIKIBOT_DIR with one family per (name, port): the wiki itself and any
    fault-injecting proxy in front of it. No password file: the bot logs in with
    BOT_USERNAME / BOT_PASSWORD from the environment, as on Toolforge."""
    (path / "families").mkdir(parents=True, exist_ok=True)
    for name, port in ports.items():
        (path / "families" / f"{name}_family.py").write_text(
            FAMILY_TEMPLATE.format(name=name, port=port)
        )
    (path / "user-config.py").write_text(USER_CONFIG)
    return path


@dataclass
class LocalWiki:
    """A running wiki started by scripts/start-local-wiki.sh."""

    dir: Path
    port: int
    api_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.api_url = f"http://127.0.0.1:{self.port}/api.php"

    @classmethod
    def start(cls, dir: Path) -> LocalWiki:
        port = free_port()
        subprocess.run(
            [str(REPO / "scripts" / "start-local-wiki.sh"), str(dir), str(port)],
            check=True,
            capture_output=True,
        )
        return cls(dir, port)

    def stop(self) -> None:
        subprocess.run([str(REPO / "scripts" / "stop-local-wiki.sh"), str(self.dir)], check=True)

    def maintenance(self, script: str, *args: str, stdin: str | None = None) -> str:
        env = dict(
            os.environ,
            MW_INSTALL_PATH=str(MEDIAWIKI),
            MW_CONFIG_FILE=str(self.dir / "LocalSettings.php"),
        )
        done = subprocess.run(
            ["php", str(MEDIAWIKI / "maintenance" / script), *args],
            input=stdin,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def client(self, login: str = BOT_LOGIN, password: str = BOT_PASSWORD) -> ApiClient:
        c = ApiClient(self.api_url)
        c.login(login, password)
        return c

    def delete_file(self, title: str) -> None:
        """Delete a file page as the wiki's maintenance would (the bot account cannot)."""
        self.maintenance(
            "deleteBatch.php", "-u", "Admin", "-r", "test: deleted", stdin=title + "\n"
        )


class ApiClient:
    """A minimal Action API client for setting the wiki up from the tests."""

    def __init__(self, api_url: str):
        self.api_url = api_url
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "commons-topic-bot-tests/0.1 (local test wiki)"

    def get(self, **params) -> dict:
        params.update(format="json", formatversion="2")
        r = self.session.get(self.api_url, params=params, timeout=60)
        r.raise_for_status()
        data = r.json()
        assert "error" not in data, data
        return data

    def post(self, files: dict | None = None, **params) -> dict:
        params.update(format="json", formatversion="2")
        r = self.session.post(self.api_url, data=params, files=files, timeout=60)
        r.raise_for_status()
        data = r.json()
        assert "error" not in data, data
        return data

    def login(self, name: str, password: str) -> None:
        token = self.get(action="query", meta="tokens", type="login")["query"]["tokens"]
        result = self.post(
            action="login", lgname=name, lgpassword=password, lgtoken=token["logintoken"]
        )
        assert result["login"]["result"] == "Success", result
        self.csrf = self.get(action="query", meta="tokens")["query"]["tokens"]["csrftoken"]

    def edit(self, title: str, text: str, summary: str = "test setup") -> dict:
        return self.post(action="edit", title=title, text=text, summary=summary, token=self.csrf)

    def upload(self, filename: str, data: bytes, categories: list[str] = ()) -> dict:
        text = "Test upload.\n" + "".join(f"[[Category:{c}]]\n" for c in categories)
        result = self.post(
            files={"file": (filename, data)},
            action="upload",
            filename=filename,
            text=text,
            comment="test upload",
            ignorewarnings="1",
            token=self.csrf,
        )
        assert result["upload"]["result"] == "Success", result
        return result

    def page_text(self, title: str) -> str | None:
        page = self.get(
            action="query", prop="revisions", titles=title, rvprop="content", rvslots="main"
        )["query"]["pages"][0]
        if page.get("missing"):
            return None
        return page["revisions"][0]["slots"]["main"]["content"]

    def revisions(self, title: str) -> list[dict]:
        pages = self.get(
            action="query",
            prop="revisions",
            titles=title,
            rvprop="ids|user|comment|flags",
            rvlimit="max",
        )["query"]["pages"]
        return pages[0].get("revisions", [])

    def edits_by(self, user: str) -> list[dict]:
        """Edits and page creations by `user` in recent changes (server-side evidence)."""
        return self.get(
            action="query",
            list="recentchanges",
            rcuser=user,
            rctype="edit|new",
            rcprop="title|ids|comment|timestamp",
            rclimit="max",
        )["query"]["recentchanges"]

    def thumb_url(self, title: str, width: int) -> str:
        page = self.get(
            action="query", prop="imageinfo", titles=title, iiprop="url", iiurlwidth=width
        )["query"]["pages"][0]
        return page["imageinfo"][0]["thumburl"]


# -- real images -----------------------------------------------------------------------


def _encode(array: np.ndarray, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def sample_images() -> dict[str, bytes]:
    """Real photographs that ship with scikit-image and scikit-learn, plus a PNG with
    transparency, an animated GIF and a WebP made from them: filename -> bytes."""
    from skimage import data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    coffee, chelsea, astronaut, rocket = (
        data.coffee(),
        data.chelsea(),
        data.astronaut(),
        data.rocket(),
    )
    rgba = np.dstack([chelsea, np.full(chelsea.shape[:2], 255, np.uint8)])
    rgba[:, : rgba.shape[1] // 3, 3] = 0  # a transparent band
    gif = io.BytesIO()
    frames = [Image.fromarray(rocket), Image.fromarray(rocket[::-1])]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=200)
    return {
        "Coffee cup.jpg": _encode(coffee, "JPEG", quality=90),
        "Chelsea the cat.jpg": _encode(chelsea, "JPEG", quality=90),
        "Astronaut portrait.jpg": _encode(astronaut, "JPEG", quality=90),
        "China temple.jpg": _encode(china, "JPEG", quality=90),
        "Flower closeup.jpg": _encode(flower, "JPEG", quality=90),
        "Cat with transparency.png": _encode(rgba, "PNG"),
        "Rocket launch.gif": gif.getvalue(),
        "Rocket launch.webp": _encode(rocket, "WEBP", quality=80),
    }


def variant(image: bytes, seed: int) -> bytes:
    """A visibly different JPEG (new sha1) from a photo, for tests that need many files."""
    array = np.asarray(Image.open(io.BytesIO(image)).convert("RGB")).copy()
    rng = np.random.default_rng(seed)
    y, x = rng.integers(0, array.shape[0] - 20), rng.integers(0, array.shape[1] - 20)
    array[y : y + 20, x : x + 20] = rng.integers(0, 255, 3, dtype=np.uint8)
    return _encode(array, "JPEG", quality=85)


def wait_next_second() -> str:
    """Sleep into a fresh wall-clock second and return it as a MediaWiki timestamp, so a
    test's `--since` covers its own uploads and none of an earlier test's."""
    time.sleep(1.05 - (time.time() % 1))
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_bot(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float = 240,
) -> subprocess.CompletedProcess:
    """Run `python -m bot.run` as the operator would."""
    return subprocess.run(
        [sys.executable, "-m", "bot.run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

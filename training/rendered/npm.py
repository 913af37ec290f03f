"""The npm packages behind flags, logos and maps: pinned here, installed into var/npm.

`training/rendered/package.json` and `package-lock.json` pin the versions; `install()`
copies them into the ignored cache folder and runs `npm ci`, so every build reads the
same SVG and TopoJSON files and nothing from npm is committed to the repository.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
DEFAULT_PREFIX = Path("var/npm")
PACKAGES = ("flag-icons", "simple-icons", "world-atlas")


def package_dir(name: str, prefix: Path = DEFAULT_PREFIX) -> Path:
    """The installed package folder; raises with the command to run when it is missing."""
    path = prefix / "node_modules" / name
    if not (path / "package.json").is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python -m training.rendered.build --install` "
            f"(or `npm ci --prefix {prefix}` after copying {HERE}/package*.json there)"
        )
    return path


def install(prefix: Path = DEFAULT_PREFIX) -> None:
    """`npm ci` of the pinned lock file into `prefix` (network: the npm registry only)."""
    prefix.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, prefix / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(prefix)], check=True)

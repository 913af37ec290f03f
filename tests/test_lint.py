"""The house rules that tools can check: ruff's lint, and the import-linter contracts
(bot -> classifier <- training; no TensorFlow or Spark in bot and classifier)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    exe = BIN / tool if (BIN / tool).exists() else shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (scripts/setup.sh --full installs it)")
    return subprocess.run([str(exe), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_ruff_finds_nothing():
    done = _run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout[-4000:]


def test_import_contracts_are_kept():
    done = _run("lint-imports")
    assert done.returncode == 0, done.stdout[-4000:]
    assert "broken" in done.stdout and " 0 broken" in done.stdout

"""The classifier (and the bot that uses it) must never import TensorFlow or Keras.

The bot runs on Toolforge with a small memory limit and must start in well under a
second; TensorFlow alone is hundreds of MB and seconds of import. Models run on LiteRT.
Each import is checked in a fresh interpreter, since this test process may well have
TensorFlow loaded by other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = ["classifier", "classifier.model", "classifier.images", "classifier.artifact"]
if (REPO / "bot" / "run.py").is_file():
    MODULES.append("bot.run")


def heavy_modules_after_import(module: str) -> list[str]:
    code = (
        f"import json, sys, {module}; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", MODULES)
def test_import_does_not_load_tensorflow(module: str):
    assert heavy_modules_after_import(module) == []


@pytest.mark.slow  # importing TensorFlow takes seconds
def test_the_check_can_see_tensorflow():
    """The probe itself works: importing a module that uses TensorFlow is caught."""
    pytest.importorskip("tensorflow")
    assert "tensorflow" in heavy_modules_after_import("tensorflow")

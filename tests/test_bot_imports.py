"""The bot's process must stay light: TensorFlow (about 700 MB) never gets imported."""

import subprocess
import sys

from tests.wiki_fixtures import REPO


def test_bot_run_never_imports_tensorflow_or_training():
    code = (
        "import sys, bot.run; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'training', 'torch')); print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"

"""The Toolforge job: watches new Commons uploads, suggests topics, publishes reports.

pywikibot refuses to import without a `user-config.py` unless told otherwise. The bot
takes its settings from `config.toml` and its credentials from the environment, so a
fresh clone must run without one: when no `PYWIKIBOT_DIR` is set and none of the
places pywikibot looks holds a user-config.py, we tell pywikibot to go without it.
This lives here because it must happen before any bot module imports pywikibot.
"""

import os
from pathlib import Path


def _allow_missing_pywikibot_config() -> None:
    if "PYWIKIBOT_DIR" in os.environ or "PYWIKIBOT_NO_USER_CONFIG" in os.environ:
        return
    candidates = (Path.cwd(), Path.home() / ".pywikibot")
    if not any((d / "user-config.py").is_file() for d in candidates):
        os.environ["PYWIKIBOT_NO_USER_CONFIG"] = "2"


_allow_missing_pywikibot_config()

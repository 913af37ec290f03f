"""The Toolforge job: watches new Commons uploads, suggests topics, publishes reports.

pywikibot refuses to import without a `user-config.py`. The bot takes its settings from
`config.toml` and its credentials from the environment, so a fresh clone must run
without one: when no `PYWIKIBOT_DIR` is set and none of the places pywikibot looks holds
a user-config.py, pywikibot gets an empty one in `var/pywikibot` of the working
directory, where it then keeps its own state (throttle file, cookies, API cache) beside
the store, so two runs in two folders share nothing. This lives here because it must
happen before any bot module imports pywikibot.
"""

import os
from pathlib import Path


def _give_pywikibot_a_home() -> None:
    if "PYWIKIBOT_DIR" in os.environ or "PYWIKIBOT_NO_USER_CONFIG" in os.environ:
        return
    if any((d / "user-config.py").is_file() for d in (Path.cwd(), Path.home() / ".pywikibot")):
        return
    home = Path.cwd() / "var" / "pywikibot"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "user-config.py"
    if not config.is_file():
        config.write_text("# Empty on purpose: the bot's settings are in config.toml.\n")
        config.chmod(0o600)
    os.environ["PYWIKIBOT_DIR"] = str(home)


_give_pywikibot_a_home()

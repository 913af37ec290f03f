"""The wiki connection: a pywikibot Site from configuration, and the bot's login.

The site comes from a family/code pair (Commons in production) or from any MediaWiki's
api.php URL (a local test wiki, a proxy in front of it). Credentials never come from
`config.toml`: either BOT_USERNAME / BOT_PASSWORD in the environment (a BotPassword,
"User@app", as Toolforge's envvars provide), or pywikibot's own user files.
"""

from __future__ import annotations

import os

import pywikibot
from pywikibot.login import ClientLoginManager

from bot.config import WikiConfig

DEBUG_LOG_SWITCH = "BOT_ALLOW_PASSWORD_IN_DEBUG_LOG"
"""pywikibot's debug log (`debug_log` in user-config.py) records every request, the
login's password included, in clear. The bot refuses to start with it on unless the
operator also sets this variable to `yes` (toolforge/README.md)."""


class LoginError(RuntimeError):
    """The bot could not log in, and the run needs to."""


def refuse_debug_log() -> None:
    """Stop, before any request, when pywikibot would log the password in clear."""
    if pywikibot.config.debug_log and os.environ.get(DEBUG_LOG_SWITCH) != "yes":
        raise LoginError(
            f"pywikibot's debug log is on (debug_log = {pywikibot.config.debug_log!r} in "
            "user-config.py): it would write the bot's password in clear; turn it off, or "
            f"set {DEBUG_LOG_SWITCH}=yes to accept that"
        )


def open_site(config: WikiConfig) -> pywikibot.site.APISite:
    """Connect to the configured wiki, identifying the bot by its User-Agent."""
    refuse_debug_log()
    # pywikibot formats this string with its own fields; keep the configured text literal.
    literal = config.user_agent.replace("{", "{{").replace("}", "}}")
    pywikibot.config.user_agent_format = literal + " {pwb} ({http_backend})"
    if config.api_url:
        return _site_from_api_url(config.api_url)
    return pywikibot.Site(config.code, config.family)


def _site_from_api_url(api_url: str) -> pywikibot.site.APISite:
    """The registered family serving this api.php, else one pywikibot builds from the URL.

    A registered family keeps pywikibot's per-family settings (user names, throttles);
    pywikibot only recognises a family by its index.php URL, not by api.php.
    """
    index_url = api_url.removesuffix("api.php") + "index.php"
    for name in pywikibot.config.family_files:
        family = pywikibot.family.Family.load(name)
        code = family.from_url(index_url)
        if code is not None:
            return pywikibot.Site(code, family)
    return pywikibot.Site(url=api_url)


def expected_user() -> str | None:
    """The bot's user name as the credentials in the environment give it (before any
    wiki request), or None when there are none there."""
    login_name = os.environ.get("BOT_USERNAME")
    return login_name.split("@", 1)[0] if login_name else None


def log_in(site: pywikibot.site.APISite, required: bool) -> str | None:
    """Log in and return the bot's user name, or None when running anonymously.

    `required` is true when the run will write to the wiki; reading needs no account.
    """
    login_name = os.environ.get("BOT_USERNAME")
    password = os.environ.get("BOT_PASSWORD")
    try:
        if login_name and password:
            user = expected_user()
            pywikibot.config.usernames[site.family.name][site.code] = user
            site.login(user=user, cookie_only=True)  # a saved session is reused
            if site.logged_in():
                return site.username()
            manager = ClientLoginManager(site=site, user=login_name, password=password)
            if not manager.login(retry=False):
                raise LoginError(f"login as {login_name} failed on {site}")
            site.login(user=user)
        elif site.username():
            site.login()
        elif required:
            raise LoginError(
                "publishing needs an account: set BOT_USERNAME (a BotPassword name such as "
                "MyBot@topics) and BOT_PASSWORD, or configure pywikibot's user files; "
                "or run with --dry-run"
            )
        else:
            return None
    except pywikibot.exceptions.Error as err:
        if required:
            raise LoginError(f"login failed on {site}: {err}") from err
        return None
    return site.username()

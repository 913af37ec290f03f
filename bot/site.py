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


class LoginError(RuntimeError):
    """The bot could not log in, and the run needs to."""


def open_site(config: WikiConfig) -> pywikibot.site.APISite:
    """Connect to the configured wiki, identifying the bot by its User-Agent."""
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


def log_in(site: pywikibot.site.APISite, required: bool) -> str | None:
    """Log in and return the bot's user name, or None when running anonymously.

    `required` is true when the run will write to the wiki; reading needs no account.
    """
    login_name = os.environ.get("BOT_USERNAME")
    password = os.environ.get("BOT_PASSWORD")
    try:
        if login_name and password:
            user = login_name.split("@", 1)[0]
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

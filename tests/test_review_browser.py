"""The review tool in a real browser: headless Chromium, driven by Selenium through
Debian's chromium-driver, logs in through the stand-in OAuth provider, then accepts,
rejects and undoes by clicking and by keyboard, on a real store whose files are real
uploads on the local MediaWiki; the gallery's thumbnails are that wiki's own renderings
(Special:FilePath with a width). Set REVIEW_SCREENSHOT=docs/review-tool.png to refresh
the screenshot in docs/; otherwise it goes to the test's temporary folder."""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest
from PIL import Image
from werkzeug.serving import make_server

from bot.store import Store
from tests.conftest import UPLOAD_CATEGORIES
from tests.review_fixtures import make_tool, provider  # noqa: F401
from tests.test_review_store import add_file
from tests.wiki_fixtures import REPO, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

LABELS = {
    "Coffee cup.jpg": "Food",
    "Chelsea the cat.jpg": "Animals",
    "Astronaut portrait.jpg": "People",
    "China temple.jpg": "Architecture",
    "Flower closeup.jpg": "Plants",
    "Rocket launch.gif": "Space",
}

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path):
    if not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)):
        pytest.skip("chromium and chromium-driver are not installed (install-test-services.sh)")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def tool_url(wiki, uploaded, provider, tmp_path):  # noqa: F811
    """The tool, served on a loopback port, on a store of the uploads' suggestions."""
    assert uploaded
    store = Store(f"sqlite:///{tmp_path}/bot.sqlite")
    for n, (name, label) in enumerate(LABELS.items(), start=1):
        add_file(store, n, {label: 0.7 + n / 50}, title=f"File:{name}")
    assert set(LABELS) <= set(UPLOAD_CATEGORIES)
    server = make_server(
        "127.0.0.1", free_port(), make_tool(store, provider, wiki.api_url), threaded=True
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", store
    server.shutdown()


def _wait(driver, condition, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _state(driver, card_id):
    return driver.find_element("id", card_id).get_attribute("data-state")


def test_login_accept_reject_undo_by_clicking(browser, tool_url, tmp_path):
    url, store = tool_url
    browser.get(url + "/")
    browser.find_element("id", "login").click()
    _wait(browser, lambda d: d.find_elements("id", "username"))  # the stand-in's consent form
    browser.find_element("id", "username").send_keys("Alice")
    browser.find_element("id", "allow").click()
    _wait(browser, lambda d: "Reviewing as" in d.page_source)
    assert "<strong>Alice</strong>" in browser.page_source

    # the wiki's own thumbnails: every image loaded with real pixels
    _wait(
        browser,
        lambda d: d.execute_script(
            "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        ),
    )
    widths = browser.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
    assert len(widths) == len(LABELS) and all(w > 50 for w in widths)

    cards = [c.get_attribute("id") for c in browser.find_elements("css selector", ".card")]
    first, second, third = cards[:3]
    ids = {c: int(c[1:]) for c in cards}
    browser.find_element("css selector", f"#{first} button.accepted").click()
    _wait(browser, lambda d: _state(d, first) == "accepted")
    browser.find_element("css selector", f"#{second} button.rejected").click()
    _wait(browser, lambda d: _state(d, second) == "rejected")
    browser.find_element("css selector", f"#{second} button.undo").click()
    _wait(browser, lambda d: _state(d, second) == "pending")
    # the keyboard: j moves to the next card (the second is current after its undo), r rejects
    browser.find_element("tag name", "body").send_keys("j")
    browser.find_element("tag name", "body").send_keys("r")
    _wait(browser, lambda d: _state(d, third) == "rejected")

    assert [r.reviewer for r in store.reviews_of(ids[first])] == ["Alice"]
    [undone] = store.reviews_of(ids[second])
    assert undone.undone_by == "Alice"
    assert [r.decision for r in store.reviews_of(ids[third])] == ["rejected"]
    counts = store.label_review_counts()
    assert sum(a + r for a, r in counts.values()) == 2

    browser.execute_script("window.scrollTo(0, 0)")
    target = os.environ.get("REVIEW_SCREENSHOT")
    shot = REPO / target if target else tmp_path / "review-tool.png"
    assert browser.save_screenshot(str(shot))
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.std() > 20  # a rendered page with pictures, not a blank window
    warm = (pixels[..., 0] - pixels[..., 2] > 60) & (pixels[..., 0] > 120)
    assert warm.sum() > 500  # the cat's orange fur, from the wiki's thumbnail

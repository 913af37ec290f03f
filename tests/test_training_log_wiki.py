"""The learning loop against a real MediaWiki: real images uploaded under a small
category tree, `python -m bot.run --once` logs what the head read and the topics the
categories imply, `python -m training.retrain_head` fits a head from that store, and
`python -m training.promote` prefers it to a head fitted on shuffled labels of the same
images, and refuses the shuffled one against it; the bot's next start with the promoted
model records the decision in its store. Its own wiki, so that its uploads
never reach another test's passes."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.store import Store, files_table, promotions_table
from classifier.model import TopicModel
from tests.conftest import bot_env, write_bot_config
from tests.test_bot_wiki import _summary
from tests.test_retrain_promote import FLAG_TOPICS, PHOTO_TOPICS, _dev, _log
from tests.wiki_fixtures import LocalWiki, run_bot, wait_next_second, wiki_available
from training import promote, retrain_head
from training.sample_images import package_photos, real_flags

pytestmark = pytest.mark.integration

CATEGORIES = {"Flags of countries": ["Flags"], "Photographs of art": ["Art"]}


def _name(stem: str, data: bytes) -> str:
    kind = Image.open(io.BytesIO(data)).format.lower()
    return f"{stem.replace('/', ' ')}.{'jpg' if kind == 'jpeg' else kind}"


@pytest.fixture(scope="module")
def learning_wiki(tmp_path_factory):
    reason = wiki_available()
    if reason:
        pytest.skip(reason)
    flags = real_flags()
    if len(flags) < 100:
        pytest.skip("iso-flags-png-320x240 is not installed")
    base = tmp_path_factory.mktemp("learning-wiki")
    wiki = LocalWiki.start(base / "wiki")
    try:
        client = wiki.client()
        for child, parents in CATEGORIES.items():
            client.edit(f"Category:{child}",
                        "Test category." + "".join(f"[[Category:{p}]]" for p in parents))
        yield wiki, flags, package_photos()
    finally:
        wiki.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_uploads_to_a_promoted_head(learning_wiki, tmp_path):
    wiki, flags, photos = learning_wiki
    items = [(n, b, FLAG_TOPICS) for n, b in list(flags.items())[:200]] + \
        [(n, b, PHOTO_TOPICS) for n, b in photos.items()]
    train, held = items[0::2], items[1::2]
    since = wait_next_second()
    client = wiki.client()
    for name, data, topics in train:
        category = "Flags of countries" if topics == FLAG_TOPICS else "Photographs of art"
        client.upload(_name(name, data), data, [category])

    cwd = tmp_path / "bot"
    cwd.mkdir()
    config = write_bot_config(cwd / "config.toml", wiki.api_url,
                              store={"path": str(cwd / "var" / "bot.sqlite")},
                              report={"page_prefix": "User:Bot/Topics/Learning",
                                      "kill_switch_page": "User:Bot/Run/Learning"})
    env = bot_env(cwd / "pwb", {"localwiki": wiki.port})
    summary = _summary(run_bot(["--once", "--since", since], cwd, env, timeout=600))
    # the local wiki fails to render a thumbnail or so (recorded, retried later)
    assert summary["files_classified"] >= 0.95 * len(train), summary

    store = Store(f"sqlite:///{cwd}/var/bot.sqlite")
    with store.engine.connect() as conn:
        classified = set(conn.execute(select(files_table.c.sha1).where(
            files_table.c.outcome == "classified")).scalars())
    logged = list(store.training_log())
    assert sorted(r.sha1 for r in logged) == sorted(classified)  # one row per image
    assert {tuple(json.loads(r.claimed_topics)) for r in logged} == {FLAG_TOPICS, PHOTO_TOPICS}

    wiki_model = tmp_path / "from-wiki"
    assert retrain_head.main(["--from-store", str(config), "--out", str(wiki_model)]) == 0
    shuffled_dir = tmp_path / "shuffled"
    shuffled_dir.mkdir()
    shuffled = shuffled_dir / "model"
    assert retrain_head.main(["--from-store", str(_log(shuffled_dir, train, shuffle=True)),
                              "--out", str(shuffled)]) == 0
    dev = _dev(tmp_path / "dev", held)
    target = tmp_path / "current"
    assert promote.main([str(shuffled), "--installed", str(wiki_model),
                         "--install-to", str(target), "--dev", str(dev)]) == 1
    assert not target.exists()
    assert promote.main([str(wiki_model), "--installed", str(shuffled),
                         "--install-to", str(target), "--dev", str(dev)]) == 0
    assert (target / "model.json").is_file()
    # the bot's next start with the promoted model records its decision, once
    write_bot_config(cwd / "config.toml", wiki.api_url,
                     store={"path": str(cwd / "var" / "bot.sqlite")},
                     report={"page_prefix": "User:Bot/Topics/Learning",
                             "kill_switch_page": "User:Bot/Run/Learning"},
                     model={"path": str(target)})
    for _ in range(2):
        _summary(run_bot(["--once", "--since", since], cwd, env, timeout=600))
    promotion = store.last_promotion()
    assert promotion.decision == "promoted"
    assert promotion.candidate_version == TopicModel.load(target).version
    assert promotion.report_path == str((target / promote.REPORT).resolve())
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(promotions_table)).scalar_one() == 1

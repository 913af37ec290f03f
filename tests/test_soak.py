"""A short run of the soak (scripts/soak.py) against the real local MediaWiki: uploads
of every kind, random faults of every kind on every request type, thumbnails included,
and SIGKILLed passes; every upload must end up recorded exactly once, sensibly."""

from __future__ import annotations

import importlib.util

import pytest

from tests.wiki_fixtures import REPO

pytestmark = pytest.mark.integration


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak", REPO / "scripts" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_short_soak_loses_duplicates_and_misrecords_nothing(wiki, tmp_path):
    soak = _soak_module()
    summary = soak.soak(wiki, tmp_path, uploads=12, kills=2, fault_rate=0.15, seed=3)
    assert summary["counts"] == {"missing": 0, "duplicated": 0, "wrong": 0}, summary
    assert summary["uploads"] == {"photo": 6, "cut_png": 2, "tiny": 2, "hostile": 2}
    assert sum(summary["outcomes"][kind][o] for kind in summary["uploads"]
               for o in summary["outcomes"][kind]) == 12  # fmt: skip
    # the soak did what it says: kills, faults of several kinds, thumbnails proxied
    assert summary["kills"] == 2
    assert sum(n > 0 for n in summary["faults_injected"].values()) >= 4, summary
    assert summary["thumbnail_requests_during_faults"] > 0

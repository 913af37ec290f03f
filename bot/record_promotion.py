"""`python -m bot.record_promotion`: keep a decision of the promotion gate in the store,
so `bot.status` can say which model is installed and why.

    python -m bot.record_promotion CANDIDATE_DIR/promotion.json --config config.toml

`python -m training.promote` judges a retrained model and writes its report,
promotion.json, beside the candidate (and, when it promotes, inside the installed
copy); training never imports the bot, so the report crosses over as a file. This
command records it: when, the candidate's version, the installed model's version it was
judged against, promoted or refused, the reasons and the key figures (F1 on people's
labels, precision on reviewed suggestions), and the report's path. A report recorded
before is not recorded twice, so running it again, or the bot's start recording the
installed model's report (`record_installed`), is harmless. Exit status: 0 recorded or
already there, 2 a report or configuration that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, find_config
from bot.store import PromotionRecord, Store

log = logging.getLogger(__name__)

REPORT = "promotion.json"  # the name training.promote gives its report
FIGURES = ("reasons", "operating_point", "margin", "judged_on", "reviewed")
SCORES = ("version", "how", "micro_f1", "macro_f1")


def read_report(path: Path) -> PromotionRecord:
    """The decision in a promotion.json; a ValueError says what is wrong with it."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        decided = datetime.fromisoformat(report["at"])
        record = PromotionRecord(
            decided_at=decided.astimezone(UTC).replace(tzinfo=None) if decided.tzinfo
            else decided,
            candidate_version=report["candidate"]["version"],
            installed_version=report["installed"]["version"],
            decision="promoted" if report["promoted"] else "refused",
            figures={key: report.get(key) for key in FIGURES}
            | {side: {k: report[side].get(k) for k in SCORES}
               for side in ("candidate", "installed")},
            report_path=str(path.resolve()),
        )
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot be read: {err}") from None
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as err:
        raise ValueError(f"{path}: not a promotion report of python -m training.promote "
                         f"({type(err).__name__}: {err})") from None
    return record


def record_installed(store: Store, model_dir: Path) -> bool:
    """Record the report a promoted model carries in its directory, once; False when it
    has none, it was recorded before, or it cannot be used (logged: the bot still runs)."""
    report = model_dir / REPORT
    if not report.is_file():
        return False
    try:
        return store.record_promotion(read_report(report))
    except ValueError as err:
        log.warning("the installed model's promotion report is not recorded: %s", err)
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.record_promotion",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a promotion.json of python -m training.promote")
    parser.add_argument("--config", type=Path, help="configuration file (default: ./config.toml)")
    args = parser.parse_args(argv)
    try:
        record = read_report(args.report)
        store = Store(find_config(args.config).store_url())
        new = store.record_promotion(record)
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SQLAlchemyError as err:
        print(f"error: the store cannot be written: {type(err).__name__}: {err}".splitlines()[0],
              file=sys.stderr)
        return 2
    print(f"{'recorded' if new else 'already recorded'}: {record.decision} "
          f"{record.candidate_version} (installed {record.installed_version}) "
          f"at {record.decided_at:%Y-%m-%dT%H:%M:%SZ}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

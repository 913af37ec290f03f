#!/usr/bin/env python3
"""Fill a wiki from scripts/start-local-wiki.sh with something to review.

    .venv/bin/python scripts/seed-local-wiki.py http://127.0.0.1:8080/api.php [--uploads 24]

It creates a small slice of Commons' category tree (the one the integration tests use),
uploads variants of real photographs (scikit-image and scikit-learn samples, each with
its own bytes) by two accounts (Admin and Bot), most in the photo's categories and every
third one with none (for the "needs categories" worklist), and sets the kill-switch page
User:Bot/Run to `true`, so a pass can publish at once. Needs `scripts/setup.sh --full`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import CATEGORY_TREE, UPLOAD_CATEGORIES  # noqa: E402 - repository root first
from tests.wiki_fixtures import ApiClient, sample_images, variant  # noqa: E402

BOT = ("Bot@test", "0123456789abcdef0123456789abcdef")  # start-local-wiki.sh's accounts
ADMIN = ("Admin", "AdminPass-12345")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("api_url", help="the local wiki's api.php")
    parser.add_argument("--uploads", type=int, default=24, help="how many files to upload")
    args = parser.parse_args()
    client, admin = ApiClient(args.api_url), ApiClient(args.api_url)
    client.login(*BOT)
    admin.login(*ADMIN)
    for child, parents in CATEGORY_TREE.items():
        client.edit(
            f"Category:{child}", "Category." + "".join(f"[[Category:{p}]]" for p in parents)
        )
    client.edit("Category:Files with maintenance", "Maintenance. __HIDDENCAT__")
    images = sample_images()
    names = sorted(n for n in images if n.endswith(".jpg"))
    for i in range(args.uploads):
        name = names[i % len(names)]
        categories = [] if i % 3 == 2 else UPLOAD_CATEGORIES[name]
        uploader = admin if i % 2 else client
        uploader.upload(f"{name[:-4]} {i + 1}.jpg", variant(images[name], i), categories)
    client.edit("User:Bot/Run", "true")
    print(f"uploaded {args.uploads} files to {args.api_url}; User:Bot/Run says true")
    return 0


if __name__ == "__main__":
    sys.exit(main())

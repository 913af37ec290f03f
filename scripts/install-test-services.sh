#!/usr/bin/env bash
# Installs the Debian packages that the integration tests run for real: MediaWiki
# (with PHP and ImageMagick) for the bot's tests, MariaDB for the ToolsDB store, Java 17
# for the Spark backfill's local session, Chromium to look at the flags page as a browser
# shows it and, with chromium-driver, to click through the review tool; Fashion-MNIST
# (photo negatives) and Debian's country-flag PNGs (the default model's real-flag check)
# for the model tests.
# Needs root; without it, prints what to install and the integration tests skip.
set -euo pipefail
pkgs=(mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml imagemagick curl mariadb-server dataset-fashion-mnist
      iso-flags-png-320x240 openjdk-17-jre-headless chromium chromium-driver)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "not root: integration tests will skip; to run them: sudo apt-get install ${missing[*]}" >&2
    exit 0
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Starts a throwaway MediaWiki (Debian's package, SQLite, PHP's built-in server) on
# 127.0.0.1 for integration tests and for trying the bot by hand.
#   scripts/start-local-wiki.sh DIR [PORT]    wiki at http://127.0.0.1:PORT/api.php
# DIR is created and holds everything (settings, database, uploads, server.pid, logs);
# nothing under /etc or /var/lib is touched. Stop it with scripts/stop-local-wiki.sh DIR.
# Accounts: Admin / AdminPass-12345 (sysop), and the bot "Bot" with the BotPassword
# Bot@test / 0123456789abcdef0123456789abcdef (BotPasswords allow only [0-9a-w]).
set -euo pipefail
DIR=$(realpath -m "${1:?usage: start-local-wiki.sh DIR [PORT]}")
PORT=${2:-8080}
MW=/usr/share/mediawiki
SERVER="http://127.0.0.1:$PORT"
[ -f "$MW/maintenance/install.php" ] || { echo "MediaWiki not installed at $MW (scripts/install-test-services.sh)" >&2; exit 2; }

mkdir -p "$DIR"/{data,images,tmp,cache}
export MW_INSTALL_PATH="$MW" MW_CONFIG_FILE="$DIR/LocalSettings.php"

php "$MW/maintenance/install.php" --dbtype sqlite --dbpath "$DIR/data" --dbname wikidb \
    --server "$SERVER" --scriptpath '' --lang en --skins Vector \
    --pass 'AdminPass-12345' --confpath "$DIR" "Test Wiki" Admin > "$DIR/install.log"

cat >> "$DIR/LocalSettings.php" <<SETTINGS

# ---- additions for the local integration-test wiki ----
\$wgEnableUploads = true;
\$wgUploadDirectory = "$DIR/images";
\$wgUploadPath = "/images";
\$wgFileExtensions = [ 'png', 'gif', 'jpg', 'jpeg', 'webp' ];
\$wgUseImageMagick = true;
\$wgImageMagickConvertCommand = "/usr/bin/convert";  # a stand-in convert may come first in PATH
\$wgGenerateThumbnailOnParse = true;
\$wgTmpDirectory = "$DIR/tmp";
\$wgCacheDirectory = "$DIR/cache";
\$wgUseInstantCommons = false;
\$wgEnableEmail = false;
\$wgShowExceptionDetails = true;
# as on Wikimedia wikis, the bot group is exempt from edit rate limits (a pass saves ~30 pages)
\$wgGroupPermissions['bot']['noratelimit'] = true;
SETTINGS

php "$MW/maintenance/createAndPromote.php" --bot Bot 'BotPass-12345-abc' > /dev/null
php "$MW/maintenance/createBotPassword.php" --appid test \
    --grants basic,highvolume,editpage,createeditmovepage,uploadfile,uploadeditmovefile,delete \
    Bot 0123456789abcdef0123456789abcdef > /dev/null

cat > "$DIR/router.php" <<'ROUTER'
<?php
// PHP's built-in server: /images/... is served from MW_UPLOAD_DIR (missing thumbnails
// are rendered by thumb_handler.php); everything else is MediaWiki's own entry points.
$path = rawurldecode( parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );
if ( strpos( $path, '/images/' ) !== 0 ) {
	return false;
}
$base = realpath( getenv( 'MW_UPLOAD_DIR' ) );
$file = realpath( $base . substr( $path, strlen( '/images' ) ) );
if ( $file === false || strpos( $file, $base . '/' ) !== 0 || !is_file( $file ) ) {
	if ( strpos( $path, '/images/thumb/' ) === 0 ) {
		require getenv( 'MW_INSTALL_PATH' ) . '/thumb_handler.php';
		return true;
	}
	http_response_code( 404 );
	echo "404 Not Found\n";
	return true;
}
header( 'Content-Type: ' . ( mime_content_type( $file ) ?: 'application/octet-stream' ) );
header( 'Content-Length: ' . filesize( $file ) );
readfile( $file );
return true;
ROUTER

# Started as a plain background command so that $! is php's own PID (not a subshell's).
MW_UPLOAD_DIR="$DIR/images" php -d upload_max_filesize=100M -d post_max_size=100M \
    -S "127.0.0.1:$PORT" -t "$MW" "$DIR/router.php" > "$DIR/server.log" 2>&1 &
echo $! > "$DIR/server.pid"

for _ in $(seq 100); do
    if curl -sf -o /dev/null "$SERVER/api.php?action=query&meta=siteinfo&format=json"; then
        echo "$SERVER/api.php"
        exit 0
    fi
    sleep 0.1
done
echo "wiki did not come up; see $DIR/server.log" >&2
exit 1

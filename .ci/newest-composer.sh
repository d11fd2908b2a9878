#!/usr/bin/env bash
# Provides the newest Composer Debian ships (sid) beside the system's, without touching the system PHP:
# its packages are fetched through a private apt root, unpacked into a folder and run with the system
# PHP. Prints the path of a `composer` wrapper on stdout (the only thing it prints there); progress
# and reasons go to stderr. Exit 0 with a path, or non-zero when it cannot be had (the tests then skip
# the newest-Composer runs, saying why).
#
#   .ci/newest-composer.sh [SUITE]     SUITE defaults to sid; trixie and forky work the same way.
#   NEWEST_COMPOSER_DIR                where the folder is kept between runs
#                                      (default: ${XDG_CACHE_HOME:-$HOME/.cache}/composer-prefetch/newest-composer)
set -euo pipefail

suite=${1:-sid}
base=${NEWEST_COMPOSER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/composer-prefetch/newest-composer}
dir=$base/$suite
wrapper=$dir/bin/composer
log() { printf 'newest-composer: %s\n' "$*" >&2; }

# A folder made by an earlier run is reused as long as its Composer answers.
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  printf '%s\n' "$wrapper"
  exit 0
fi

# One builder at a time: the test processes of one `npm test` ask at once, and a second builder
# would replace the folder under the first one's running Composer. The winner's folder is reused.
if command -v flock >/dev/null; then
  mkdir -p "$base"
  exec 9>"$base/.$suite.lock"
  flock 9
  if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
    printf '%s\n' "$wrapper"
    exit 0
  fi
fi

command -v apt-get >/dev/null || { log "apt-get not found"; exit 3; }
command -v dpkg-deb >/dev/null || { log "dpkg-deb not found"; exit 3; }
command -v php >/dev/null || { log "php not found"; exit 3; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { log "no $keyring"; exit 3; }

# The system's own Debian mirror, for the other suite.
mirror=$(grep -hoE '^(URIs:|deb) *\[?[^]]*\]? *https?://[^ ]+/debian' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian' | head -n 1 || true)
[ -n "$mirror" ] || { log "no Debian mirror in the system's apt sources"; exit 3; }

work=$(mktemp -d "$base.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$base" && mktemp -d "$base/.tmp.XXXXXX"; })
trap 'rm -rf "$work"' EXIT
apt=$work/apt
mkdir -p "$apt"/{state/lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d} "$work/debs" "$work/root"
touch "$apt/state/status"
cat >"$apt/apt.conf" <<CONF
Dir::State "$apt/state"; Dir::State::status "$apt/state/status";
Dir::Cache "$apt/cache"; Dir::Etc::SourceList "$apt/etc/sources.list";
Dir::Etc::SourceParts "$apt/etc/sources.list.d";
Dir::Etc::Preferences "$apt/etc/preferences"; Dir::Etc::PreferencesParts "$apt/etc/preferences.d";
APT::Architecture "amd64"; APT::Architectures { "amd64"; }; Acquire::Languages "none";
APT::Sandbox::User "root";
CONF
echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt/etc/sources.list"
log "reading the $suite package list from $mirror"
apt-get -q -c "$apt/apt.conf" update >&2 || { log "apt-get update for $suite failed"; exit 4; }

# Composer's PHP libraries, walked from `composer` through Depends; the PHP runtime and its
# extensions are the system's (php-cli, php-zip, ...), so the walk stops there.
runtime='^(php[0-9]|php-(cli|common|json|curl|zip|intl|mbstring|xml|readline|opcache|ctype|iconv|tokenizer|dom|simplexml|xmlwriter|phar|posix|sodium|gmp|bcmath|fpm|cgi|apcu|igbinary|msgpack|redis|memcached|mysql|pgsql|sqlite3|gd|imagick|ldap|soap|bz2|xdebug|pcov)$)'
queue=(composer) seen=" " keep=()
while [ ${#queue[@]} -gt 0 ]; do
  p=${queue[0]} queue=("${queue[@]:1}")
  case "$seen" in *" $p "*) continue ;; esac
  seen="$seen$p "
  [[ $p =~ $runtime ]] && continue
  # Only PHP library packages (php-*, jsonlint, composer): ca-certificates, libc and the like are the system's.
  [[ $p == composer || $p == jsonlint || $p == php-* ]] || continue
  keep+=("$p")
  while read -r dep; do queue+=("$dep"); done < <(apt-cache -c "$apt/apt.conf" depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$p" 2>/dev/null |
    sed -nE 's/^ *\|?(Pre)?Depends: <?([a-z0-9.+-]+)>?.*/\2/p')
done
log "downloading ${#keep[@]} packages: ${keep[*]}"
(cd "$work/debs" && apt-get -q -c "$apt/apt.conf" download "${keep[@]}" >&2) || { log "apt-get download failed"; exit 4; }
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done

# Debian's autoload.php files load their neighbours by absolute /usr/share/php paths: pointed at
# the system's folder, Composer would silently run with bookworm's (2.5.5) libraries.
grep -rlF "/usr/share/php/" "$work/root/usr/share/php" --include='*.php' | while read -r f; do
  sed -i "s#'/usr/share/php/#'$dir/root/usr/share/php/#g" "$f"
done
mkdir -p "$work/bin"
cat >"$work/bin/composer" <<WRAP
#!/bin/sh
exec php "$dir/root/usr/bin/composer" "\$@"
WRAP
chmod +x "$work/bin/composer"

rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
rm -rf "$apt"
mv "$work" "$dir"
trap - EXIT
# Nothing of the system's Composer may have been loaded.
version=$("$wrapper" --version 2>/dev/null) || { log "the unpacked Composer does not run"; exit 5; }
if php -r 'require $argv[1]; foreach (get_included_files() as $f) if (str_starts_with($f, "/usr/share/php/")) { fwrite(STDERR, "loaded $f\n"); exit(1); }' "$dir/root/usr/share/php/Composer/autoload.php"; then :; else
  log "the unpacked Composer loads the system's libraries"; exit 5
fi
log "$version"
printf '%s\n' "$wrapper"

#!/bin/sh
# Install the Debian/Ubuntu packages winnow needs to build, if any are
# missing; with --test also what the test suite needs (Node.js and npm, to
# fetch the reference tokenizers the parity tests compare against).  Uses
# sudo when not run as root.
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config make
libzstd-dev zstd libcsv-dev libjansson-dev libxxhash-dev check zlib1g-dev gzip
libssl-dev libpcre2-dev libutf8proc-dev libcld2-dev python3 jq"
if [ "${1:-}" = "--test" ]; then
	# node may come from elsewhere (nvm, nodesource): only install Debian's
	# when there is none
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
		PACKAGES="$PACKAGES nodejs npm"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

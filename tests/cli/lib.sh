# Shared helpers for the CLI tests.  Sourced by each tests/cli/*.sh script;
# the test harness sets WINNOW (the binary) and TOP_SRCDIR.
set -eu

: "${WINNOW:?WINNOW must point at the winnow binary}"
: "${TOP_SRCDIR:?TOP_SRCDIR must point at the source tree}"
SAMPLE_DIR="$TOP_SRCDIR/examples"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/winnow-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"

w() { "$WINNOW" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_exit CODE CMD...: run CMD, require exit status CODE; stderr is
# kept in $TMP/err and stdout in $TMP/out.
expect_exit() {
	want=$1
	shift
	set +e
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "--- stdout" >&2; head -c 2000 "$TMP/out" >&2
		echo "--- stderr" >&2; head -c 2000 "$TMP/err" >&2
		fail "expected exit $want, got $got: $*"
	fi
}

# expect_grep PATTERN FILE: FILE must contain the fixed string PATTERN.
expect_grep() {
	grep -qF -- "$1" "$2" || { echo "--- $2:" >&2; head -c 2000 "$2" >&2; fail "'$1' not in $2"; }
}

# The records of a dataset, decompressed in shard order.
dataset_records() {
	for f in "$1"/data/*.jsonl.zst; do zstd -dcq "$f"; done
}

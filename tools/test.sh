#!/bin/sh
# The whole test suite: unit and CLI tests in a warnings-as-errors build,
# then again in a build with AddressSanitizer and UndefinedBehaviorSanitizer.
#   tools/test.sh            both builds
#   tools/test.sh --fast     the normal build only
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

tools/install-deps.sh --test
autoreconf -fi >/dev/null 2>&1

run_suite() {
	dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --quiet "$@" && make -j"$jobs" --quiet >/dev/null &&
		make -j"$jobs" check) || {
		for log in "$dir"/tests/unit/*.log "$dir"/tests/cli/*.log; do
			[ -f "$log" ] && grep -qE '^(FAIL|ERROR)' "${log%.log}.trs" 2>/dev/null &&
				{ echo "==== $log"; tail -n 60 "$log"; }
		done
		echo "test suite failed in $dir ($*)" >&2
		exit 1
	}
}

echo "== build with -Werror, run the tests"
run_suite build-test --enable-werror
if [ "${1:-}" != "--fast" ]; then
	echo "== build with ASan + UBSan, run the tests"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite build-sanitize --enable-werror --enable-sanitizers
fi
echo "all tests passed"

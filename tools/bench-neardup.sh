#!/usr/bin/env bash
# Near-duplicate detection, measured: precision and recall by Jaccard bucket on a labelled
# corpus made from real text (tools/gen-neardup), through the library directly and through
# `winnow dedup --near --mark`; the speed of MinHash signatures per kernel; the index's
# bytes per kept document.  A report, not a test: it exits 0 whatever the numbers (the
# quality targets are also checked by tests/cli/dedup-near-quality.sh on a small corpus).
#
#   tools/bench-neardup.sh [-b BUILD] [-m MANPAGES] [-i ENTRIES] [-d DIR] [-k]
#
# Sources: examples/sample.jsonl, MANPAGES man pages from /usr/share/man/man1 rendered
# with `man -P cat` (an even spread of the sorted list; default 400), and up to 300
# README, NEWS and changelog files from /usr/share/doc.  Man pages or docs that are not
# installed are skipped.

set -u -o pipefail

usage() {
	cat <<'EOF'
usage: tools/bench-neardup.sh [-b BUILD] [-m MANPAGES] [-i ENTRIES] [-d DIR] [-k]

  -b BUILD     the build directory holding winnow and tools/ (default: the newest
               build*/ with tools/eval-neardup that is not a sanitizer build)
  -m MANPAGES  man pages to render as source text (default 400; 0 for none)
  -i ENTRIES   documents in the index-size measurement (default 2000000; 10000000
               needs about 3 GB of memory)
  -d DIR       work in DIR and keep it (default: a new directory under $TMPDIR)
  -k           keep the scratch directory
EOF
}

build='' manpages=400 entries=2000000 dir='' keep=0
while getopts 'b:m:i:d:kh' opt; do
	case $opt in
	b) build=$OPTARG ;;
	m) manpages=$OPTARG ;;
	i) entries=$OPTARG ;;
	d) dir=$OPTARG keep=1 ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { usage >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '%s\n' "$*" >&2; }
die() { say "bench-neardup: $*"; exit 2; }

if [ -z "$build" ]; then
	for d in "$top"/build*/; do	# the newest usable one
		d=${d%/}
		[ -x "$d/tools/eval-neardup" ] || continue
		grep -qs -e '-fsanitize' "$d/Makefile" && continue
		if [ -z "$build" ] || [ "$d/tools/eval-neardup" -nt "$build/tools/eval-neardup" ]; then
			build=$d
		fi
	done
fi
[ -n "$build" ] || die "no build directory with tools/eval-neardup (run make first, or -b)"
winnow=$build/winnow gen=$build/tools/gen-neardup eval=$build/tools/eval-neardup
for x in "$winnow" "$gen" "$eval"; do [ -x "$x" ] || die "$x is missing"; done

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-neardup.XXXXXX") || die "cannot make a directory"
fi
mkdir -p "$dir/man" || die "cannot make $dir/man"
[ "$keep" = 1 ] || trap 'rm -rf "$dir"' EXIT
cd "$dir" || die "cannot enter $dir"

section() { printf '\n== %s\n' "$*"; }

# --- sources ---------------------------------------------------------------------------

sources=("$top/examples/sample.jsonl")
if [ "$manpages" -gt 0 ] && command -v man >/dev/null && [ -d /usr/share/man/man1 ]; then
	all=$(find /usr/share/man/man1 -type f | LC_ALL=C sort | wc -l)
	step=$(( all / manpages )); [ "$step" -ge 1 ] || step=1
	find /usr/share/man/man1 -type f | LC_ALL=C sort | awk -v s="$step" 'NR % s == 1' |
		head -n "$manpages" >man.list
	say "rendering $(wc -l <man.list) man pages..."
	# shellcheck disable=SC2016
	xargs -P "$(nproc)" -I{} sh -c 'f=$1; b=${f##*/}; MANWIDTH=80 man -l -P cat "$f" \
		>"man/$b.txt" 2>/dev/null || rm -f "man/$b.txt"' sh {} <man.list
	for f in man/*.txt; do [ -s "$f" ] && sources+=("$f"); done
fi
if [ -d /usr/share/doc ]; then
	find /usr/share/doc -type f \( -name 'README*' -o -name 'NEWS*' -o -name 'changelog.gz' \) \
		-size +3k | LC_ALL=C sort | awk 'NR % 3 == 1' | head -n 300 >doc.list
	while IFS= read -r f; do sources+=("$f"); done <doc.list
fi

section "corpus"
"$gen" --seed 1 "${sources[@]}" >corpus.jsonl || die "gen-neardup failed"
printf '%s sources; %s records (%s labelled variants), %s MB\n' "${#sources[@]}" \
	"$(wc -l <corpus.jsonl)" "$(grep -c '"neardup_of"' corpus.jsonl)" \
	"$(( $(wc -c <corpus.jsonl) / 1000000 ))"

# --- quality ---------------------------------------------------------------------------

section "library on the raw text (defaults: words, 5-grams, 14 x 8)"
"$eval" corpus.jsonl

section "winnow dedup --near --mark (default normalisation: datatrove)"
"$winnow" dedup -q --near --mark corpus.jsonl >marked.jsonl || die "winnow dedup failed"
"$eval" corpus.jsonl marked.jsonl

section "winnow dedup --near --preset nemo --mark"
"$winnow" dedup -q --near --preset nemo --mark corpus.jsonl >nemo.jsonl ||
	die "winnow dedup --preset nemo failed"
"$eval" --preset nemo corpus.jsonl nemo.jsonl

# --- speed and memory ------------------------------------------------------------------

section "signatures and index, one core (CPU time, best of 3)"
"$eval" --bench corpus.jsonl
"$eval" --bench --preset nemo corpus.jsonl

section "index memory at $entries documents"
"$eval" --bench-index "$entries"

section "winnow dedup --near --threads 1 (user CPU time, whole stage)"
mb=$(awk -v b="$(wc -c <corpus.jsonl)" 'BEGIN { printf "%.1f", b / 1e6 }')
for norm in none whitespace datatrove; do
	t=$( { /usr/bin/time -f '%U' "$winnow" dedup -q --near --threads 1 --normalize "$norm" \
		corpus.jsonl >/dev/null; } 2>&1 | tail -n 1)
	awk -v n="$norm" -v t="$t" -v mb="$mb" \
		'BEGIN { printf "  --normalize %-10s %6.2f s  %7.1f MB/s of JSONL\n", n, t, mb / t }'
done
printf '\nload average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
exit 0

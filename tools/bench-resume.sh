#!/usr/bin/env bash
# Time `shard --resume` after a kill -9 at 90% of a run, against the full run and against
# a replay of the input alone: a resume should cost the replay (the pipeline reads, filters
# and dedups the whole input again) plus the shards not yet complete, and no more. Checks
# that the resumed dataset is byte-identical to the uninterrupted one. A report, not a
# test: it exits 0 whatever the times (2 when it cannot run, 1 when the bytes differ).
#
#   tools/bench-resume.sh [-s SIZE] [-m SIZE] [-f FRACTION] [-d DIR] [-k]
#
# Environment: WINNOW (the winnow binary), GEN_CORPUS (tools/gen-corpus), BENCH_SOURCE
# (text files to draw words from; default: the text of examples/sample.jsonl).

set -u -o pipefail

usage() {
	cat <<'EOF'
usage: tools/bench-resume.sh [-s SIZE] [-m SIZE] [-f FRACTION] [-d DIR] [-k]

  -s SIZE      corpus size, with a K, M or G suffix (powers of 1024; default 384M)
  -m SIZE      shard --max-size (default 16MiB)
  -f FRACTION  when the run is killed, as a fraction of a full run's time (default 0.9)
  -d DIR       work in DIR and keep it (default: a new directory under $TMPDIR, removed)
  -k           keep the scratch directory

WINNOW names the winnow binary (default ./winnow, then the newest build*/winnow that is
not a sanitizer build); GEN_CORPUS the corpus generator (default: beside winnow, under
tools/); BENCH_SOURCE the word source files for the generator. Needs jq.
EOF
}

size=384M max_size=16MiB fraction=0.9 keep=0 dir=
while getopts 's:m:f:d:kh' opt; do
	case $opt in
	s) size=$OPTARG ;;
	m) max_size=$OPTARG ;;
	f) fraction=$OPTARG ;;
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
die() { say "bench-resume: $*"; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- tools -------------------------------------------------------------------------

sanitized() {	# FILE: whether FILE was built with sanitizers, which would skew every time
	grep -qs -e '-fsanitize' "$(dirname "$1")/Makefile" ||
		grep -qs -e '-fsanitize' "$(dirname "$1")/../Makefile"
}

newest() {	# the most recently modified of the executables given, not sanitizer builds
	local f best=
	for f in "$@"; do
		if [ ! -x "$f" ] || [ -d "$f" ] || sanitized "$f"; then continue; fi
		if [ -z "$best" ] || [ "$f" -nt "$best" ]; then best=$f; fi
	done
	[ -n "$best" ] && printf '%s\n' "$best"
}

winnow=${WINNOW:-}
if [ -z "$winnow" ]; then
	winnow=$(newest ./winnow) || winnow=$(newest "$top"/winnow "$top"/build*/winnow) ||
		die "no winnow binary: build it, or set WINNOW"
fi
[ -x "$winnow" ] || die "$winnow: not an executable"
winnow=$(cd "$(dirname "$winnow")" && pwd)/$(basename "$winnow")
sanitized "$winnow" && say "bench-resume: warning: $winnow is a sanitizer build; its times mean little"
"$winnow" shard --help 2>/dev/null | grep -q -e '--resume' || die "$winnow has no shard --resume"
have jq || die "jq is required"

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/winnow-bench-resume.XXXXXX") ||
		die "cannot make a scratch directory"
else
	mkdir -p "$dir" || die "cannot make $dir"
fi
dir=$(cd "$dir" && pwd)
cleanup() { [ "$keep" = 1 ] || rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

gen=${GEN_CORPUS:-}
[ -n "$gen" ] || gen=$(newest "$(dirname "$winnow")/tools/gen-corpus") || {
	gen=$dir/gen-corpus
	say "compiling tools/gen-corpus.c"
	${CC:-cc} -std=gnu11 -O2 -o "$gen" "$top/tools/gen-corpus.c" ||
		die "cannot compile tools/gen-corpus.c"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# --- the corpus --------------------------------------------------------------------

if [ -n "${BENCH_SOURCE:-}" ]; then
	# shellcheck disable=SC2086 # a list of files
	cat $BENCH_SOURCE >"$dir/source.txt" || die "cannot read BENCH_SOURCE"
else
	jq -r .text "$top/examples/sample.jsonl" >"$dir/source.txt" ||
		die "cannot extract the sample's text"
fi
mkdir -p "$dir/in"
say "generating a $size corpus in $dir"
"$gen" -n "$size" -s 7 "$dir/source.txt" >"$dir/in/a.jsonl" || die "gen-corpus failed"
# Some exact duplicates, for dedup to drop.
head -c $(($(stat -c %s "$dir/in/a.jsonl") / 20)) "$dir/in/a.jsonl" | sed '$d' >"$dir/in/b.jsonl"

cd "$dir" || die "cannot enter $dir"
upstream=(read in then filter --min-words 30 then dedup)
pipeline=("${upstream[@]}" then shard --name bench --max-size "$max_size" -q -o)
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)

# --- full run, replay alone ------------------------------------------------------------

say "a full run: ${pipeline[*]} full"
t0=$(now)
"$winnow" "${pipeline[@]}" full || die "the full run failed"
t1=$(now)
full=$(elapsed "$t0" "$t1")
shards=$(jq '.totals.shards' full/manifest.json)

say "the replay alone: ${upstream[*]} >/dev/null"
t0=$(now)
"$winnow" "${upstream[@]}" -q >/dev/null || die "the replay failed"
t1=$(now)
replay=$(elapsed "$t0" "$t1")

# --- killed at FRACTION, then resumed --------------------------------------------------

delay=$(awk -v t="$full" -v f="$fraction" 'BEGIN { printf "%.3f", t * f }')
for try in 1 2 3; do
	rm -rf res
	say "a run killed after ${delay}s"
	"$winnow" "${pipeline[@]}" res &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -e res/.winnow-journal.jsonl ] && break
	# Finished before the kill (a quieter machine than the first time): earlier.
	delay=$(awk -v d="$delay" 'BEGIN { printf "%.3f", d * 0.8 }')
done
[ -e res/.winnow-journal.jsonl ] || die "could not interrupt a run"
kept=$(grep -c '"type":"shard"' res/.winnow-journal.jsonl)

say "resuming: ${pipeline[*]} res --resume"
t0=$(now)
"$winnow" "${pipeline[@]}" res --resume || die "the resume failed"
t1=$(now)
resume=$(elapsed "$t0" "$t1")
same=yes
diff -r full res >/dev/null || same=NO
load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)

# What a resume should cost: the replay, plus the part of the rest (compression, hashing,
# writing) that falls to the shards redone.
redo=$((shards - kept))
expect=$(awk -v r="$replay" -v f="$full" -v k="$redo" -v n="$shards" \
	'BEGIN { w = f - r; if (w < 0) w = 0; printf "%.2f", r + w * k / n }')

printf '\nresume after a kill at %s of a run (%s corpus, --max-size %s, load %s -> %s)\n' \
	"$fraction" "$size" "$max_size" "$load_start" "$load_end"
printf '  %-44s %8ss\n' "full run" "$full"
printf '  %-44s %8ss  %5s x full\n' "replay of the input alone (no shard stage)" "$replay" \
	"$(ratio "$replay" "$full")"
printf '  %-44s %8ss  %5s x full\n' "resume ($kept of $shards shards kept)" "$resume" \
	"$(ratio "$resume" "$full")"
printf '  %-44s %8ss  %5s x that\n' "replay + the $redo shards redone (expected)" "$expect" \
	"$(ratio "$resume" "$expect")"
printf '  resumed dataset byte-identical to the full run: %s\n' "$same"
[ "$same" = yes ] || exit 1
exit 0

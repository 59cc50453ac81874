#!/usr/bin/env bash
# Time `winnow dedup` against the tools people use instead of it (sha256sum over the file,
# awk '!seen[$0]++'), measure its memory per unique record and its MinHash speed and index
# size, and print the near-duplicate precision/recall table; ratios next to their targets,
# in one run.  A report, not a test: it exits 0 whether or not the targets are met.
#
#   tools/bench-dedup.sh [-s SIZE] [-n RECORDS] [-m SIZE] [-d DIR] [-k] [-r RUNS]
#
# Environment: WINNOW (the winnow binary), GEN_CORPUS, GEN_NEARDUP, EVAL_NEARDUP (the
# generators and the evaluator in tools/), BENCH_SOURCE (text files to draw words from;
# default: the text of examples/sample.*).

set -u -o pipefail

usage() {
	cat <<'EOF'
usage: tools/bench-dedup.sh [-s SIZE] [-n RECORDS] [-m SIZE] [-d DIR] [-k] [-r RUNS]

  -s SIZE     corpus size for exact dedup, with a K, M or G suffix (powers of 1024;
              default 512M)
  -n RECORDS  unique records for the memory measurement (default 10000000)
  -m SIZE     how much of the corpus MinHash is timed on (default 64M)
  -d DIR      work in DIR and keep it (default: a new directory under $TMPDIR, removed)
  -k          keep the scratch directory
  -r RUNS     timed runs per command, after one warm-up run (default 3)

WINNOW names the winnow binary (default ./winnow, then the newest build*/winnow that is
not a sanitizer build); GEN_CORPUS, GEN_NEARDUP and EVAL_NEARDUP the tools (default:
beside winnow, under tools/); BENCH_SOURCE the word source files for the generator.
Needs sha256sum, awk and jq; hyperfine and GNU time are used when present.
EOF
}

size=512M records=10000000 near_size=64M runs=3 keep=0 dir=
while getopts 's:n:m:d:kr:h' opt; do
	case $opt in
	s) size=$OPTARG ;;
	n) records=$OPTARG ;;
	m) near_size=$OPTARG ;;
	d) dir=$OPTARG keep=1 ;;
	k) keep=1 ;;
	r) runs=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { usage >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
seed=1
# the issue's targets
max_ratio_sha=0.5      # winnow time / sha256sum time: at least 2x its throughput
max_ratio_awk=0.5      # winnow time / awk time
max_bytes_per_record=32
min_minhash_mbs=30     # MB/s per core
max_index_per_doc=300  # bytes of --near index per kept document

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-dedup: $*"; exit 2; }
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
sanitized "$winnow" && say "bench-dedup: warning: $winnow is a sanitizer build; its times mean little"
"$winnow" help dedup >/dev/null 2>&1 || die "$winnow has no dedup stage"
bindir=$(dirname "$winnow")

for t in sha256sum awk jq; do have "$t" || die "$t is required"; done
gnu_time=
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then gnu_time=/usr/bin/time; fi

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/winnow-bench-dedup.XXXXXX") ||
		die "cannot make a scratch directory"
else
	mkdir -p "$dir" || die "cannot make $dir"
fi
dir=$(cd "$dir" && pwd)
cleanup() { [ "$keep" = 1 ] || rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

tool() {	# NAME ENVVAR: the tool beside winnow, or compiled from tools/NAME.c when it needs no library
	local name=$1 given=$2 t
	if [ -n "$given" ]; then printf '%s\n' "$given"; return 0; fi
	t=$(newest "$bindir/tools/$name") && { printf '%s\n' "$t"; return 0; }
	return 1
}
gen=$(tool gen-corpus "${GEN_CORPUS:-}") || {
	gen=$dir/gen-corpus
	say "compiling tools/gen-corpus.c"
	${CC:-cc} -std=gnu11 -O2 -o "$gen" "$top/tools/gen-corpus.c" ||
		die "cannot compile tools/gen-corpus.c"
}
gen_near=$(tool gen-neardup "${GEN_NEARDUP:-}") || gen_near=
eval_near=$(tool eval-neardup "${EVAL_NEARDUP:-}") || eval_near=

# --- corpora -----------------------------------------------------------------------

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fsize() { stat -c %s "$1"; }

if [ -n "${BENCH_SOURCE:-}" ]; then
	# shellcheck disable=SC2086 # a list of files
	cat $BENCH_SOURCE >"$dir/source.txt" || die "cannot read BENCH_SOURCE"
else
	{ jq -r .text "$top/examples/sample.jsonl" &&
	  "$winnow" read "$top/examples/sample.csv" | jq -r .text; } >"$dir/source.txt" ||
		die "cannot extract the sample's text"
fi

load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)
say "generating a $size corpus in $dir"
"$gen" -n "$size" -s "$seed" "$dir/source.txt" >"$dir/corpus.jsonl" || die "gen-corpus failed"
# The same seed with a smaller size gives a prefix of whole records.
"$gen" -n "$near_size" -s "$seed" "$dir/source.txt" >"$dir/near.jsonl" || die "gen-corpus failed"
bytes=$(fsize "$dir/corpus.jsonl")
near_bytes=$(fsize "$dir/near.jsonl")
corpus_records=$(wc -l <"$dir/corpus.jsonl")
say "generating $records short unique records"
awk -v n="$records" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"id\":\"u%d\",\"text\":\"unique record number %d of the memory test\"}\n", i, i }' \
	>"$dir/unique.jsonl" || die "cannot write the unique records"

# --- timing ------------------------------------------------------------------------

# time_cmds NAME CMD...: times each CMD and sets the arrays mean and sd (seconds) in the
# same order; returns 1, with the failing command's error in $dir/NAME.err, when one fails.
if have hyperfine; then
	timer="$(hyperfine --version) (--warmup 1 --runs $runs)"
	time_cmds() {
		local name=$1 json=$dir/$1.json i
		local cmds=("${@:2}") args=(--style basic --warmup 1 --runs "$runs")
		mean=() sd=()
		args+=(--export-json "$json")
		for i in "${!cmds[@]}"; do args+=(-n "c$i" "${cmds[$i]}"); done
		if hyperfine "${args[@]}" >"$dir/$name.log" 2>&1; then
			for i in "${!cmds[@]}"; do
				mean+=("$(jq -r ".results[$i].mean" "$json")")
				sd+=("$(jq -r ".results[$i].stddev // 0" "$json")")
			done
			return 0
		fi
		for i in "${!cmds[@]}"; do
			bash -c "${cmds[$i]}" >/dev/null 2>"$dir/$name.err" || return 1
		done
		tail -n 3 "$dir/$name.log" >"$dir/$name.err"
		return 1
	}
else
	timer="date +%s.%N (1 warm-up run, $runs timed runs)"
	time_one() {	# CMD ERRFILE: prints the mean and standard deviation
		local cmd=$1 err=$2 i t0 t1 times=
		for ((i = 0; i <= runs; i++)); do
			t0=$(now)
			bash -c "$cmd" >/dev/null 2>"$err" || return 1
			t1=$(now)
			[ "$i" -gt 0 ] && times="$times $(elapsed "$t0" "$t1")"
		done
		# shellcheck disable=SC2086 # a list of numbers
		printf '%s\n' $times | awk '{ s += $1; ss += $1 * $1; n++ }
			END { m = s / n; v = n > 1 ? (ss - n * m * m) / (n - 1) : 0
			      printf "%.4f %.4f\n", m, (v > 0 ? sqrt(v) : 0) }'
	}
	time_cmds() {
		local name=$1 r
		shift
		mean=() sd=()
		for cmd in "$@"; do
			r=$(time_one "$cmd" "$dir/$name.err") || return 1
			mean+=("${r% *}") sd+=("${r#* }")
		done
	}
fi

rows=()
failed=0 errors=0
# row MEASUREMENT WINNOW PEER RATIO TARGET RESULT
row() {
	rows+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$@")")
	printf '    %s: %s\n' "$1" "$6" >&2
	case $6 in
	FAIL) failed=$((failed + 1)) ;;
	ERROR) errors=$((errors + 1)) ;;
	esac
	return 0
}
fmt_time() { awk -v m="$1" -v s="$2" 'BEGIN { printf "%.3f ±%.3f s", m, s }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f MB/s", b / 1e6 / s }'; }
# ratio_row MEASUREMENT MAX W_MEAN W_SD P_MEAN P_SD: passes when winnow / peer <= MAX
# ("-" for MAX: reported only).
ratio_row() {
	local what=$1 max=$2 ratio result=-
	ratio=$(awk -v w="$3" -v p="$5" 'BEGIN { printf "%.2f", w / p }')
	if [ "$max" != - ]; then
		result=$(awk -v r="$ratio" -v m="$max" 'BEGIN { print ((r <= m) ? "PASS" : "FAIL") }')
		max="<= $max"
	fi
	row "$what" "$(fmt_time "$3" "$4") ($(rate "$bytes" "$3"))" \
		"$(fmt_time "$5" "$6") ($(rate "$bytes" "$5"))" "$ratio" "$max" "$result"
}
failed_rows() {	# NAME MEASUREMENT...: ERROR rows for measurements that could not run
	local name=$1
	shift
	say "    failed: $(head -c 300 "$dir/$name.err" | head -n 3)"
	for what in "$@"; do row "$what" error - - - ERROR; done
}

q() { printf '%q' "$1"; }
W=$(q "$winnow")
C=$(q "$dir/corpus.jsonl")

# --- exact dedup against sha256sum and awk -------------------------------------------

say "timing: exact dedup (none, whitespace; threads 2 and 1), sha256sum, awk"
if time_cmds exact \
	"$W dedup -q --normalize none $C > /dev/null" \
	"$W dedup -q --normalize whitespace $C > /dev/null" \
	"$W dedup -q --threads 1 --normalize none $C > /dev/null" \
	"$W dedup -q --threads 1 --normalize whitespace $C > /dev/null" \
	"sha256sum $C > /dev/null" \
	"awk '!seen[\$0]++' $C > /dev/null"; then
	ratio_row "dedup --normalize none vs sha256sum" $max_ratio_sha \
		"${mean[0]}" "${sd[0]}" "${mean[4]}" "${sd[4]}"
	ratio_row "dedup --normalize whitespace vs sha256sum" $max_ratio_sha \
		"${mean[1]}" "${sd[1]}" "${mean[4]}" "${sd[4]}"
	ratio_row "dedup vs awk '!seen[\$0]++'" $max_ratio_awk \
		"${mean[1]}" "${sd[1]}" "${mean[5]}" "${sd[5]}"
	ratio_row "dedup --threads 1 --normalize none vs sha256sum" - \
		"${mean[2]}" "${sd[2]}" "${mean[4]}" "${sd[4]}"
	ratio_row "dedup --threads 1 --normalize whitespace vs sha256sum" - \
		"${mean[3]}" "${sd[3]}" "${mean[4]}" "${sd[4]}"
	sha_mean=${mean[4]} sha_sd=${sd[4]}
else
	failed_rows exact "dedup --normalize none vs sha256sum" \
		"dedup --normalize whitespace vs sha256sum" "dedup vs awk '!seen[\$0]++'"
	sha_mean=
fi

say "timing: the heavier normalisations"
if [ -n "$sha_mean" ] && time_cmds heavy \
	"$W dedup -q --normalize nfkc-casefold $C > /dev/null" \
	"$W dedup -q --normalize datatrove $C > /dev/null" \
	"$W dedup -q --threads 1 --normalize nfkc-casefold $C > /dev/null" \
	"$W dedup -q --threads 1 --normalize datatrove $C > /dev/null"; then
	ratio_row "dedup --normalize nfkc-casefold vs sha256sum" - \
		"${mean[0]}" "${sd[0]}" "$sha_mean" "$sha_sd"
	ratio_row "dedup --normalize datatrove vs sha256sum" - \
		"${mean[1]}" "${sd[1]}" "$sha_mean" "$sha_sd"
	ratio_row "dedup --threads 1 --normalize nfkc-casefold vs sha256sum" - \
		"${mean[2]}" "${sd[2]}" "$sha_mean" "$sha_sd"
	ratio_row "dedup --threads 1 --normalize datatrove vs sha256sum" - \
		"${mean[3]}" "${sd[3]}" "$sha_mean" "$sha_sd"
else
	failed_rows heavy "dedup --normalize nfkc-casefold" "dedup --normalize datatrove"
fi

# --- memory per unique record ---------------------------------------------------------------

stat_of() {	# STATS-FILE JQ-PATH: a member of the dedup stage's --stats entry
	jq -r ".stages[] | select(.stage == \"dedup\") | $2" "$1"
}

if [ -n "$gnu_time" ]; then
	say "measuring: peak RSS of exact dedup over $records unique records"
	if $gnu_time -v -o "$dir/rss.txt" "$winnow" dedup -q --stats "$dir/rss.json" \
		"$dir/unique.jsonl" >/dev/null 2>"$dir/rss.err"; then
		rss_kb=$(awk -F: '/Maximum resident set size/ { print $2 + 0 }' "$dir/rss.txt")
		per=$(awk -v k="$rss_kb" -v n="$records" 'BEGIN { printf "%.1f", k * 1024 / n }')
		index_per=$(stat_of "$dir/rss.json" '.dedup.index.bytes_per_entry')
		result=$(awk -v p="$per" -v m=$max_bytes_per_record 'BEGIN { print ((p <= m) ? "PASS" : "FAIL") }')
		row "peak RSS per unique record ($records records)" \
			"$per B ($(mib $((rss_kb * 1024))) MiB; table $(printf '%.1f' "$index_per") B/entry)" \
			- - "<= $max_bytes_per_record B" "$result"
	else
		failed_rows rss "peak RSS per unique record"
	fi
else
	row "peak RSS per unique record" - - - "<= $max_bytes_per_record B" "SKIP (no GNU time)"
fi

# --- MinHash ------------------------------------------------------------------------------

N=$(q "$dir/near.jsonl")
say "timing: dedup --near on $(mib "$near_bytes") MiB, threads 1 and 2"
if time_cmds near \
	"$W dedup -q --near --threads 1 $N > /dev/null" \
	"$W dedup -q --near --threads 2 $N > /dev/null"; then
	# per core: one thread; two threads show how the work spreads (on a busy
	# machine the second core may not be free, so that row has no target)
	mbs=$(awk -v b="$near_bytes" -v s="${mean[0]}" 'BEGIN { printf "%.1f", b / 1e6 / s }')
	result=$(awk -v r="$mbs" -v m=$min_minhash_mbs 'BEGIN { print ((r >= m) ? "PASS" : "FAIL") }')
	row "dedup --near --threads 1, MB/s per core" \
		"$(fmt_time "${mean[0]}" "${sd[0]}") ($mbs MB/s)" \
		"datatrove ~1 MB/s per core" - ">= $min_minhash_mbs" "$result"
	mbs=$(awk -v b="$near_bytes" -v s="${mean[1]}" 'BEGIN { printf "%.1f", b / 1e6 / s }')
	speedup=$(awk -v a="${mean[0]}" -v b="${mean[1]}" 'BEGIN { printf "%.2fx", a / b }')
	row "dedup --near --threads 2, MB/s in all" \
		"$(fmt_time "${mean[1]}" "${sd[1]}") ($mbs MB/s, $speedup threads 1)" - - - -
else
	failed_rows near "dedup --near MB/s per core"
fi
rm -f "$dir/near.idx"
if "$winnow" dedup -q --near --index "$dir/near.idx" --stats "$dir/near.json" \
	"$dir/near.jsonl" >/dev/null 2>"$dir/near-index.err"; then
	kept=$(stat_of "$dir/near.json" '.dedup.index.entries')
	mem=$(stat_of "$dir/near.json" '.dedup.index.memory_bytes')
	file=$(fsize "$dir/near.idx")
	per_mem=$(awk -v m="$mem" -v k="$kept" 'BEGIN { printf "%.1f", m / k }')
	per_file=$(awk -v m="$file" -v k="$kept" 'BEGIN { printf "%.1f", m / k }')
	result=$(awk -v r="$per_mem" -v m=$max_index_per_doc 'BEGIN { print ((r <= m) ? "PASS" : "FAIL") }')
	row "--near index memory per kept document ($kept kept)" "$per_mem B" - - \
		"<= $max_index_per_doc B" "$result"
	result=$(awk -v r="$per_file" -v m=$max_index_per_doc 'BEGIN { print ((r <= m) ? "PASS" : "FAIL") }')
	row "--near index file per kept document" "$per_file B" - - "<= $max_index_per_doc B" "$result"
else
	cp "$dir/near-index.err" "$dir/nearidx.err"
	failed_rows nearidx "--near index bytes per kept document"
fi

# --- precision and recall -------------------------------------------------------------------

table=
if [ -n "$gen_near" ] && [ -n "$eval_near" ]; then
	say "measuring: near-duplicate precision and recall (gen-neardup, eval-neardup)"
	head -c 16000000 "$dir/corpus.jsonl" | head -n -1 >"$dir/nd-source.jsonl"
	if "$gen_near" --docs 4000 --seed "$seed" "$top/examples/sample.jsonl" \
		"$dir/nd-source.jsonl" >"$dir/nd.jsonl" 2>"$dir/nd.err" &&
	   "$winnow" dedup -q --near --mark "$dir/nd.jsonl" >"$dir/nd-result.jsonl" 2>>"$dir/nd.err" &&
	   "$eval_near" "$dir/nd.jsonl" "$dir/nd-result.jsonl" >"$dir/nd-table.txt" 2>>"$dir/nd.err"; then
		table=$(cat "$dir/nd-table.txt")
		recall=$(sed -n 's/.*recall at J >= 0.8 (labelled pairs): \([0-9.]*\).*/\1/p' "$dir/nd-table.txt")
		precision=$(sed -n 's/.*precision (dropped with J >= 0.5): \([0-9.]*\).*/\1/p' "$dir/nd-table.txt")
		result=$(awk -v r="$recall" 'BEGIN { print ((r >= 0.90) ? "PASS" : "FAIL") }')
		row "--near recall at word-5-gram Jaccard >= 0.8" "$recall" - - ">= 0.90" "$result"
		result=$(awk -v r="$precision" 'BEGIN { print ((r >= 0.95) ? "PASS" : "FAIL") }')
		row "--near precision (dropped with Jaccard >= 0.5)" "$precision" - - ">= 0.95" "$result"
	else
		cp "$dir/nd.err" "$dir/ndeval.err"
		failed_rows ndeval "--near precision and recall"
	fi
else
	row "--near precision and recall" - - - - "SKIP (no tools/gen-neardup, eval-neardup)"
fi

# --- report ------------------------------------------------------------------------

version() { "$@" 2>/dev/null | head -n 1; }
load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
cat <<EOF

winnow dedup benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)
  machine   $cpu, $(nproc) cores
  winnow    $winnow ($(version "$winnow" version))
  peers     $(version sha256sum --version), awk: $(readlink -f "$(command -v awk)")
  corpus    corpus.jsonl $(mib "$bytes") MiB, $corpus_records records (gen-corpus, all unique);
            MinHash on its first $(mib "$near_bytes") MiB; memory on $records short unique records
  timing    $timer: mean ±standard deviation, warm page cache;
            ratio = winnow time / peer time (MB/s over the corpus in brackets); load average
            $load_start at the start, $load_end at the end (other work makes times noisy)
EOF
echo
{
	printf 'measurement\twinnow\tpeer\tratio\ttarget\tresult\n'
	printf '%s\n' "${rows[@]}"
} | awk -F'\t' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
	END {
		for (r = 1; r <= NR; r++) {
			line = ""
			for (i = 1; i <= 6; i++)
				line = line sprintf(i == 1 ? "%-" w[i] "s" : "  %" w[i] "s",
						    cell[r, i])
			print line
			if (r == 1) { gsub(/./, "-", line); print line }
		}
	}'
if [ -n "$table" ]; then
	echo
	echo "near-duplicate detection, defaults (14 x 8, word 5-grams), on gen-neardup's corpus"
	echo "(4000 documents from examples/sample.jsonl and the corpus, labelled variants):"
	printf '%s\n' "$table" | sed 's/^/  /'
fi
echo
echo "$failed target(s) missed, $errors measurement(s) could not run" \
	"(their errors are in the log above)"
[ "$keep" = 1 ] && echo "files kept in $dir"
exit 0

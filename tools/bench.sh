#!/usr/bin/env bash
# Time winnow against the tools people use instead of it, on one generated corpus, in one
# run, and print the ratios next to their targets.  A report, not a test: it exits 0
# whether or not the targets are met.
#
#   tools/bench.sh [-s SIZE] [-d DIR] [-k] [-r RUNS]
#
# Environment: WINNOW (the winnow binary), GEN_CORPUS (the tools/gen-corpus binary),
# BENCH_SOURCE (text files to draw words from; default: the text of examples/sample.*),
# JQ_PREFIX (how much of the corpus jq is timed on, default 64M).

set -u -o pipefail

usage() {
	cat <<'EOF'
usage: tools/bench.sh [-s SIZE] [-d DIR] [-k] [-r RUNS]

  -s SIZE   corpus size, with a K, M or G suffix (powers of 1024; default 512M)
  -d DIR    work in DIR and keep it (default: a new directory under $TMPDIR, removed)
  -k        keep the scratch directory
  -r RUNS   timed runs per command, after one warm-up run (default 3)

WINNOW names the winnow binary (default ./winnow, then the newest build*/winnow);
GEN_CORPUS the corpus generator (default: beside winnow, else compiled from
tools/gen-corpus.c); BENCH_SOURCE the word source files for the generator; JQ_PREFIX
how much of the corpus jq is timed on (its time is scaled up to the whole corpus).
EOF
}

size=512M runs=3 keep=0 dir=
while getopts 's:d:kr:h' opt; do
	case $opt in
	s) size=$OPTARG ;;
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
jq_prefix=${JQ_PREFIX:-64M}
rss_limit_mb=64

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 2; }

# --- tools -------------------------------------------------------------------------

sanitized() {	# FILE: whether FILE was built with sanitizers, which would skew every time
	grep -qs -e '-fsanitize' "$(dirname "$1")/Makefile"
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
sanitized "$winnow" && say "bench: warning: $winnow is a sanitizer build; its times mean little"

have() { command -v "$1" >/dev/null 2>&1; }
for t in zstd sha256sum jq awk; do have "$t" || die "$t is required"; done
gnu_time=
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then gnu_time=/usr/bin/time; fi

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/winnow-bench.XXXXXX") ||
		die "cannot make a scratch directory"
else
	mkdir -p "$dir" || die "cannot make $dir"
fi
dir=$(cd "$dir" && pwd)
cleanup() { [ "$keep" = 1 ] || rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

gen=${GEN_CORPUS:-}
if [ -z "$gen" ]; then
	gen=$(newest "$(dirname "$winnow")/tools/gen-corpus") || {
		gen=$dir/gen-corpus
		say "compiling tools/gen-corpus.c"
		${CC:-cc} -std=gnu11 -O2 -o "$gen" "$top/tools/gen-corpus.c" ||
			die "cannot compile tools/gen-corpus.c"
	}
fi

# --- corpus ------------------------------------------------------------------------

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fsize() { stat -c %s "$1"; }

if [ -n "${BENCH_SOURCE:-}" ]; then
	# shellcheck disable=SC2086 # a list of files
	cat $BENCH_SOURCE >"$dir/source.txt" || die "cannot read BENCH_SOURCE"
else
	# The sample's text without its JSON and CSV syntax, so the words are prose.
	{ jq -r .text "$top/examples/sample.jsonl" &&
	  if have mlr; then mlr --icsv --ojsonl cut -f text "$top/examples/sample.csv" |
		jq -r .text; fi; } >"$dir/source.txt" || die "cannot extract the sample's text"
fi

load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)
say "generating a $size corpus in $dir"
t0=$(now)
"$gen" -n "$size" -s "$seed" --csv "$dir/corpus.csv" "$dir/source.txt" >"$dir/corpus.jsonl" ||
	die "gen-corpus failed"
t1=$(now)
gen_s=$(elapsed "$t0" "$t1")
jsonl_bytes=$(fsize "$dir/corpus.jsonl")
csv_bytes=$(fsize "$dir/corpus.csv")
# The same seed and source with a smaller size give a prefix of whole records.
"$gen" -n "$jq_prefix" -s "$seed" "$dir/source.txt" >"$dir/prefix.jsonl" || die "gen-corpus failed"
prefix_bytes=$(fsize "$dir/prefix.jsonl")
if [ "$prefix_bytes" -ge "$jsonl_bytes" ]; then
	ln -sf corpus.jsonl "$dir/prefix.jsonl"
	prefix_bytes=$jsonl_bytes
fi
records=$(wc -l <"$dir/corpus.jsonl")
zstd_bytes=$(zstd -3 -T0 -c "$dir/corpus.jsonl" | wc -c)

# --- timing ------------------------------------------------------------------------

# time_cmds NAME PREPARE CMD [PREPARE CMD]...: times each CMD (PREPARE, if not empty, runs
# before each of its runs) and sets the arrays mean and sd (seconds) in the same order;
# returns 1, with the failing command's error in $dir/NAME.err, when one fails.
if have hyperfine; then
	timer="$(hyperfine --version) (--warmup 1 --runs $runs)"
	time_cmds() {
		local name=$1 json=$dir/$1.json i
		local preps=() cmds=() args=(--style basic --warmup 1 --runs "$runs")
		shift
		while [ $# -gt 1 ]; do preps+=("${1:-true}") cmds+=("$2"); shift 2; done
		mean=() sd=()
		args+=(--export-json "$json")
		# hyperfine takes one --prepare for all commands, or one per command.
		for i in "${!cmds[@]}"; do args+=(--prepare "${preps[$i]}"); done
		for i in "${!cmds[@]}"; do args+=(-n "c$i" "${cmds[$i]}"); done
		if hyperfine "${args[@]}" >"$dir/$name.log" 2>&1; then
			for i in "${!cmds[@]}"; do
				mean+=("$(jq -r ".results[$i].mean" "$json")")
				sd+=("$(jq -r ".results[$i].stddev // 0" "$json")")
			done
			return 0
		fi
		# Run each once more to show which one failed, and how.
		for i in "${!cmds[@]}"; do
			bash -c "${preps[$i]}"
			bash -c "${cmds[$i]}" >/dev/null 2>"$dir/$name.err" || return 1
		done
		tail -n 3 "$dir/$name.log" >"$dir/$name.err"
		return 1
	}
else
	timer="date +%s.%N (1 warm-up run, $runs timed runs)"
	time_one() {	# PREPARE CMD ERRFILE: prints the mean and standard deviation
		local prep=$1 cmd=$2 err=$3 i t0 t1 times=
		for ((i = 0; i <= runs; i++)); do
			[ -n "$prep" ] && bash -c "$prep"
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
		while [ $# -gt 1 ]; do
			r=$(time_one "$1" "$2" "$dir/$name.err") || return 1
			mean+=("${r% *}") sd+=("${r#* }")
			shift 2
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

# ratio_row MEASUREMENT MAX W_MEAN W_SD P_MEAN P_SD [P_SCALE]: passes when
# winnow time / (peer time * P_SCALE) <= MAX.
ratio_row() {
	local what=$1 max=$2 scale=${7:-1} w p ratio result
	w=$(awk -v m="$3" -v s="$4" 'BEGIN { printf "%.3f ±%.3f", m, s }')
	p=$(awk -v m="$5" -v s="$6" -v k="$scale" 'BEGIN { printf "%.3f ±%.3f", m * k, s * k }')
	ratio=$(awk -v w="$3" -v p="$5" -v k="$scale" 'BEGIN { printf "%.2f", w / (p * k) }')
	result=$(awk -v r="$ratio" -v m="$max" 'BEGIN { print ((r <= m) ? "PASS" : "FAIL") }')
	row "$what" "$w" "$p" "$ratio" "<= $max" "$result"
}

failed_rows() {	# NAME MAX MEASUREMENT...: ERROR rows for measurements that could not run
	local name=$1 max=$2
	shift 2
	say "    failed: $(head -c 300 "$dir/$name.err" | head -n 3)"
	for what in "$@"; do row "$what" error - - "<= $max" ERROR; done
}

# compare NAME MEASUREMENT MAX PREPARE WINNOW_CMD PEER_CMD [PEER_SCALE]
compare() {
	say "timing: $2"
	if time_cmds "$1" "$4" "$5" "" "$6"; then
		ratio_row "$2" "$3" "${mean[0]}" "${sd[0]}" "${mean[1]}" "${sd[1]}" "${7:-1}"
	else
		failed_rows "$1" "$3" "$2"
	fi
}

q() { printf '%q' "$1"; }
W=$(q "$winnow")
C=$(q "$dir/corpus.jsonl")
CSV=$(q "$dir/corpus.csv")
D1=$dir/D1 D2=$dir/D2

# Both shard runs against one zstd measurement, so their ratios share a baseline.
say "timing: shard --threads 1 and 2 vs zstd -3 -T1"
if time_cmds shard "rm -rf $(q "$D1")" "$W shard --threads 1 -o $(q "$D1") $C" \
	"rm -rf $(q "$D2")" "$W shard --threads 2 -o $(q "$D2") $C" \
	"" "zstd -3 -T1 -c $C > /dev/null"; then
	ratio_row "shard --threads 1 vs zstd -3 -T1" 1.5 \
		"${mean[0]}" "${sd[0]}" "${mean[2]}" "${sd[2]}"
	ratio_row "shard --threads 2 vs zstd -3 -T1" 0.9 \
		"${mean[1]}" "${sd[1]}" "${mean[2]}" "${sd[2]}"
else
	failed_rows shard 1.5 "shard --threads 1 vs zstd -3 -T1" "shard --threads 2 vs zstd -3 -T1"
fi

if [ -f "$D1/manifest.json" ]; then
	compare verify "verify vs sha256sum" 0.5 "" \
		"$W verify $(q "$D1")" "sha256sum $(q "$D1")/data/* > /dev/null"
	compare deep "verify --deep vs zstd -dc" 1.3 "" \
		"$W verify --deep $(q "$D1")" "zstd -dc $(q "$D1")/data/* > /dev/null"
else
	row "verify vs sha256sum" - - - "<= 0.5" "SKIP (no dataset)"
	row "verify --deep vs zstd -dc" - - - "<= 1.3" "SKIP (no dataset)"
fi

jq_scale=$(awk -v a="$jsonl_bytes" -v b="$prefix_bytes" 'BEGIN { printf "%.4f", a / b }')
compare read_jsonl "read jsonl vs jq -c . (jq scaled)" 0.1 "" \
	"$W read $C > /dev/null" "jq -c . $(q "$dir/prefix.jsonl") > /dev/null" "$jq_scale"

if have mlr; then
	compare read_csv "read csv vs mlr --icsv --ojsonl cat" 0.5 "" \
		"$W read $CSV > /dev/null" \
		"env GOMAXPROCS=1 mlr --icsv --ojsonl cat $CSV > /dev/null"
else
	row "read csv vs mlr --icsv --ojsonl cat" - - - "<= 0.5" "SKIP (no mlr)"
fi

# rss NAME MEASUREMENT WINNOW_CMD PEER_CMD: peak resident set sizes, in MiB.
rss_of() {	# CMD ERRFILE: prints the peak RSS in MiB
	local out=$dir/rss.txt
	bash -c "$gnu_time -v -o $(q "$out") $1" >/dev/null 2>"$2" || return 1
	awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$out"
}
rss() {
	local name=$1 what=$2 w p result
	say "measuring: $what"
	if ! w=$(rss_of "$3" "$dir/$name.err"); then
		say "    failed: $(head -c 300 "$dir/$name.err" | head -n 3)"
		row "$what" error - - "< $rss_limit_mb MiB" ERROR
		return 1
	fi
	p=$(rss_of "$4" "$dir/$name.peer.err") || p=error
	result=$(awk -v w="$w" -v m="$rss_limit_mb" 'BEGIN { print ((w < m) ? "PASS" : "FAIL") }')
	row "$what" "$w MiB" "$p MiB" - "< $rss_limit_mb MiB" "$result"
}

if [ -n "$gnu_time" ]; then
	D3=$dir/D3
	rss rss_shard "peak RSS: shard --threads 2 (peer zstd -3)" \
		"$W shard --threads 2 -o $(q "$D3") $C" "zstd -3 -T1 -c $C > /dev/null"
	rm -rf "$D3"
	rss rss_read "peak RSS: read jsonl (peer jq -c .)" \
		"$W read $C > /dev/null" "jq -c . $(q "$dir/prefix.jsonl") > /dev/null"
	rss rss_read_csv "peak RSS: read csv (peer mlr)" \
		"$W read $CSV > /dev/null" \
		"env GOMAXPROCS=1 mlr --icsv --ojsonl cat $CSV > /dev/null"
else
	row "peak RSS" - - - "< $rss_limit_mb MiB" "SKIP (no GNU time)"
fi

# --- report ------------------------------------------------------------------------

version() { "$@" 2>/dev/null | head -n 1; }
load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
peers="zstd $(zstd -V | grep -o 'v[0-9][0-9.]*' | head -n 1), $(version jq --version)"
peers="$peers, $(version mlr --version), $(version sha256sum --version)"
zstd_ratio=$(awk -v a="$jsonl_bytes" -v b="$zstd_bytes" 'BEGIN { printf "%.2f", a / b }')
gen_rate=$(awk -v b="$((jsonl_bytes + csv_bytes))" -v s="$gen_s" \
	'BEGIN { printf "%.0f", b / 1048576 / s }')
cat <<EOF

winnow benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)
  machine   $cpu, $(nproc) cores
  winnow    $winnow ($(version "$winnow" version))
  peers     $peers
  corpus    corpus.jsonl $(mib "$jsonl_bytes") MiB, $records records, \
$((jsonl_bytes / records)) B per record on average, zstd -3 ratio $zstd_ratio;
            corpus.csv $(mib "$csv_bytes") MiB, the same records
  generated in $gen_s s ($gen_rate MiB/s of JSONL and CSV written to disk)
  timing    $timer: mean ±standard deviation, warm page cache;
            ratio = winnow time / peer time; load average $load_start at the start,
            $load_end at the end (other work on the machine makes times noisy)
  jq        timed on the first $(mib "$prefix_bytes") MiB of the corpus, time scaled x$jq_scale

EOF
{
	printf 'measurement\twinnow (s)\tpeer (s)\tratio\ttarget\tresult\n'
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
echo
echo "$failed target(s) missed, $errors measurement(s) could not run" \
	"(their winnow errors are in the log above)"
[ "$keep" = 1 ] && echo "files kept in $dir"
exit 0

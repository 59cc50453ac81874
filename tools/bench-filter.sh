#!/usr/bin/env bash
# Time `winnow filter` on one generated English corpus, in one run, against sha256sum and
# against the same rules written plainly in Python (tools/filter_reference.py), and print
# the ratios next to their targets.  A report, not a test: it exits 0 whether or not the
# targets are met.
#
#   tools/bench-filter.sh [-s SIZE] [-p SIZE] [-d DIR] [-k] [-r RUNS]
#
# Environment: WINNOW (the winnow binary), GEN_CORPUS (the tools/gen-corpus binary),
# BENCH_SOURCE (text files to draw words from; default: the text of examples/sample.jsonl).

set -u -o pipefail

usage() {
	cat <<'EOF'
usage: tools/bench-filter.sh [-s SIZE] [-p SIZE] [-d DIR] [-k] [-r RUNS]

  -s SIZE   corpus size, with a K, M or G suffix (powers of 1024; default 512M)
  -p SIZE   how much of the corpus the Python reference is timed on (default 16M); its
            time is scaled up to the whole corpus
  -d DIR    work in DIR and keep it (default: a new directory under $TMPDIR, removed)
  -k        keep the scratch directory
  -r RUNS   timed runs per command, after one warm-up run (default 3)

WINNOW names the winnow binary (default ./winnow, then the newest build*/winnow that is
not a sanitizer build); GEN_CORPUS the corpus generator (default: beside winnow, else
compiled from tools/gen-corpus.c); BENCH_SOURCE the word source files for the generator.
EOF
}

size=512M py_prefix=16M runs=3 keep=0 dir=
while getopts 's:p:d:kr:h' opt; do
	case $opt in
	s) size=$OPTARG ;;
	p) py_prefix=$OPTARG ;;
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

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-filter: $*"; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }

sanitized() { grep -qs -e '-fsanitize' "$(dirname "$1")/Makefile"; }
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
sanitized "$winnow" && say "bench-filter: warning: $winnow is a sanitizer build; its times mean little"
for t in sha256sum jq awk python3; do have "$t" || die "$t is required"; done

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/winnow-bench-filter.XXXXXX") ||
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

# --- corpus --------------------------------------------------------------------------

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fsize() { stat -c %s "$1"; }

if [ -n "${BENCH_SOURCE:-}" ]; then
	# shellcheck disable=SC2086 # a list of files
	cat $BENCH_SOURCE >"$dir/source.txt" || die "cannot read BENCH_SOURCE"
else
	jq -r .text "$top/examples/sample.jsonl" >"$dir/source.txt" ||
		die "cannot extract the sample's text"
fi
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)
say "generating a $size corpus in $dir"
"$gen" -n "$size" -s "$seed" "$dir/source.txt" >"$dir/corpus.jsonl" || die "gen-corpus failed"
# the same seed and a smaller size give a prefix of whole records
"$gen" -n "$py_prefix" -s "$seed" "$dir/source.txt" >"$dir/prefix.jsonl" || die "gen-corpus failed"
bytes=$(fsize "$dir/corpus.jsonl")
prefix_bytes=$(fsize "$dir/prefix.jsonl")
records=$(wc -l <"$dir/corpus.jsonl")
py_scale=$(awk -v a="$bytes" -v b="$prefix_bytes" 'BEGIN { printf "%.4f", a / b }')
cores=$(nproc 2>/dev/null || echo 1)

# --- timing --------------------------------------------------------------------------

# time_cmds NAME CMD...: times each CMD and sets the arrays mean and sd (seconds of wall
# time) and cpu (mean seconds of CPU time, user and system, of the command and its children)
# in the same order; returns 1, with the failing command's error in $dir/NAME.err, when one
# fails.
if have hyperfine; then
	timer="$(hyperfine --version) (--warmup 1 --runs $runs)"
	time_cmds() {
		local name=$1 json=$dir/$1.json i
		local args=(--style basic --warmup 1 --runs "$runs" --export-json "$json")
		shift
		for i in $(seq 1 $#); do args+=(-n "c$i" "${!i}"); done
		mean=() sd=() cpu=()
		if hyperfine "${args[@]}" >"$dir/$name.log" 2>&1; then
			for ((i = 0; i < $#; i++)); do
				mean+=("$(jq -r ".results[$i].mean" "$json")")
				sd+=("$(jq -r ".results[$i].stddev // 0" "$json")")
				cpu+=("$(jq -r ".results[$i].user + .results[$i].system" "$json")")
			done
			return 0
		fi
		for i in "$@"; do bash -c "$i" >/dev/null 2>"$dir/$name.err" || return 1; done
		tail -n 3 "$dir/$name.log" >"$dir/$name.err"
		return 1
	}
else
	timer="date +%s.%N (1 warm-up run, $runs timed runs)"
	now() { date +%s.%N; }
	# the CPU seconds (user and system) of this shell's children so far, from the output
	# of `times` (which must run in the shell itself, not in a command substitution)
	child_cpu() { awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, "m");
		sub("s", "", t[2]); s += t[1] * 60 + t[2] } print s }' "$1"; }
	time_one() {	# CMD ERRFILE: prints the mean and standard deviation, and the mean CPU
		local i t0 t1 c0 c1 times= cpus=
		for ((i = 0; i <= runs; i++)); do
			times >"$dir/times"
			c0=$(child_cpu "$dir/times")
			t0=$(now)
			bash -c "$1" >/dev/null 2>"$2" || return 1
			t1=$(now)
			times >"$dir/times"
			c1=$(child_cpu "$dir/times")
			[ "$i" -gt 0 ] && times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" &&
				cpus="$cpus $(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
		done
		# shellcheck disable=SC2086 # lists of numbers
		{ printf '%s\n' $times; echo -; printf '%s\n' $cpus; } |
			awk '$1 == "-" { cpu = 1; next } cpu { c += $1; next }
			     { s += $1; ss += $1 * $1; n++ }
			     END { m = s / n; v = n > 1 ? (ss - n * m * m) / (n - 1) : 0
			           printf "%.4f %.4f %.4f\n", m, (v > 0 ? sqrt(v) : 0), c / n }'
	}
	time_cmds() {
		local name=$1 r c
		shift
		mean=() sd=() cpu=()
		for c in "$@"; do
			r=$(time_one "$c" "$dir/$name.err") || return 1
			read -r m d u <<<"$r"
			mean+=("$m") sd+=("$d") cpu+=("$u")
		done
	}
fi

rows=()
failed=0 errors=0
row() {	# MEASUREMENT WINNOW PEER RATIO TARGET RESULT
	rows+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$@")")
	printf '    %s: %s\n' "$1" "$6" >&2
	case $6 in
	FAIL) failed=$((failed + 1)) ;;
	ERROR) errors=$((errors + 1)) ;;
	esac
	return 0
}
secs() { awk -v m="$1" -v s="$2" -v k="${3:-1}" 'BEGIN { printf "%.3f ±%.3f", m * k, s * k }'; }
# ratio_row MEASUREMENT MAX W_MEAN W_SD P_MEAN P_SD [P_SCALE]: passes when
# winnow time / (peer time * P_SCALE) <= MAX; with MAX empty, only shown.
ratio_row() {
	local what=$1 max=$2 scale=${7:-1} ratio result target
	ratio=$(awk -v w="$3" -v p="$5" -v k="$scale" 'BEGIN { printf "%.3f", w / (p * k) }')
	if [ -z "$max" ]; then
		target=- result=-
	else
		target="<= $max"
		result=$(awk -v r="$ratio" -v m="$max" 'BEGIN { print ((r <= m) ? "PASS" : "FAIL") }')
	fi
	row "$what" "$(secs "$3" "$4")" "$(secs "$5" "$6" "$scale")" "$ratio" "$target" "$result"
}
# rate_row MEASUREMENT MIN MEAN SD THREADS: MB/s per thread, passes when >= MIN.
rate_row() {
	local rate result
	rate=$(awk -v b="$bytes" -v m="$3" -v t="$5" 'BEGIN { printf "%.1f", b / 1e6 / m / t }')
	result=$(awk -v r="$rate" -v m="$2" 'BEGIN { print ((r >= m) ? "PASS" : "FAIL") }')
	row "$1" "$(secs "$3" "$4")" - "$rate MB/s" ">= $2 MB/s" "$result"
}
# cpu_row MEASUREMENT MIN CPU: MB per CPU-second (user and system time, all threads: the
# throughput of one core however busy the machine is), passes when >= MIN.
cpu_row() {
	local rate result
	rate=$(awk -v b="$bytes" -v c="$3" 'BEGIN { printf "%.1f", b / 1e6 / c }')
	result=$(awk -v r="$rate" -v m="$2" 'BEGIN { print ((r >= m) ? "PASS" : "FAIL") }')
	row "$1" "$(awk -v c="$3" 'BEGIN { printf "%.3f cpu", c }')" - "$rate MB/s" ">= $2 MB/s" \
		"$result"
}
failed_rows() {	# NAME MEASUREMENT...
	local name=$1
	shift
	say "    failed: $(head -c 300 "$dir/$name.err" | head -n 3)"
	for what in "$@"; do row "$what" error - - - ERROR; done
}

q() { printf '%q' "$1"; }
W=$(q "$winnow")
C=$(q "$dir/corpus.jsonl")
P=$(q "$dir/prefix.jsonl")
REF=$(q "$top/tools/filter_reference.py")
SETS="--gopher-repetition --gopher-quality --c4 --fineweb"

say "timing: filter --min-words 50 vs sha256sum"
if time_cmds words "$W filter --min-words 50 $C > /dev/null" \
	"$W filter --threads 1 --min-words 50 $C > /dev/null" "sha256sum $C > /dev/null"; then
	# 1.5x the throughput of sha256sum is at most 1/1.5 of its time
	ratio_row "filter --min-words 50 vs sha256sum" 0.667 \
		"${mean[0]}" "${sd[0]}" "${mean[2]}" "${sd[2]}"
	ratio_row "filter --threads 1 --min-words 50 vs sha256sum" "" \
		"${mean[1]}" "${sd[1]}" "${mean[2]}" "${sd[2]}"
else
	failed_rows words "filter --min-words 50 vs sha256sum"
fi

say "timing: all four rule sets, --threads 1 and $cores, and the Python reference"
if time_cmds sets "$W filter --threads 1 $SETS $C > /dev/null" \
	"$W filter --threads $cores $SETS $C > /dev/null" \
	"python3 $REF $P > /dev/null"; then
	rate_row "filter, four rule sets, --threads 1 (per core)" 50 "${mean[0]}" "${sd[0]}" 1
	rate_row "filter, four rule sets, --threads $cores (per core)" 50 \
		"${mean[1]}" "${sd[1]}" "$cores"
	cpu_row "filter, four rule sets, --threads 1 (per CPU-second)" 50 "${cpu[0]}"
	cpu_row "filter, four rule sets, --threads $cores (per CPU-second)" 50 "${cpu[1]}"
	# 20x faster is at most 1/20 of its time
	ratio_row "four rule sets --threads 1 vs Python (scaled)" 0.05 \
		"${mean[0]}" "${sd[0]}" "${mean[2]}" "${sd[2]}" "$py_scale"
else
	failed_rows sets "filter, four rule sets" "four rule sets vs Python"
fi

# --- report --------------------------------------------------------------------------

version() { "$@" 2>/dev/null | head -n 1; }
load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
kept=$("$winnow" filter $SETS "$dir/corpus.jsonl" 2>/dev/null | wc -l)
cat <<EOF

winnow filter benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)
  machine   $cpu, $cores cores
  winnow    $winnow ($(version "$winnow" version))
  peers     $(version sha256sum --version), $(version python3 --version)
  corpus    corpus.jsonl $(mib "$bytes") MiB, $records records (gen-corpus, seed $seed);
            the four rule sets keep $kept of them
  timing    $timer: mean ±standard deviation, warm page cache;
            ratio = winnow time / peer time; per core = MB/s divided by threads;
            per CPU-second = MB over the user and system time of all threads;
            load average $load_start at the start, $load_end at the end
  Python    tools/filter_reference.py timed on the first $(mib "$prefix_bytes") MiB, time scaled x$py_scale

EOF
{
	printf 'measurement\twinnow (s)\tpeer (s)\tratio or rate\ttarget\tresult\n'
	printf '%s\n' "${rows[@]}"
} | awk -F'\t' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
	END {
		for (r = 1; r <= NR; r++) {
			line = ""
			for (i = 1; i <= 6; i++)
				line = line sprintf(i == 1 ? "%-" w[i] "s" : "  %" w[i] "s", cell[r, i])
			print line
			if (r == 1) { gsub(/./, "-", line); print line }
		}
	}'
echo
echo "$failed target(s) missed, $errors measurement(s) could not run"
[ "$keep" = 1 ] && echo "files kept in $dir"
exit 0

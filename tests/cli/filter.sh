# filter: the plain rules, kept bytes, rejects, stats, annotations, errors,
# threads and the pipe and then forms.
. "$TOP_SRCDIR/tests/cli/lib.sh"

command -v jq >/dev/null || { echo "SKIP: jq is needed (tools/install-deps.sh installs it)" >&2; exit 77; }

S="$SAMPLE_DIR/sample.jsonl"

# --help and the docs page show the same synopsis
expect_exit 0 w filter --help
expect_grep "usage: winnow filter" "$TMP/out"
for opt in --min-words --field --regex --rejects --annotate --gopher-quality --c4 --fineweb \
	--sample --lang --gopher-max-dup-5gram --c4-no-terminal-punct; do
	expect_grep "$opt" "$TMP/out"
done
head -1 "$TMP/out" | sed 's/^usage: //' >synopsis
grep -qF -- "$(cat synopsis)" "$TOP_SRCDIR/docs/winnow-filter.md" ||
	fail "docs/winnow-filter.md does not show: $(cat synopsis)"
expect_exit 0 w help
expect_grep "filter" "$TMP/out"

cat >in.jsonl <<'EOF'
{"id":"a", "text":"one two three","metadata":{"lang":"en","n":1.50,"tags":["x"]}}
{"id":"b","text":"one, two; three four five.\nsecond line","metadata":{"lang":"fr"}}
{"id":"c","text":"","metadata":{"lang":"en","deep":{"k":"v"}}}
{"id":"d","text":"  \t\n  ","score":null}
{"id":"e","text":"\u00e9t\u00e9 \u4f60\u597d \u041f\u0440\u0438\u0432\u0435\u0442 mir","metadata":{}}
EOF
ids() { jq -r .id "$1" | tr '\n' ' '; }

# word, character and line bounds; kept records keep their bytes
expect_exit 0 w filter --min-words 3 in.jsonl
grep -F '{"id":"a", "text":"one two three","metadata":{"lang":"en","n":1.50,"tags":["x"]}}' \
	"$TMP/out" >/dev/null || fail "record a lost its bytes"
[ "$(ids "$TMP/out")" = "a b e " ] || fail "--min-words 3: $(ids "$TMP/out")"
expect_exit 0 w filter --min-words 4 in.jsonl
[ "$(ids "$TMP/out")" = "b e " ] || fail "--min-words 4: $(ids "$TMP/out")"
expect_exit 0 w filter --max-words 0 in.jsonl
[ "$(ids "$TMP/out")" = "c d " ] || fail "--max-words 0: $(ids "$TMP/out")"
# characters are code points: "été 你好 Привет mir" is 17
expect_exit 0 w filter --min-chars 17 --max-chars 17 in.jsonl
[ "$(ids "$TMP/out")" = "e " ] || fail "--min/max-chars 17: $(ids "$TMP/out")"
expect_exit 0 w filter --min-lines 2 in.jsonl
[ "$(ids "$TMP/out")" = "b d " ] || fail "--min-lines 2: $(ids "$TMP/out")"
expect_exit 0 w filter --max-lines 0 in.jsonl
[ "$(ids "$TMP/out")" = "c " ] || fail "--max-lines 0: $(ids "$TMP/out")"

# fields: dotted paths, strings by value, other values by their JSON
expect_exit 0 w filter --field metadata.lang=en in.jsonl
[ "$(ids "$TMP/out")" = "a c " ] || fail "--field: $(ids "$TMP/out")"
expect_exit 0 w filter --field metadata.lang=en --field metadata.n=1.50 in.jsonl
[ "$(ids "$TMP/out")" = "a " ] || fail "two --field: $(ids "$TMP/out")"
expect_exit 0 w filter --field metadata.deep.k=v in.jsonl
[ "$(ids "$TMP/out")" = "c " ] || fail "--field deep: $(ids "$TMP/out")"
expect_exit 0 w filter --field-not metadata.lang=en in.jsonl
[ "$(ids "$TMP/out")" = "b d e " ] || fail "--field-not: $(ids "$TMP/out")"
expect_exit 0 w filter --has-field score in.jsonl
[ "$(ids "$TMP/out")" = "d " ] || fail "--has-field null: $(ids "$TMP/out")"
expect_exit 0 w filter --has-field metadata.tags --has-field id in.jsonl
[ "$(ids "$TMP/out")" = "a " ] || fail "--has-field: $(ids "$TMP/out")"

# regular expressions (PCRE2, Unicode), on the text or on a field
expect_exit 0 w filter --regex '^one\b' in.jsonl
[ "$(ids "$TMP/out")" = "a b " ] || fail "--regex: $(ids "$TMP/out")"
expect_exit 0 w filter --regex '\p{Han}' in.jsonl
[ "$(ids "$TMP/out")" = "e " ] || fail "--regex Han: $(ids "$TMP/out")"
expect_exit 0 w filter --exclude-regex '(?i)ONE|^\s*$' in.jsonl
[ "$(ids "$TMP/out")" = "e " ] || fail "--exclude-regex: $(ids "$TMP/out")"
expect_exit 0 w filter --regex-field metadata.lang --regex '^f' in.jsonl
[ "$(ids "$TMP/out")" = "b " ] || fail "--regex-field: $(ids "$TMP/out")"
expect_exit 0 w filter --regex-field metadata.lang --exclude-regex '^f' in.jsonl
[ "$(ids "$TMP/out")" = "a c d e " ] || fail "--regex-field exclude: $(ids "$TMP/out")"

# usage errors name the problem (exit 2)
expect_exit 2 w filter --regex 'a(b' in.jsonl
expect_grep "winnow: filter: --regex: invalid pattern at offset 3: missing closing parenthesis" "$TMP/err"
expect_exit 2 w filter --exclude-regex '[z-a]' in.jsonl
expect_grep "--exclude-regex: invalid pattern at offset" "$TMP/err"
expect_exit 2 w filter --field metadata.lang in.jsonl
expect_grep "--field: expected NAME=VALUE, got 'metadata.lang'" "$TMP/err"
expect_exit 2 w filter --has-field 'a..b' in.jsonl
expect_grep "--has-field: 'a..b' is not a field name" "$TMP/err"
expect_exit 2 w filter --min-words many in.jsonl
expect_grep "--min-words: expected a number (or off), got 'many'" "$TMP/err"
expect_exit 2 w filter --gopher-min-words 10 in.jsonl
expect_grep "--gopher-min-words needs --gopher-quality" "$TMP/err"
expect_exit 2 w filter --c4-no-policy in.jsonl
expect_grep "--c4-no-policy needs --c4" "$TMP/err"
expect_exit 2 w filter --sample 1.5 in.jsonl
expect_grep "--sample: expected a rate from 0 to 1, got '1.5'" "$TMP/err"
expect_exit 2 w filter --annotate --rejects r.jsonl in.jsonl
expect_grep "--annotate keeps every record" "$TMP/err"
expect_exit 2 w filter --regex-field x in.jsonl
expect_grep "--regex-field needs --regex" "$TMP/err"

# data errors name the file and line (exit 1); records before it came out
printf '{"text":"fine words here"}\n{"body":"no text"}\n' >bad.jsonl
expect_exit 1 w filter --min-words 1 bad.jsonl
expect_grep "winnow: filter: bad.jsonl:2: no field 'text'" "$TMP/err"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "the record before the error is missing"
printf '{"text":["not","a","string"]}\n' >bad2.jsonl
expect_exit 1 w filter --min-chars 1 bad2.jsonl
expect_grep "bad2.jsonl:1: field 'text' is not a string" "$TMP/err"
printf '{"text":"x","metadata":"flat"}\n' >bad3.jsonl
expect_exit 1 w filter --min-chars 5 --rejects r.jsonl bad3.jsonl
expect_grep "bad3.jsonl:1: field 'metadata' is not an object" "$TMP/err"
# a predicate on fields alone needs no text
expect_exit 0 w filter --has-field body bad.jsonl
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "--has-field body"

# --text-field
printf '{"body":"one two"}\n{"body":"one"}\n' >body.jsonl
expect_exit 0 w filter --text-field body --min-words 2 body.jsonl
[ "$(cat "$TMP/out")" = '{"body":"one two"}' ] || fail "--text-field: $(cat "$TMP/out")"

# rejects: every dropped record once, with the first failing rule's name;
# kept and rejected together hold every input record exactly once
for i in 1 2 3 4; do cat "$S"; done >big.jsonl
w filter --gopher-repetition --gopher-quality --c4 --fineweb --min-chars 200 \
	--rejects rej.jsonl --stats st.json big.jsonl >kept.jsonl
n_in=$(wc -l <big.jsonl)
n_kept=$(wc -l <kept.jsonl)
n_rej=$(wc -l <rej.jsonl)
[ $((n_kept + n_rej)) -eq "$n_in" ] || fail "kept $n_kept + rejected $n_rej != $n_in"
[ "$n_rej" -gt 0 ] && [ "$n_kept" -gt 0 ] || fail "expected both kept and rejected records"
{ jq -r '.id' kept.jsonl; jq -r '.id' rej.jsonl; } | sort >got.ids
jq -r '.id' big.jsonl | sort >want.ids
cmp got.ids want.ids || fail "kept + rejects do not hold every input record exactly once"
jq -e 'select(.metadata.reject_reason == null)' rej.jsonl >/dev/null &&
	fail "a reject without metadata.reject_reason"
jq -r .metadata.reject_reason rej.jsonl | sort -u >reasons
expect_grep "c4_too_few_sentences" reasons
expect_grep "min_chars" reasons
# rejected records keep their text as read (C4 rewrites only what it keeps)
jq -c 'del(.metadata.reject_reason)' rej.jsonl | sort >rej.stripped
jq -c . big.jsonl | sort >big.sorted
comm -23 rej.stripped big.sorted >not-input
[ ! -s not-input ] || fail "a rejected record is not the input record: $(head -c 300 not-input)"
# stats: records in and out, dropped per reason, agreeing with the rejects
jq -e --argjson n "$n_in" --argjson k "$n_kept" --argjson r "$n_rej" \
	'.stages[] | select(.stage == "filter") | .records_in == $n and .records_out == $k and
	 .dropped == $r and ([.dropped_by_reason[]] | add) == $r and
	 ([.failed_by_rule[]] | add) == $r' st.json >/dev/null ||
	fail "stats disagree: $(cat st.json)"
c4=$(jq -r '.metadata.reject_reason' rej.jsonl | grep -c '^c4_too_few_sentences$')
jq -e --argjson c "$c4" '.stages[] | select(.stage == "filter") |
	.dropped_by_reason.c4_too_few_sentences == $c' st.json >/dev/null ||
	fail "stats: c4_too_few_sentences is not $c4"

# --annotate keeps everything and agrees with the decisions: the records it
# marks keep are those kept, and the reason is the reject reason
w filter --annotate --gopher-repetition --gopher-quality --c4 --fineweb --min-chars 200 \
	big.jsonl >ann.jsonl
[ "$(wc -l <ann.jsonl)" -eq "$n_in" ] || fail "--annotate dropped records"
jq -r 'select(.metadata.filter.keep) | .id' ann.jsonl | sort >ann.kept
jq -r '.id' kept.jsonl | sort >kept.ids
cmp ann.kept kept.ids || fail "--annotate keep differs from the kept records"
jq -r 'select(.metadata.filter.keep | not) | "\(.id) \(.metadata.filter.reason)"' ann.jsonl |
	sort >ann.reasons
jq -r '"\(.id) \(.metadata.reject_reason)"' rej.jsonl | sort >rej.reasons
cmp ann.reasons rej.reasons || fail "--annotate reasons differ from the reject reasons"
# each rule's verdict follows from its value and the default threshold,
# and the reason is the first rule that failed
jq -e 'all(.metadata.filter; (.reason == null) == (all(.rules[]; .pass)))' ann.jsonl \
	>/dev/null || fail "keep does not follow from the verdicts"
jq -e 'all(.metadata.filter.rules;
	(.gopher_short_doc | .pass == (.value >= 50)) and
	(.gopher_enough_stop_words | .pass == (.value >= 2)) and
	(.gopher_top_2_gram | .value == null or (.pass == (.value <= 0.2))) and
	(.gopher_duplicated_5_n_grams | .value == null or (.pass == (.value <= 0.15))) and
	(.c4_too_few_sentences | .pass == (.value >= 5)) and
	(.fineweb_line_punct_ratio | .value == null or (.pass == (.value >= 0.12))) and
	(.min_chars | .pass == (.value >= 200)))' ann.jsonl >/dev/null ||
	fail "a verdict does not follow from its value"
jq -e 'all(.metadata.filter; .reason == null or
	(.reason as $r | [.rules | to_entries[] | select(.value.pass | not) | .key][0] == $r))' \
	ann.jsonl >/dev/null || fail "the reason is not the first rule that failed"

# C4 rewrites the kept text to its lines; a record C4 leaves alone keeps its bytes
printf '%s\n' '{"id":"x","text":"First line is kept here. Second sentence too.\nno punctuation at all\nThird one is here. Fourth one here. Fifth one here.","n":1.0}' >c4.jsonl
expect_exit 0 w filter --c4 c4.jsonl
[ "$(cat "$TMP/out")" = '{"id":"x","text":"First line is kept here. Second sentence too.\nThird one is here. Fourth one here. Fifth one here.","n":1.0}' ] ||
	fail "--c4 rewrite: $(cat "$TMP/out")"
expect_exit 0 w filter --c4 --c4-no-terminal-punct --c4-min-sentences 1 c4.jsonl
cmp "$TMP/out" c4.jsonl || fail "--c4 changed a record it keeps whole"
expect_exit 0 w filter --c4 --c4-min-sentences off --c4-min-words-per-line 4 c4.jsonl
expect_grep '"text":"First line is kept here. Second sentence too.\nThird one is here. Fourth one here. Fifth one here."' "$TMP/out"

# every threshold is its own option; "off" turns a rule off
expect_exit 0 w filter --gopher-quality --gopher-min-words off --gopher-min-stop-words 0 \
	--gopher-min-alpha-words off --gopher-min-mean-word-length 2 in.jsonl
[ "$(ids "$TMP/out")" = "a b c d e " ] || fail "thresholds off: $(ids "$TMP/out")"
expect_exit 0 w filter --gopher-quality --gopher-min-words 4 --gopher-min-alpha-words off \
	--gopher-min-stop-words 1 --gopher-stop-words one,two in.jsonl
[ "$(ids "$TMP/out")" = "b " ] || fail "--gopher-min-words 4: $(ids "$TMP/out")"
expect_exit 0 w filter --fineweb --fineweb-max-short-lines off --fineweb-min-punct-lines off \
	--fineweb-max-newline-ratio 1 in.jsonl
[ "$(ids "$TMP/out")" = "a b e " ] || fail "--fineweb thresholds: $(ids "$TMP/out")"

# threads do not change the bytes; pipe and then forms agree; pipeline file
args="--gopher-repetition --gopher-quality --c4 --fineweb --min-words 5"
for t in 1 2 3; do
	# shellcheck disable=SC2086
	w filter --threads $t $args big.jsonl >t$t.jsonl
done
cmp t1.jsonl t2.jsonl || fail "--threads 1 and 2 differ"
cmp t1.jsonl t3.jsonl || fail "--threads 1 and 3 differ"
# shellcheck disable=SC2086
w read big.jsonl then filter $args >then.jsonl
cmp t1.jsonl then.jsonl || fail "then form differs"
# shellcheck disable=SC2086
w read big.jsonl | w filter $args >pipe.jsonl
cmp t1.jsonl pipe.jsonl || fail "pipe form differs"
printf 'read big.jsonl\nfilter %s\n' "$args" >p.wn
w run p.wn >run.jsonl
cmp t1.jsonl run.jsonl || fail "pipeline file differs"
# an error in the second batch, with threads: what came before it comes out
cat big.jsonl big.jsonl | sed '1000s/"text"/"body"/' >badbig.jsonl
for t in 1 2 3; do
	expect_exit 1 w filter --threads "$t" --min-words 1 badbig.jsonl
	expect_grep "badbig.jsonl:1000: no field 'text'" "$TMP/err"
	[ "$(wc -l <"$TMP/out")" -eq 999 ] || fail "--threads $t: not 999 records before the error"
done

# a reader that goes away ends the run quietly
w filter --min-words 1 big.jsonl | head -1 >/dev/null
# a rejects file that cannot be written is an I/O error
expect_exit 3 w filter --min-words 1000 --rejects /nonexistent/dir/r.jsonl in.jsonl
expect_grep "/nonexistent/dir/r.jsonl" "$TMP/err"
if [ -w /dev/full ]; then
	expect_exit 3 w filter --min-words 1000 --rejects /dev/full big.jsonl
	expect_grep "/dev/full" "$TMP/err"
fi

# --lang (CLD2): English kept, French and Chinese dropped; the guess goes
# into the metadata either way
cat >lang.jsonl <<'EOF'
{"id":"en","text":"The committee will meet again next week to discuss the budget for the coming year and the plans for the new school building."}
{"id":"fr","text":"Le comité se réunira de nouveau la semaine prochaine pour discuter du budget de l'année à venir et des projets du nouveau bâtiment scolaire."}
{"id":"zh","text":"委员会将于下周再次开会，讨论来年的预算以及新教学楼的计划。这个计划已经讨论了很长时间。"}
EOF
if w filter --lang en lang.jsonl >lang.out 2>lang.err; then
	[ "$(ids lang.out)" = "en " ] || fail "--lang en: $(ids lang.out)"
	jq -e 'select(.id == "en") | .metadata.language == "en" and .metadata.language_score > 0.9' \
		lang.out >/dev/null || fail "--lang metadata: $(cat lang.out)"
	expect_exit 0 w filter --lang fr,zh --rejects lrej.jsonl lang.jsonl
	[ "$(ids "$TMP/out")" = "fr zh " ] || fail "--lang fr,zh: $(ids "$TMP/out")"
	jq -e 'select(.id == "en") | .metadata.language == "en" and
		.metadata.reject_reason == "language"' lrej.jsonl >/dev/null ||
		fail "--lang rejects: $(cat lrej.jsonl)"
	expect_exit 0 w filter --lang en --lang-threshold 0.999 lang.jsonl
	[ ! -s "$TMP/out" ] || fail "--lang-threshold 0.999 kept $(ids "$TMP/out")"
else
	expect_grep "built without CLD2" lang.err
	echo "note: this build has no CLD2; --lang checked for its error only" >&2
fi

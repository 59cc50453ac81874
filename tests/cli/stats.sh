# stats: counts cross-checked with jq, Python and filter's own measurements; --json keys;
# datasets (JSONL and token shards) split by split; token ids; languages; errors; empty input.
. "$TOP_SRCDIR/tests/cli/lib.sh"

command -v jq >/dev/null || { echo "SKIP: jq is needed (tools/install-deps.sh installs it)" >&2; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed" >&2; exit 77; }

S="$SAMPLE_DIR/sample.jsonl"
j() { jq -r "$1" "$TMP/out"; }
# same NAME WANT GOT
same() { [ "$2" = "$3" ] || fail "$1: expected $2, got $3"; }

# --- the sample, against an independent count ------------------------------------------

expect_exit 0 w stats --json "$S"
cp "$TMP/out" sample.json
python3 - "$S" >want.txt <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
texts = [r["text"] for r in recs]
fields = {}
for r in recs:
    for k in set(r) | {"metadata." + m for m in (r.get("metadata") or {})}:
        fields[k] = fields.get(k, 0) + 1
chars = sorted(len(t) for t in texts)
print("records", len(recs))
print("text_bytes", sum(len(t.encode()) for t in texts))
print("characters", sum(chars))
print("lines", sum(len(t.splitlines()) for t in texts))
print("min", chars[0])
print("max", chars[-1])
print("mean", sum(chars) / len(chars))
for k in sorted(fields):
    print("field", k, fields[k])
PY
want() { sed -n "s/^$1 //p" want.txt; }
same records "$(want records)" "$(j .records)"
same bytes "$(wc -c <"$S" | tr -d ' ')" "$(j .bytes)"
same file_bytes "$(wc -c <"$S" | tr -d ' ')" "$(j .file_bytes)"
same text_bytes "$(want text_bytes)" "$(j .text_bytes)"
same characters "$(want characters)" "$(j .characters)"
same lines "$(want lines)" "$(j .lines)"
same "characters min" "$(want min)" "$(j .characters_per_record.min)"
same "characters max" "$(want max)" "$(j .characters_per_record.max)"
python3 -c "import sys; assert abs(float(sys.argv[1]) - float(sys.argv[2])) < 1e-6" \
	"$(want mean)" "$(j .characters_per_record.mean)" || fail "characters mean"
jq -r '.fields | to_entries[] | "field \(.key) \(.value)"' "$TMP/out" | sort >got-fields.txt
grep '^field ' want.txt | sort | cmp - got-fields.txt || fail "field counts differ"
same inputs 1 "$(j .inputs)"
same tokens 0 "$(j .tokens)"
same no_text 0 "$(j .records_without_text)"

# words and lines as filter measures them: the sums of its annotations, and the
# histogram's counts below a bin edge are what --min-words drops
w filter --annotate --min-words 0 --min-lines 0 --min-chars 0 "$S" >annotated.jsonl
same words "$(jq -s '[.[].metadata.filter.rules.min_words.value] | add' annotated.jsonl)" "$(j .words)"
same "lines (filter)" "$(jq -s '[.[].metadata.filter.rules.min_lines.value] | add' annotated.jsonl)" "$(j .lines)"
same "characters (filter)" "$(jq -s '[.[].metadata.filter.rules.min_chars.value] | add' annotated.jsonl)" "$(j .characters)"
for edge in 64 128 256; do
	below=$(jq "[.words_per_record.histogram[] | select(.hi <= $edge) | .count] | add // 0" "$TMP/out")
	kept=$(w filter --min-words "$edge" "$S" | wc -l | tr -d ' ')
	same "records below $edge words" "$below" "$(( $(want records) - kept ))"
done
# quartiles: exact below 1024, within 0.1% above (numpy's linear method)
python3 - "$S" "$TMP/out" <<'PY' || fail "quartiles"
import json, sys
chars = sorted(len(json.loads(l)["text"]) for l in open(sys.argv[1], encoding="utf-8"))
got = json.load(open(sys.argv[2]))["characters_per_record"]
def q(v, p):
    h = (len(v) - 1) * p; k = int(h)
    return v[k] + (h - k) * (v[k + 1] - v[k]) if k + 1 < len(v) else v[k]
for key, p in (("p25", .25), ("median", .5), ("p75", .75)):
    want = q(chars, p)
    assert abs(got[key] - want) <= want / 1024 + 1e-9, (key, got[key], want)
PY
# the histogram holds every record
same "histogram total" "$(j .records)" "$(jq '[.characters_per_record.histogram[].count] | add' "$TMP/out")"

# every documented key
for k in format version inputs records records_skipped bytes file_bytes text_bytes characters \
	words lines tokens records_without_text records_with_tokens shards characters_per_record \
	words_per_record tokens_per_record languages languages_untracked fields fields_untracked \
	splits datasets; do
	jq -e "has(\"$k\")" "$TMP/out" >/dev/null || fail "--json has no '$k'"
done
for k in count min p25 median p75 mean max histogram; do
	jq -e ".words_per_record | has(\"$k\")" "$TMP/out" >/dev/null || fail "no words_per_record.$k"
done
same format winnow-stats "$(j .format)"

# the tables say the same
expect_exit 0 w stats "$S"
grep -Eq "^records +$(want records)\$" "$TMP/out" || fail "text: records"
grep -Eq "^characters +$(want characters)\$" "$TMP/out" || fail "text: characters"
expect_grep "characters per record" "$TMP/out"
expect_grep "words per record" "$TMP/out"
grep -Eq '^metadata\.year +236 +100\.0%$' "$TMP/out" || fail "text: fields"
grep -q $'\033' "$TMP/out" && fail "escape sequences in piped output"
# --bins bounds the rows of each histogram
w stats --bins 4 "$S" | sed -n '/^characters per record/,/^$/p' | grep -c '%$' >rows
[ "$(cat rows)" -le 4 ] || fail "--bins 4 gave $(cat rows) rows"

# standard input, compressed input, threads: the same counts
w stats --json <"$S" | jq 'del(.file_bytes)' >stdin.json
jq 'del(.file_bytes)' sample.json | cmp - stdin.json || fail "stdin differs"
zstd -q -c "$S" >s.jsonl.zst
gzip -c "$S" >s.jsonl.gz
for f in s.jsonl.zst s.jsonl.gz; do
	w stats --json "$f" | jq 'del(.file_bytes)' | cmp - stdin.json || fail "$f differs"
done
for i in 1 2 3 4 5 6 7 8; do cat "$S"; done >big.jsonl
w stats --json --threads 1 big.jsonl >t1.json
w stats --json --threads 3 big.jsonl >t3.json
cmp t1.json t3.json || fail "--threads changes the report"
same "8 x records" "$((8 * $(want records)))" "$(jq .records t1.json)"

# CSV: records and bytes are those of the JSONL that read makes
w read "$SAMPLE_DIR/sample.csv" >csv.jsonl
w stats --json "$SAMPLE_DIR/sample.csv" | jq 'del(.file_bytes)' >csv.json
w stats --json csv.jsonl | jq 'del(.file_bytes)' | cmp - csv.json || fail "CSV differs from its JSONL"
same "csv records" "$(wc -l <csv.jsonl | tr -d ' ')" "$(jq .records csv.json)"

# --- records without text, token ids, languages, fields ----------------------------------------

cat >mixed.jsonl <<'EOF'
{"id":"a","text":"one two, three.\r\nfour","input_ids":[1,2,3],"metadata":{"language":"en"}}
{"id":"b","text":"","input_ids":[],"metadata":{"language":"en","url":"x"}}
{"id":"c","text":"\u00e9t\u00e9","metadata":{"language":"fr"}}
{"id":"d","body":"no text","id":"d2","input_ids":[7,8,9,10,11]}
{"id":"e","text":5,"metadata":null}
EOF
expect_exit 0 w stats --json mixed.jsonl
same records 5 "$(j .records)"
same no_text 2 "$(j .records_without_text)"
same characters 24 "$(j .characters)"    # 21 + 0 + 3
same lines 3 "$(j .lines)"
same tokens 8 "$(j .tokens)"
same with_tokens 3 "$(j .records_with_tokens)"
same "tokens median" 3 "$(j .tokens_per_record.median)"
same "tokens max" 5 "$(j .tokens_per_record.max)"
same en 2 "$(j .languages.en.records)"
same "en characters" 21 "$(j .languages.en.characters)"
same fr 1 "$(j .languages.fr.records)"
same "id field" 5 "$(j .fields.id)"    # once per record, though d has it twice
same "metadata.url" 1 "$(j '.fields["metadata.url"]')"
same "--text-field" 1 "$(w stats --json --text-field body mixed.jsonl | jq .characters_per_record.count)"
same "--input-field" 0 "$(w stats --json --input-field ids mixed.jsonl | jq .tokens)"
expect_exit 0 w stats mixed.jsonl
grep -Eq '^en +2 +40\.0% +21$' "$TMP/out" || fail "text: languages"
grep -Eq '^records without text +2$' "$TMP/out" || fail "text: records without text"

# tokenize's ids, counted against Python
python3 "$TOP_SRCDIR/tests/tokenizer/make_tiny_tokenizer.py" >tiny.json
w tokenize -q -t tiny.json "$S" >tok.jsonl
python3 - tok.jsonl >tok-want.txt <<'PY'
import json, sys
n = [len(json.loads(l)["input_ids"]) for l in open(sys.argv[1], encoding="utf-8")]
print(sum(n), min(n), max(n), len(n))
PY
read -r tok_sum tok_min tok_max tok_docs <tok-want.txt
expect_exit 0 w stats --json tok.jsonl
same "tokens" "$tok_sum" "$(j .tokens)"
same "tokens min" "$tok_min" "$(j .tokens_per_record.min)"
same "tokens max" "$tok_max" "$(j .tokens_per_record.max)"
same "records with tokens" "$tok_docs" "$(j .records_with_tokens)"
tok_json=$TMP/tok.json
cp "$TMP/out" "$tok_json"

# languages from filter --lang (CLD2), when this build has it
cat >lang.jsonl <<'EOF'
{"id":"en","text":"The committee will meet again next week to discuss the budget for the coming year and the plans for the new school building."}
{"id":"fr","text":"Le comité se réunira de nouveau la semaine prochaine pour discuter du budget de l'année à venir et des projets du nouveau bâtiment scolaire."}
{"id":"zh","text":"委员会将于下周再次开会，讨论来年的预算以及新教学楼的计划。这个计划已经讨论了很长时间。"}
EOF
if w filter --lang en --annotate lang.jsonl >annot.jsonl 2>lang.err; then
	expect_exit 0 w stats --json annot.jsonl
	for l in en fr zh; do
		want_n=$(jq -s "[.[] | select(.metadata.language == \"$l\")] | length" annot.jsonl)
		same "language $l" "$want_n" "$(jq ".languages[\"$l\"].records // 0" "$TMP/out")"
	done
	same "languages total" 3 "$(jq '[.languages[].records] | add' "$TMP/out")"
	same "metadata.language_score" 3 "$(j '.fields["metadata.language_score"]')"
else
	expect_grep "built without CLD2" lang.err
	echo "note: this build has no CLD2; stats of filter --lang output not checked" >&2
fi

# --- datasets ----------------------------------------------------------------------------------

w read "$S" then shard -q -o ds --validation 0.2 --max-records 40
expect_exit 0 w stats --json ds
cp "$TMP/out" ds.json
same "dataset records" "$(want records)" "$(j .records)"
same "dataset characters" "$(want characters)" "$(j .characters)"
same "dataset words" "$(jq .words sample.json)" "$(j .words)"
same "dataset bytes" "$(jq .bytes sample.json)" "$(j .bytes)"
same "dataset inputs" "$(jq '.shards | length' ds/manifest.json)" "$(j .inputs)"
same "dataset path" ds "$(j '.datasets[0].path')"
same "dataset format" jsonl "$(j '.datasets[0].shard_format')"
for split in train validation; do
	for k in records raw_bytes bytes shards; do
		ours=$k
		[ "$k" = raw_bytes ] && ours=bytes
		[ "$k" = bytes ] && ours=file_bytes
		same "$split $k" "$(jq ".splits.$split.$k" ds/manifest.json)" "$(j ".splits.$split.$ours")"
	done
done
same "split records add up" "$(j .records)" "$(j '[.splits[].records] | add')"
same "split words add up" "$(j .words)" "$(j '[.splits[].words] | add')"
# the per-split numbers are those of the split's records read on their own
for f in ds/data/validation-*.jsonl.zst; do zstd -dcq "$f"; done >val.jsonl
same "validation words" "$(w stats --json val.jsonl | jq .words)" "$(j .splits.validation.words)"
# the manifest named itself, as verify takes it
w stats --json ds/manifest.json | cmp - ds.json || fail "stats ds/manifest.json differs"
expect_exit 0 w stats ds
expect_grep "dataset ds: manifest version 1, jsonl" "$TMP/out"
grep -Eq '^validation +[0-9]+ +[0-9]+' "$TMP/out" || fail "text: split table"

# token datasets: documents and tokens from the index files
for fmt in megatron datatrove nanogpt; do
	w shard -q -o "tok-$fmt" --format "$fmt" -t tiny.json --max-tokens 20000 tok.jsonl
	expect_exit 0 w stats --json "tok-$fmt"
	same "$fmt documents" "$tok_docs" "$(j .records)"
	same "$fmt tokens" "$tok_sum" "$(j .tokens)"
	same "$fmt tokens min" "$tok_min" "$(j .tokens_per_record.min)"
	same "$fmt tokens max" "$tok_max" "$(j .tokens_per_record.max)"
	same "$fmt median" "$(jq .tokens_per_record.median "$tok_json")" "$(j .tokens_per_record.median)"
	same "$fmt shards" "$(jq .totals.shards "tok-$fmt/manifest.json")" "$(j .shards)"
	same "$fmt file bytes" "$(jq .totals.bytes "tok-$fmt/manifest.json")" "$(j .file_bytes)"
	same "$fmt format" "$fmt" "$(j '.datasets[0].shard_format')"
	same "$fmt manifest documents" "$tok_docs" "$(j '.datasets[0].records')"
	expect_exit 0 w stats "tok-$fmt"
	expect_grep "tokens per record" "$TMP/out"
done

# --- errors and empty input -----------------------------------------------------------------------

printf '{"text":"a"}\n{"text": "b",}\n{"text":"c"}\n' >bad.jsonl
expect_exit 1 w stats bad.jsonl
expect_grep "winnow: stats: bad.jsonl:2: invalid JSON" "$TMP/err"
expect_exit 0 w stats --json --on-error skip bad.jsonl
same "skipped" 1 "$(j .records_skipped)"
same "after skipping" 2 "$(j .records)"

expect_exit 3 w stats nosuch.jsonl
expect_grep "nosuch.jsonl" "$TMP/err"

mkdir -p broken
printf '{"format":"winnow-dataset","version":9,"shards":[]}\n' >broken/manifest.json
expect_exit 1 w stats broken
expect_grep "broken/manifest.json" "$TMP/err"
printf '{"format":"winnow-dataset","version":1,"shards":[{"path":"../x.jsonl.zst","split":"train"}]}\n' \
	>broken/manifest.json
expect_exit 1 w stats broken
expect_grep "unsafe shard path" "$TMP/err"
cp -r ds gone && rm gone/data/train-00000-of-*.jsonl.zst
expect_exit 3 w stats gone
expect_grep "gone/data/train-00000-of-" "$TMP/err"

expect_exit 0 w stats --json </dev/null
same "empty records" 0 "$(j .records)"
same "empty median" null "$(j .words_per_record.median)"
same "empty histogram" 0 "$(j '.characters_per_record.histogram | length')"
: >empty.jsonl
expect_exit 0 w stats empty.jsonl
grep -Eq '^records +0$' "$TMP/out" || fail "empty: $(cat "$TMP/out")"

expect_exit 2 w stats --bogus
expect_grep "winnow: stats: unknown option '--bogus'" "$TMP/err"
expect_exit 2 w stats --bins x "$S"
expect_exit 2 w stats "$S" then shard -o x
if [ -w /dev/full ]; then
	expect_exit 3 sh -c '"$WINNOW" stats "$1" >/dev/full' sh "$S"
	expect_grep "write error" "$TMP/err"
fi

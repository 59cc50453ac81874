# tokenize / detokenize / token shards with a tiny hand-made tokenizer whose
# ids can be worked out by hand (the reference-parity suite covers the real
# vocabularies).
. "$TOP_SRCDIR/tests/cli/lib.sh"

command -v python3 >/dev/null || { echo "SKIP: python3 is needed to write the test tokenizer" >&2; exit 77; }
python3 "$TOP_SRCDIR/tests/tokenizer/make_tiny_tokenizer.py" >tiny.json

printf '{"id":"a","text":"hello world"}\n{"id":"b", "text":"<|endoftext|>"}\n' >in.jsonl
expect_exit 0 w tokenize -t tiny.json in.jsonl
# "hello" -> hell o; " world" -> Ġwor l d; the rest of each record keeps its bytes
cat >want.jsonl <<'WANT'
{"id":"a","text":"hello world","input_ids":[258,111,261,108,100]}
{"id":"b", "text":"<|endoftext|>","input_ids":[60,124,101,110,100,111,102,116,101,120,116,124,62]}
WANT
cmp "$TMP/out" want.jsonl || { cat "$TMP/out"; fail "tokenize output"; }

# special-token text is ordinary text unless --allow-special
expect_exit 0 w tokenize -t tiny.json --allow-special in.jsonl
expect_grep '"input_ids":[262]}' "$TMP/out"
expect_exit 0 w tokenize -t tiny.json --bos '<|endoftext|>' --eos eot --output-field ids in.jsonl
expect_grep '"ids":[262,258,111,261,108,100,262]}' "$TMP/out"

# round trip, also through a pipe
w tokenize -t tiny.json in.jsonl | w detokenize -t tiny.json --output-field back >rt.jsonl
python3 - rt.jsonl <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    assert r["back"] == r["text"], r
PY

# threads do not change the bytes; pipe and then forms agree
for i in 1 2 3 4 5 6; do cat "$SAMPLE_DIR/sample.jsonl"; done >big.jsonl
w tokenize -t tiny.json --threads 1 big.jsonl >t1.jsonl
w tokenize -t tiny.json --threads 2 big.jsonl >t2.jsonl
w tokenize -t tiny.json --threads 3 big.jsonl >t3.jsonl
cmp t1.jsonl t2.jsonl || fail "--threads 1 and 2 differ"
cmp t1.jsonl t3.jsonl || fail "--threads 1 and 3 differ"
[ "$(wc -l <t1.jsonl)" -eq "$(wc -l <big.jsonl)" ] || fail "records lost"
w read big.jsonl then tokenize -t tiny.json >then.jsonl
cmp t1.jsonl then.jsonl || fail "then form differs"

# a bad record in the second batch, with threads: every record before it
# comes out, in order, and the error names it
sed '1000s/"text"/"body"/' big.jsonl >bad.jsonl
for n in 1 2 3; do
	expect_exit 1 w tokenize -t tiny.json --threads "$n" bad.jsonl
	expect_grep "bad.jsonl:1000: no field 'text' to tokenize" "$TMP/err"
	[ "$(wc -l <"$TMP/out")" -eq 999 ] || fail "--threads $n: $(wc -l <"$TMP/out") records before the error, not 999"
	head -n 999 t1.jsonl | cmp - "$TMP/out" || fail "--threads $n: records before the error differ"
done

# token shards: Megatron, datatrove, nanoGPT; verify; pipe == then
for fmt in megatron datatrove nanogpt; do
	w tokenize -t tiny.json big.jsonl | w shard -q -o "p-$fmt" --format "$fmt" -t tiny.json --max-tokens 100000
	w read big.jsonl then tokenize -t tiny.json then shard -q -o "t-$fmt" --format "$fmt" -t tiny.json --max-tokens 100000
	diff -r "p-$fmt/data" "t-$fmt/data" || fail "$fmt: pipe and then forms differ"
	expect_exit 0 w verify --deep "t-$fmt"
	expect_grep "tiny.json" "t-$fmt/README.md"
done
ls t-megatron/data/train-00000-of-*.idx >/dev/null || fail "no .idx"
ls t-datatrove/data/train-00000-of-*.ds.index >/dev/null || fail "no .ds.index"
total=$(python3 - t1.jsonl <<'PY'
import json, sys
print(sum(len(json.loads(l)["input_ids"]) for l in open(sys.argv[1], encoding="utf-8")))
PY
)
got=0
for idx in t-megatron/data/*.idx; do
	n=$(python3 "$TOP_SRCDIR/tests/tokenizer/read_megatron_idx.py" "$idx" | sed -n 's/^tokens[: ]*//p')
	got=$((got + n))
done
[ "$got" -eq "$total" ] || fail "megatron .idx lengths sum to $got, expected $total"

# errors name the record
printf '{"id":"x","body":"no text"}\n' >notext.jsonl
expect_exit 1 w tokenize -t tiny.json notext.jsonl
expect_grep "winnow: tokenize: notext.jsonl:1: no field 'text' to tokenize" "$TMP/err"
expect_exit 1 w shard -o nope --format megatron -t tiny.json in.jsonl
expect_grep "in.jsonl:1: no field 'input_ids'" "$TMP/err"
[ ! -e nope/manifest.json ] || fail "a failed shard run left a manifest"
expect_exit 2 w tokenize in.jsonl
expect_grep "a tokenizer is required" "$TMP/err"
expect_exit 2 w tokenize -t tiny.json --eos '<|nosuch|>' in.jsonl
sed 's/"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}, "post/"type": "Metaspace"}, "post/' tiny.json >meta.json
grep -q Metaspace meta.json || fail "test setup: Metaspace not substituted"
expect_exit 1 w tokenize -t meta.json in.jsonl
expect_grep "pre_tokenizer" "$TMP/err"

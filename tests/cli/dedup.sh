# dedup, exact and line level: results equal straightforward Python references
# (tests/cli/dedup_ref.py) on generated data with known duplicates, for every
# normalisation, --key, --lines and --paragraphs; --mark agrees with drop mode;
# output and index bytes do not depend on runs or threads; pipes and 'then'
# agree; errors name the file and line.
. "$TOP_SRCDIR/tests/cli/lib.sh"

command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the reference" >&2; exit 77; }
REF="python3 $TOP_SRCDIR/tests/cli/dedup_ref.py"

$REF gen "$SAMPLE_DIR/sample.jsonl" 3000 1 >in.jsonl
[ "$(wc -l <in.jsonl)" -eq 3000 ] || fail "generator"

# ---- exact, every normalisation: the kept lines, byte for byte ----------------------
for level in none whitespace nfkc-casefold datatrove; do
	$REF exact "$level" in.jsonl >want.jsonl
	expect_exit 0 w dedup -q --normalize "$level" in.jsonl
	cmp "$TMP/out" want.jsonl || fail "--normalize $level differs from the reference"
	[ "$(wc -l <want.jsonl)" -lt 3000 ] || fail "test data: no duplicates under $level"
done
# each level finds more than the one before it (nfkc-casefold and datatrove
# fold different things)
n_none=$(w dedup -q --normalize none in.jsonl | wc -l)
n_ws=$(w dedup -q --normalize whitespace in.jsonl | wc -l)
n_nfkc=$(w dedup -q --normalize nfkc-casefold in.jsonl | wc -l)
n_dt=$(w dedup -q --normalize datatrove in.jsonl | wc -l)
[ "$n_none" -gt "$n_ws" ] && [ "$n_ws" -gt "$n_nfkc" ] && [ "$n_ws" -gt "$n_dt" ] ||
	fail "levels: none $n_none, whitespace $n_ws, nfkc-casefold $n_nfkc, datatrove $n_dt"
# the default is whitespace
w dedup -q in.jsonl >default.jsonl
w dedup -q --normalize whitespace in.jsonl >ws.jsonl
cmp default.jsonl ws.jsonl || fail "the default is not --normalize whitespace"

# ---- --key ---------------------------------------------------------------------------------
$REF exact whitespace --key metadata.url in.jsonl >want.jsonl
expect_exit 0 w dedup -q --key metadata.url in.jsonl
cmp "$TMP/out" want.jsonl || fail "--key metadata.url differs from the reference"
$REF exact nfkc-casefold --key metadata.lang --key metadata.url in.jsonl >want.jsonl
expect_exit 0 w dedup -q --normalize nfkc-casefold -k metadata.lang -k metadata.url in.jsonl
cmp "$TMP/out" want.jsonl || fail "two --key fields differ from the reference"
# a non-string value is compared as its JSON text
printf '{"n":1,"text":"a"}\n{"n":1,"text":"b"}\n{"n":1.0,"text":"c"}\n{"n":"1","text":"d"}\n' >num.jsonl
expect_exit 0 w dedup -q --key n num.jsonl
[ "$(cat "$TMP/out")" = "$(printf '{"n":1,"text":"a"}\n{"n":1.0,"text":"c"}\n{"n":"1","text":"d"}')" ] ||
	fail "--key on numbers: $(cat "$TMP/out")"

# ---- --mark: every record, duplicates marked with the kept record's id ------------------------
$REF exact whitespace --mark in.jsonl >want.txt
expect_exit 0 w dedup -q --mark in.jsonl
cp "$TMP/out" marked.jsonl
python3 - marked.jsonl >got.txt <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps(json.loads(line).get("metadata", {}).get("duplicate_of")))
PY
cmp got.txt want.txt || fail "--mark: duplicate_of differs from the reference"
# drop mode keeps exactly the unmarked records, with their bytes
grep -v '"duplicate_of"' marked.jsonl >unmarked.jsonl
cmp unmarked.jsonl ws.jsonl || fail "--mark and drop mode disagree"
[ "$(wc -l <marked.jsonl)" -eq 3000 ] || fail "--mark lost records"
# metadata that is not an object cannot take the mark
printf '{"text":"x","metadata":3}\n{"text":"x","metadata":3}\n' >badmeta.jsonl
expect_exit 1 w dedup --mark badmeta.jsonl
expect_grep "winnow: dedup: badmeta.jsonl:2: field 'metadata' is not an object" "$TMP/err"

# ---- determinism: runs, threads, pipes and 'then' -------------------------------------------
for t in 1 2 3 5; do
	w dedup -q --threads "$t" --normalize datatrove --index "i$t.idx" in.jsonl >"t$t.jsonl"
	cmp t1.jsonl "t$t.jsonl" || fail "--threads $t changes the output"
	cmp i1.idx "i$t.idx" || fail "--threads $t changes the index bytes"
done
w dedup -q --threads 2 --normalize datatrove --index again.idx in.jsonl >again.jsonl
cmp t1.jsonl again.jsonl && cmp i1.idx again.idx || fail "two runs differ"
w read in.jsonl then dedup --normalize datatrove >then.jsonl
cmp t1.jsonl then.jsonl || fail "'then' form differs"
cat in.jsonl | w dedup --normalize datatrove - >pipe.jsonl
cmp t1.jsonl pipe.jsonl || fail "stdin differs"
w read in.jsonl | w dedup --normalize datatrove | w dedup --normalize datatrove >twice.jsonl
cmp t1.jsonl twice.jsonl || fail "dedup is not idempotent"
printf 'dedup --normalize datatrove\n' >p.wn
w run p.wn <in.jsonl >run.jsonl
cmp t1.jsonl run.jsonl || fail "pipeline file differs"

# ---- --index: two halves equal one run over the whole ----------------------------------------
# (with ids everywhere: a record without one is named by its file and line)
python3 - in.jsonl >ids.jsonl <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    r = json.loads(line)
    if "id" not in r:
        r["id"] = "n%d" % i
        line = json.dumps(r) + "\n"
    sys.stdout.write(line)
PY
head -n 1700 ids.jsonl >h1.jsonl
tail -n +1701 ids.jsonl >h2.jsonl
for mark in "" --mark; do
	rm -f whole.idx halves.idx a.idx b.idx merged.idx
	w dedup -q $mark --index whole.idx ids.jsonl >whole.jsonl
	w dedup -q $mark --index halves.idx h1.jsonl >o1.jsonl
	w dedup -q $mark --index halves.idx h2.jsonl >o2.jsonl
	cat o1.jsonl o2.jsonl | cmp - whole.jsonl || fail "$mark: --index over halves differs"
	cmp whole.idx halves.idx || fail "$mark: index over halves differs from the whole"
	# and indexes made apart, then merged
	w dedup -q $mark --index a.idx h1.jsonl >/dev/null
	w dedup -q $mark --index b.idx h2.jsonl >/dev/null
	expect_exit 0 w dedup-index merge -o merged.idx a.idx b.idx
	cmp whole.idx merged.idx || fail "$mark: merged index differs from the whole"
done
# with --mark the ids of the first half are known in the second
grep -q '"duplicate_of":"r' o2.jsonl || fail "no duplicate_of from the first half"
# an index made without --mark has no ids: duplicates of its records get null
rm -f plain.idx
w dedup -q --index plain.idx h1.jsonl >/dev/null
w dedup -q --mark --index plain.idx h2.jsonl >m2plain.jsonl
grep -q '"duplicate_of":null' m2plain.jsonl || fail "no null duplicate_of"
w dedup -q --index plain2.idx h1.jsonl >/dev/null
expect_exit 0 w dedup-index info whole.idx plain2.idx
expect_grep "kind: digest set" "$TMP/out"
expect_grep "normalize=whitespace" "$TMP/out"
expect_grep "ids: yes" "$TMP/out"
expect_grep "ids: no" "$TMP/out"

# ---- broken and mismatched indexes: clear errors, nothing overwritten --------------------------
cp whole.idx keep.idx
expect_exit 2 w dedup --normalize datatrove --index whole.idx in.jsonl
expect_grep "winnow: dedup: whole.idx: index has normalize=whitespace, this run uses normalize=datatrove" "$TMP/err"
expect_exit 2 w dedup --key metadata.url --index whole.idx in.jsonl
expect_grep "whole.idx: index has key=(text), this run uses key=metadata.url" "$TMP/err"
expect_exit 2 w dedup --lines --index whole.idx in.jsonl
expect_grep "whole.idx: index has mode=exact, this run uses mode=lines" "$TMP/err"
expect_exit 2 w dedup --bloom --expected 100 --index whole.idx in.jsonl
expect_grep "whole.idx: index is an exact digest set, this run uses a Bloom filter" "$TMP/err"
cmp whole.idx keep.idx || fail "a refused index was changed"
python3 - whole.idx <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1
open(p, "wb").write(bytes(b))
PY
expect_exit 1 w dedup --index whole.idx in.jsonl
expect_grep "winnow: dedup: whole.idx: not a valid dedup index: checksum mismatch" "$TMP/err"
head -c 100 keep.idx >short.idx
expect_exit 1 w dedup --index short.idx in.jsonl
expect_grep "short.idx: not a valid dedup index: truncated" "$TMP/err"
printf 'not an index at all\n' >junk.idx
expect_exit 1 w dedup --index junk.idx in.jsonl
expect_grep "junk.idx: not a valid dedup index: bad magic" "$TMP/err"
expect_exit 1 w dedup-index info junk.idx
expect_grep "winnow: dedup-index: junk.idx: not a dedup index: bad magic" "$TMP/err"
expect_exit 3 w dedup --index nodir/x.idx in.jsonl
expect_grep "winnow: dedup: nodir/x.idx: cannot create a temporary file beside it" "$TMP/err"
[ ! -s "$TMP/out" ] || fail "an index that cannot be written is found out only at the end"
w dedup -q --normalize datatrove --index dt.idx in.jsonl >/dev/null
expect_exit 2 w dedup-index merge -o m.idx keep.idx dt.idx
expect_grep "dt.idx: index has normalize=datatrove, this run uses normalize=whitespace" "$TMP/err"
expect_exit 2 w dedup-index merge keep.idx
expect_grep "merge needs the index to write (-o FILE)" "$TMP/err"
expect_exit 2 w dedup-index frob keep.idx
expect_exit 2 w dedup-index info
ls ./*.tmp.* 2>/dev/null && fail "temporary index files left behind"

# ---- --lines and --paragraphs ---------------------------------------------------------------
$REF genlines "$SAMPLE_DIR/sample.jsonl" 1500 2 >lin.jsonl
for mode in lines paragraphs; do
	for args in "whitespace 10" "none 0" "datatrove 4"; do
		set -- $args
		$REF "$mode" "$1" "$2" lin.jsonl >want.jsonl
		expect_exit 0 w dedup -q "--$mode" --normalize "$1" --min-line-chars "$2" lin.jsonl
		python3 - "$TMP/out" >got.jsonl <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    print(json.dumps({"id": r.get("id"), "text": r["text"]}, ensure_ascii=False))
PY
		cmp got.jsonl want.jsonl || fail "--$mode $args differs from the reference"
	done
done
# unchanged records keep their bytes; changed ones are rewritten
printf '{"id":"a", "text":"line one is long\\nsecond line here"}\n{"id":"b", "text":"line one is long\\nnew"}\n{"id":"c", "text":"second line here"}\n' >l.jsonl
expect_exit 0 w dedup --lines --stats l.json l.jsonl
[ "$(cat "$TMP/out")" = "$(printf '{"id":"a", "text":"line one is long\\nsecond line here"}\n{"id":"b","text":"new"}')" ] ||
	fail "--lines: $(cat "$TMP/out")"
python3 - l.json <<'PY'
import json, sys
s = [x for x in json.load(open(sys.argv[1]))["stages"] if x["stage"] == "dedup"][0]
assert s["records_in"] == 3 and s["records_out"] == 2, s
assert s["dropped_by_reason"] == {"all_lines_duplicate": 1}, s
d = s["dedup"]
assert d["duplicates"]["lines"] == 2 and d["duplicates"]["emptied_records"] == 1, d
assert d["records_changed"] == 1 and d["index"]["entries"] == 2, d  # "new" is short
PY
# a Bloom filter of lines, sized generously, gives the same result
w dedup -q --lines --bloom --expected 100000 --fp-rate 0.000001 lin.jsonl >lb.jsonl
w dedup -q --lines lin.jsonl >le.jsonl
cmp lb.jsonl le.jsonl || fail "--lines --bloom differs from --lines"
# threads, and lines over halves with an index
w dedup -q --paragraphs --threads 1 lin.jsonl >p1.jsonl
w dedup -q --paragraphs --threads 3 lin.jsonl >p3.jsonl
cmp p1.jsonl p3.jsonl || fail "--paragraphs: threads change the output"
head -n 700 lin.jsonl >lh1.jsonl
tail -n +701 lin.jsonl >lh2.jsonl
w dedup -q --paragraphs --index lw.idx lin.jsonl >/dev/null
w dedup -q --paragraphs --index lh.idx lh1.jsonl >o1.jsonl
w dedup -q --paragraphs --index lh.idx lh2.jsonl >o2.jsonl
cat o1.jsonl o2.jsonl | cmp - p1.jsonl || fail "--paragraphs over halves differs"
cmp lw.idx lh.idx || fail "--paragraphs: index over halves differs"

# ---- --bloom: never keeps a duplicate; false positives within 2x --fp-rate -----------------------
w dedup -q --bloom --expected 3000 --fp-rate 0.01 in.jsonl >bloom.jsonl
python3 - bloom.jsonl ws.jsonl <<'PY'
import sys
bloom = open(sys.argv[1], encoding="utf-8").read().splitlines()
exact = open(sys.argv[2], encoding="utf-8").read().splitlines()
it = iter(exact)
assert all(line in it for line in bloom), "bloom kept a line exact dedup dropped, or reordered"
lost = len(exact) - len(bloom)
assert lost <= 2 * 0.01 * len(exact), lost
PY
# on unique records, the share wrongly dropped stays within 2x the rate asked for
awk 'BEGIN { for (i = 0; i < 40000; i++) printf "{\"text\":\"unique document %d\"}\n", i }' >uniq.jsonl
for p in 0.01 0.001; do
	expect_exit 0 w dedup --bloom --expected 40000 --fp-rate "$p" --stats b.json uniq.jsonl
	python3 - b.json "$p" <<'PY'
import json, sys
s = [x for x in json.load(open(sys.argv[1]))["stages"] if x["stage"] == "dedup"][0]
p = float(sys.argv[2])
lost = s["dropped"] / s["records_in"]
assert lost <= 2 * p, (lost, p)
assert s["dedup"]["index"]["kind"] == "bloom", s
PY
done
# a Bloom index carries over and merges
w dedup -q --bloom --expected 3000 --index bl.idx h1.jsonl >/dev/null
w dedup -q --bloom --expected 3000 --index bl.idx h2.jsonl >/dev/null
w dedup -q --bloom --expected 3000 --index blw.idx in.jsonl >/dev/null
cmp bl.idx blw.idx || fail "--bloom: index over halves differs"
expect_exit 2 w dedup --bloom --expected 5000 --index bl.idx h2.jsonl
expect_grep "bl.idx: index has bloom-expected=3000, this run uses bloom-expected=5000" "$TMP/err"

# ---- --stats ----------------------------------------------------------------------------
expect_exit 0 w dedup --stats s.json in.jsonl
python3 - s.json ws.jsonl <<'PY'
import json, sys
s = [x for x in json.load(open(sys.argv[1]))["stages"] if x["stage"] == "dedup"][0]
kept = sum(1 for _ in open(sys.argv[2]))
d = s["dedup"]
assert s["records_in"] == 3000 and s["records_out"] == kept, s
assert s["dropped_by_reason"] == {"duplicate": 3000 - kept}, s
assert d["duplicates"]["exact"] == 3000 - kept and d["mode"] == "exact", d
assert d["normalize"] == "whitespace", d
ix = d["index"]
assert ix["kind"] == "set" and ix["entries"] == kept, ix
assert 16 <= ix["bytes_per_entry"] and ix["memory_bytes"] > 16 * kept, ix
PY

# ---- errors ------------------------------------------------------------------------------
printf '{"text":"a"}\n{"id":"x","body":"no text"}\n' >notext.jsonl
expect_exit 1 w dedup notext.jsonl
expect_grep "winnow: dedup: notext.jsonl:2: no field 'text' to deduplicate" "$TMP/err"
printf '{"text":"a"}\n{"text":"b"}\n{"text":5}\n' >nottext.jsonl
expect_exit 1 w dedup --threads 2 nottext.jsonl
expect_grep "winnow: dedup: nottext.jsonl:3: field 'text' is not a string" "$TMP/err"
[ "$(wc -l <"$TMP/out")" -eq 2 ] || fail "records before the bad one are not written"
# a bad record in a later batch (512 records each), with threads: while one
# batch is hashed the one before it is decided and written, yet every record
# before the bad one comes out, decided as without it, and nothing after it
awk 'BEGIN { for (i = 1; i <= 2000; i++)
	printf "{\"text\":\"doc %d line a\\nline %d\"}\n", i % 500, i % 2 }' >many.jsonl
for bad in 1000 1300; do
	sed "${bad}s/\"text\"/\"body\"/" many.jsonl >bad.jsonl
	for mode in "" --lines --near; do
		head -n "$((bad - 1))" many.jsonl | w dedup -q $mode --threads 1 >want.jsonl
		for n in 1 2 3; do
			expect_exit 1 w dedup $mode --threads "$n" bad.jsonl
			expect_grep "bad.jsonl:$bad: no field 'text' to deduplicate" "$TMP/err"
			cmp want.jsonl "$TMP/out" ||
				fail "dedup $mode --threads $n: records before line $bad differ"
		done
	done
done
expect_exit 1 w dedup --key metadata.url notext.jsonl
expect_grep "notext.jsonl:1: no field 'metadata.url' (--key)" "$TMP/err"
printf '{"body":"x"}\n' | w dedup --text-field body >/dev/null || fail "--text-field"
expect_exit 2 w dedup --lines --near in.jsonl
expect_grep "choose one of --lines, --paragraphs and --near" "$TMP/err"
expect_exit 2 w dedup --mark --lines in.jsonl
expect_exit 2 w dedup --key url --paragraphs in.jsonl
expect_exit 2 w dedup --bloom in.jsonl
expect_grep "--bloom needs the number of records to expect (--expected N)" "$TMP/err"
expect_exit 2 w dedup --expected 10 in.jsonl
expect_exit 2 w dedup --bloom --mark --expected 10 in.jsonl
expect_exit 2 w dedup --bands 3 in.jsonl
expect_grep "need --near" "$TMP/err"
expect_exit 2 w dedup --normalize nfkc in.jsonl
expect_exit 2 w dedup --key '' in.jsonl
expect_exit 2 w dedup --key a..b in.jsonl
expect_grep "empty field name" "$TMP/err"
expect_exit 2 w dedup -k a -k b -k c -k d -k e -k f -k g -k h -k i -k j -k k -k l -k m -k n \
	-k o -k p -k q in.jsonl
expect_grep "dedup: --key: at most 16 values" "$TMP/err"
# a closed pipe downstream is a normal end
w dedup in.jsonl | head -n 1 >/dev/null

# dedup --near: the MinHash LSH mode inside the stage: near copies of long
# paragraphs are dropped and unrelated ones kept; --mark marks exactly what is
# dropped, with the kept record's id and a shared cluster number; output and
# index bytes do not depend on threads; --index carries over runs; parameters
# are checked against a loaded index.
. "$TOP_SRCDIR/tests/cli/lib.sh"

command -v python3 >/dev/null || { echo "SKIP: python3 is needed to make the data" >&2; exit 77; }

# The sample's paragraphs, and near copies of the long ones: one word in 60
# replaced (word-5-gram Jaccard about 0.85), written after all originals.
python3 - "$SAMPLE_DIR/sample.jsonl" >near.jsonl <<'PY'
import json, random, sys
rng = random.Random(5)
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
for r in recs:
    print(json.dumps({"id": r["id"], "text": r["text"]}))
for r in recs:
    w = r["text"].split(" ")
    if len(w) < 150:
        continue
    for _ in range(len(w) // 60):
        w[rng.randrange(len(w))] = "qqq"
    print(json.dumps({"id": r["id"] + "~", "text": " ".join(w), "near_of": r["id"]}))
print(json.dumps({"id": "empty", "text": " \n "}))
print(json.dumps({"id": "empty2", "text": ""}))
PY
total=$(wc -l <near.jsonl)
copies=$(grep -c '"near_of"' near.jsonl)
[ "$copies" -ge 30 ] || fail "test data: only $copies near copies"

expect_exit 0 w dedup --near --stats s.json near.jsonl
cp "$TMP/out" kept.jsonl
python3 - kept.jsonl near.jsonl s.json <<'PY'
import json, sys
kept = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
allr = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
ids = {r["id"] for r in kept}
copies = [r for r in allr if "near_of" in r]
originals = [r for r in allr if "near_of" not in r]
caught = sum(1 for r in copies if r["id"] not in ids)
assert caught >= 0.85 * len(copies), (caught, len(copies))
lost = [r["id"] for r in originals if r["id"] not in ids]
# the sample's own paragraphs are different texts: at most a few near each other
assert len(lost) <= 3, lost
assert "empty" in ids and "empty2" in ids
s = [x for x in json.load(open(sys.argv[3]))["stages"] if x["stage"] == "dedup"][0]
d = s["dedup"]
assert d["mode"] == "near" and d["normalize"] == "datatrove", d
assert d["duplicates"]["near"] == s["dropped"] == len(allr) - len(kept), s
assert s["dropped_by_reason"] == {"near_duplicate": s["dropped"]}, s
assert d["index"]["kind"] == "minhash" and d["index"]["entries"] == len(kept) - 2, d
PY
# kept records keep their bytes
grep -vF -f kept.jsonl near.jsonl >dropped.jsonl || true
[ "$(($(wc -l <kept.jsonl) + $(wc -l <dropped.jsonl)))" -eq "$total" ] ||
	fail "kept records are not byte-identical to their input lines"

# ---- --mark: the same records, with duplicate_of and a shared cluster ------------------
expect_exit 0 w dedup --near --mark near.jsonl
python3 - "$TMP/out" kept.jsonl <<'PY'
import json, sys
marked = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
kept = {json.loads(l)["id"] for l in open(sys.argv[2], encoding="utf-8")}
cluster_of = {}
for r in marked:
    md = r.get("metadata", {})
    if r["id"] in kept:
        assert "duplicate_of" not in md, r["id"]
        if r["text"].strip():
            cluster_of[r["id"]] = md["cluster"]
        else:
            assert "cluster" not in md, r["id"]
    else:
        dup = md["duplicate_of"]
        assert dup in kept, (r["id"], dup)
        assert md["cluster"] == cluster_of[dup], r["id"]
        if "near_of" in r:
            assert dup == r["near_of"] or dup in kept, r
# clusters of kept records are their entry numbers: 0, 1, 2, ... in order
assert sorted(cluster_of.values()) == list(range(len(cluster_of)))
PY

# ---- determinism: threads, runs, the index bytes ------------------------------------------
for t in 1 2 3; do
	w dedup -q --near --threads "$t" --index "n$t.idx" near.jsonl >"n$t.jsonl"
	cmp kept.jsonl "n$t.jsonl" || fail "--near --threads $t changes the output"
	cmp n1.idx "n$t.idx" || fail "--near --threads $t changes the index"
done
w read near.jsonl then dedup --near >then.jsonl
cmp kept.jsonl then.jsonl || fail "'then' form differs"

# ---- --index over halves, and merge ---------------------------------------------------------
head -n 200 near.jsonl >h1.jsonl
tail -n +201 near.jsonl >h2.jsonl
rm -f h.idx
w dedup -q --near --index h.idx h1.jsonl >o1.jsonl
w dedup -q --near --index h.idx h2.jsonl >o2.jsonl
cat o1.jsonl o2.jsonl | cmp - kept.jsonl || fail "--near over halves differs"
cmp h.idx n1.idx || fail "--near: index over halves differs"
w dedup -q --near --index a.idx h1.jsonl >/dev/null
w dedup -q --near --index b.idx h2.jsonl >/dev/null
expect_exit 0 w dedup-index merge -o m.idx a.idx b.idx
expect_exit 0 w dedup-index info m.idx
expect_grep "kind: minhash" "$TMP/out"
expect_grep "bands=14" "$TMP/out"
expect_grep "context=normalize=datatrove" "$TMP/out"
# against the merged index, everything is a duplicate already
expect_exit 0 w dedup --near --index m.idx near.jsonl
[ "$(grep -vc '"id": "empty' "$TMP/out")" -eq 0 ] || fail "merged index misses records"

# ---- parameters are checked against a loaded index ----------------------------------------
cp n1.idx keep.idx
expect_exit 2 w dedup --near --bands 20 --index n1.idx near.jsonl
expect_grep "winnow: dedup: n1.idx: index has bands 14, this run uses 20" "$TMP/err"
expect_exit 2 w dedup --near --normalize whitespace --index n1.idx near.jsonl
expect_grep "n1.idx" "$TMP/err"
expect_grep "normalize" "$TMP/err"
expect_exit 2 w dedup --near --verify-jaccard 0.8 --index n1.idx near.jsonl
expect_grep "n1.idx" "$TMP/err"
expect_exit 2 w dedup --index n1.idx near.jsonl
expect_grep "n1.idx: index is a MinHash index (--near), this run uses exact dedup" "$TMP/err"
w dedup -q --index exact.idx near.jsonl >/dev/null
expect_exit 2 w dedup --near --index exact.idx near.jsonl
expect_grep "exact.idx: index is a digest index (exact or line-level dedup), this run uses --near" "$TMP/err"
expect_exit 2 w dedup-index merge -o x.idx n1.idx exact.idx
expect_grep "exact.idx" "$TMP/err"
cmp n1.idx keep.idx || fail "a refused index was changed"

# ---- other parameters ----------------------------------------------------------------------
expect_exit 0 w dedup -q --near --verify-jaccard 0.9 --index v.idx near.jsonl
v=$(wc -l <"$TMP/out")
[ "$v" -ge "$(wc -l <kept.jsonl)" ] || fail "--verify-jaccard dropped more than without"
expect_exit 0 w dedup -q --near --verify-jaccard 0.5 --index v.idx h2.jsonl
expect_exit 0 w dedup-index info v.idx
expect_grep "signatures: yes" "$TMP/out"
expect_exit 0 w dedup -q --near --preset nemo near.jsonl
[ "$(wc -l <"$TMP/out")" -lt "$total" ] || fail "--preset nemo found nothing"
expect_exit 0 w dedup -q --near --shingle chars --ngram 10 --bands 10 --rows 5 near.jsonl
expect_exit 2 w dedup --near --preset frob near.jsonl
expect_exit 2 w dedup --near --shingle lines near.jsonl
expect_exit 2 w dedup --near --rows 0 near.jsonl
expect_exit 2 w dedup --near --verify-jaccard 1.5 near.jsonl
expect_exit 2 w dedup --near --bloom --expected 5 near.jsonl
expect_exit 2 w dedup --near --key id near.jsonl
printf '{"id":1}\n' >notext.jsonl
expect_exit 1 w dedup --near notext.jsonl
expect_grep "notext.jsonl:1: no field 'text' to deduplicate" "$TMP/err"

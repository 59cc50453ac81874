# filter against tools/filter_reference.py, the same rules and word splitting
# written plainly in Python from REFERENCE.md and datatrove: every measured
# value and every decision agree, on the bundled sample, on manual pages,
# on documentation text and on a generated corpus.
. "$TOP_SRCDIR/tests/cli/lib.sh"

for t in python3 jq; do
	command -v $t >/dev/null || { echo "SKIP: $t is needed (tools/install-deps.sh installs it)" >&2; exit 77; }
done
REF="$TOP_SRCDIR/tools/filter_reference.py"

cp "$SAMPLE_DIR/sample.jsonl" all.jsonl
# real text with lists, code, headings and odd punctuation: manual pages
if command -v man >/dev/null 2>&1; then
	for page in ls grep tar sed find bash; do
		MANWIDTH=80 man "$page" 2>/dev/null | col -b 2>/dev/null
	done | python3 -c '
import json, sys
text = sys.stdin.read()
pages = [p for p in text.split("\n\n\n") if p.strip()]
for i, p in enumerate(pages):
    print(json.dumps({"id": "man-%d" % i, "text": p}))
' >>all.jsonl
fi
# documentation text in /usr/share/doc, when there is some
find /usr/share/doc -maxdepth 2 -name '*.txt' -size -64k 2>/dev/null | sort | head -40 |
	python3 -c '
import json, sys
for path in sys.stdin.read().split():
    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError):
        continue
    print(json.dumps({"id": path, "text": text}))
' >>all.jsonl
gen=$(dirname "$WINNOW")/tools/gen-corpus
if [ -x "$gen" ]; then
	jq -r .text "$SAMPLE_DIR/sample.jsonl" >words.txt
	"$gen" -n 2M -s 3 words.txt >>all.jsonl
fi
# repetitive texts of words that run into each other when joined ("ab c",
# "a bc"; words of 16 bytes and more next to short ones): the n-gram
# rules' quirks, and a failure of nearly every rule
python3 - <<'PY' >>all.jsonl
import json, random
r = random.Random(11)
tiny = ["a", "b", "ab", "ba", "abc", "c", "bc", "ca", "bca", "cab", "abcabcabcabcabca",
        "cabcabcabcabcabcab"]
pieces = ["a", "b", "ab", "ba", "abc", "c", "bc", "ca", "the", "of", "and", "to", "be",
          "with", "that", "have", ",", ".", "!", "...", "\u2026", "#", "-", "\u2022", "'s",
          "n't", "\u00e9t\u00e9", "\u4f60\u597d", "\u041f\u0440\u0438\u0432\u0435\u0442",
          "[1]", "{", "lorem ipsum", "javascript", "uses cookies", "z" * 17, "x" * 40]
for i in range(700):
    vocab = r.sample(tiny if i % 2 else pieces, r.choice([2, 3, 5, 8, 12]))
    lines, pool = [], []
    for _ in range(r.choice([1, 2, 4, 8, 20, 60])):
        if pool and r.random() < 0.3:
            lines.append(r.choice(pool))
            continue
        words = [r.choice(vocab) for _ in range(r.choice([1, 2, 3, 5, 9, 20, 40]))]
        line = " ".join(words) + r.choice(["", ".", ".", "!", "?", "...", ":"])
        if r.random() < 0.1:
            line = r.choice(["- ", "\u2022 "]) + line
        pool.append(line)
        lines.append(line)
    sep = r.choice(["\n", "\n", "\n\n", "\n \n"])
    print(json.dumps({"id": "rep-%d" % i, "text": sep.join(lines)}))
PY
n=$(wc -l <all.jsonl)
[ "$n" -gt 936 ] || echo "note: only the bundled sample was available" >&2

w filter --annotate --gopher-repetition --gopher-quality --c4 --fineweb all.jsonl >w.jsonl
python3 "$REF" --annotate all.jsonl >p.jsonl
python3 - w.jsonl p.jsonl <<'PY'
import json, math, sys
w = [json.loads(l)["metadata"]["filter"] for l in open(sys.argv[1])]
p = [json.loads(l) for l in open(sys.argv[2])]
assert len(w) == len(p), (len(w), len(p))
bad = 0
for i, (a, b) in enumerate(zip(w, p)):
    diffs = []
    if (a["keep"], a["reason"]) != (b["keep"], b["reason"]):
        diffs.append(("decision", a["reason"], b["reason"]))
    if list(a["rules"]) != list(b["rules"]):
        diffs.append(("rules", list(a["rules"]), list(b["rules"])))
    for rule, m in a["rules"].items():
        r = b["rules"].get(rule)
        if r is None:
            continue
        x, y = m["value"], r["value"]
        same = (x == y if isinstance(x, (bool, str)) or x is None or y is None
                else math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12))
        if not same or m["pass"] != r["pass"]:
            diffs.append((rule, m, r))
    if diffs:
        bad += 1
        if bad <= 5:
            print("record", i + 1, diffs[:4], file=sys.stderr)
print("%d records, %d differ" % (len(w), bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# the decisions of the drop mode are the reference's too
w filter --gopher-repetition --gopher-quality --c4 --fineweb --rejects rej.jsonl \
	--stats st.json all.jsonl >kept.jsonl
python3 "$REF" all.jsonl | jq -r '.reason // "kept"' | sort | uniq -c >p.reasons
{ jq -r .metadata.reject_reason rej.jsonl; sed 's/.*/kept/' kept.jsonl; } | sort | uniq -c >w.reasons
diff w.reasons p.reasons || fail "reasons differ from the reference"
# --stats counts every reason, however many rules failed (more than 16 here)
grep -v ' kept$' w.reasons | awk '{ print $2 " " $1 }' | sort >want.counts
jq -r '.stages[] | select(.stage == "filter") | .dropped_by_reason | to_entries[] |
	"\(.key) \(.value)"' st.json | sort >got.counts
diff got.counts want.counts || fail "--stats dropped_by_reason differs from the rejects"
[ "$(wc -l <got.counts)" -gt 16 ] || fail "expected more than 16 reasons: $(cat got.counts)"
jq -e '.stages[] | select(.stage == "filter") | .failed_by_rule == .dropped_by_reason' \
	st.json >/dev/null || fail "failed_by_rule differs from dropped_by_reason"
# C4's rewritten texts are the reference's
python3 - all.jsonl kept.jsonl "$REF" <<'PY'
import json, sys, importlib.util
spec = importlib.util.spec_from_file_location("ref", sys.argv[3])
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
kept = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    kept.setdefault(r["id"], []).append(r["text"])
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["id"] not in kept:
        continue
    rep = ref.Report(False)
    ok, text = ref.c4(r["text"], rep)
    assert ok, r["id"]
    assert text in kept[r["id"]], (r["id"], text[:200], kept[r["id"]][0][:200])
PY

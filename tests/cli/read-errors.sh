# Bad input: a clear error naming file and line, exit 1; --on-error=skip
# counts and keeps bad records.
. "$TOP_SRCDIR/tests/cli/lib.sh"

printf '{"text":"a"}\n{"text": "b",}\n{"text":"c"}\n' >bad.jsonl
expect_exit 1 w read bad.jsonl
expect_grep "winnow: read: bad.jsonl:2: invalid JSON" "$TMP/err"
# what came before the bad line was written
expect_grep '{"text":"a"}' "$TMP/out"

expect_exit 0 w read --on-error=skip --rejects rej.jsonl bad.jsonl
[ "$(cat "$TMP/out")" = "$(printf '{"text":"a"}\n{"text":"c"}')" ] || fail "skip output: $(cat "$TMP/out")"
expect_grep "skipped 1 bad record, kept in rej.jsonl" "$TMP/err"
expect_grep '"line":2' rej.jsonl
expect_grep '"raw":"{\"text\": \"b\",}"' rej.jsonl
w read --on-error=skip --stats st.json -q bad.jsonl >/dev/null
expect_grep '"invalid_json": 1' st.json

printf '{"text":"\377"}\n' >utf.jsonl
expect_exit 1 w read utf.jsonl
expect_grep "winnow: read: utf.jsonl:1:" "$TMP/err"

printf '[1,2]\n' >arr.jsonl
expect_exit 1 w read arr.jsonl
expect_grep "arr.jsonl:1: record is not a JSON object" "$TMP/err"

printf 'id,text\n1,hello\n2,a,b\n3,"bye"\n' >rows.csv
expect_exit 1 w read rows.csv
expect_grep "winnow: read: rows.csv:3: expected 2 fields, got 3" "$TMP/err"
expect_exit 0 w read --on-error skip rows.csv
[ "$(wc -l <"$TMP/out")" -eq 2 ] || fail "csv skip kept $(wc -l <"$TMP/out") rows"

# an over-long line is an error, not an out-of-memory; skip continues after it
{ head -c 5000 /dev/zero | tr '\0' 'x' | sed 's/.*/{"text":"&"}/'; echo; } >long.jsonl
printf '{"text":"short"}\n' >>long.jsonl
expect_exit 1 w read --max-record-size 1KiB long.jsonl
expect_grep "long.jsonl:1: line longer than" "$TMP/err"
expect_exit 0 w read --max-record-size 1KiB --on-error=skip long.jsonl
[ "$(cat "$TMP/out")" = '{"text":"short"}' ] || fail "after long line: $(cat "$TMP/out")"

# truncated compressed input
seq 1 20000 | sed 's/.*/{"text":"line &"}/' | zstd -q -c >full.jsonl.zst
head -c 3000 full.jsonl.zst >trunc.jsonl.zst
expect_exit 1 w read trunc.jsonl.zst
expect_grep "trunc.jsonl.zst:" "$TMP/err"
expect_grep "truncated" "$TMP/err"
seq 1 20000 | sed 's/.*/{"text":"line &"}/' | gzip -c >full.jsonl.gz
head -c 3000 full.jsonl.gz >trunc.jsonl.gz
expect_exit 1 w read trunc.jsonl.gz
expect_grep "trunc.jsonl.gz:" "$TMP/err"

# a missing file
expect_exit 3 w read nosuch.jsonl
expect_grep "nosuch.jsonl" "$TMP/err"

# --rejects without skip is a usage error
expect_exit 2 w read --rejects r.jsonl bad.jsonl

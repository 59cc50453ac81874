# verify finds every kind of damage, one line each, and exits 1.
. "$TOP_SRCDIR/tests/cli/lib.sh"

w read "$SAMPLE_DIR/sample.jsonl" then shard -o good --max-size 32KiB -q
expect_exit 0 w verify good
first=$(ls good/data | head -1)
second=$(ls good/data | sed -n 2p)
[ -n "$second" ] || fail "need two shards"

fresh() { rm -rf d; cp -r good d; }

# one flipped byte
fresh
printf 'X' | dd of="d/data/$first" bs=1 seek=100 conv=notrunc status=none
expect_exit 1 w verify d
expect_grep "d/data/$first: sha256" "$TMP/out"
expect_grep "d/data/$first: xxh3_128" "$TMP/out"
expect_grep "FAILED" "$TMP/out"

# a truncated shard
fresh
size=$(stat -c %s "d/data/$first")
truncate -s $((size - 10)) "d/data/$first"
expect_exit 1 w verify d
expect_grep "d/data/$first: truncated" "$TMP/out"

# a deleted shard
fresh
rm "d/data/$second"
expect_exit 1 w verify d
expect_grep "d/data/$second: missing" "$TMP/out"

# a stray file
fresh
echo junk >d/data/stray.jsonl.zst
expect_exit 1 w verify d
expect_grep "d/data/stray.jsonl.zst: extra" "$TMP/out"

# several problems are all reported
fresh
rm "d/data/$second"
echo junk >d/data/stray.jsonl.zst
expect_exit 1 w verify d
expect_grep "missing" "$TMP/out"
expect_grep "extra" "$TMP/out"

# a manifest path leaving the directory
fresh
sed -i "s|\"data/$first\"|\"../x\"|" d/manifest.json
expect_exit 1 w verify d
expect_grep "unsafe-path" "$TMP/out"
fresh
sed -i "s|\"data/$first\"|\"/etc/passwd\"|" d/manifest.json
expect_exit 1 w verify d
expect_grep "/etc/passwd: unsafe-path" "$TMP/out"
if grep -q "d//etc/passwd" "$TMP/out"; then fail "absolute path shown under DIR"; fi

# an unreadable manifest
fresh
echo '{"format":' >d/manifest.json
expect_exit 1 w verify d
expect_grep "manifest" "$TMP/out"
rm -rf d
mkdir d
expect_exit 1 w verify d
expect_grep "manifest" "$TMP/out"

# machine-readable report
fresh
rm "d/data/$second"
expect_exit 1 w verify --json d
expect_grep '"ok": false' "$TMP/out"
expect_grep '"kind": "missing"' "$TMP/out"
expect_exit 0 w verify --json good
expect_grep '"ok": true' "$TMP/out"

# Behaviour at the ends of a pipe: a reader that goes away, a full disk.
. "$TOP_SRCDIR/tests/cli/lib.sh"

jsonl="$SAMPLE_DIR/sample.jsonl"
for i in 1 2 3 4 5 6 7 8 9 10; do cat "$jsonl"; done >big.jsonl

# | head -1 ends quietly with status 0
out=$( (w read big.jsonl 2>err2.txt; echo "exit=$?" >status.txt) | head -1)
[ -n "$out" ] || fail "head got nothing"
expect_grep "exit=0" status.txt
[ ! -s err2.txt ] || fail "closed pipe printed: $(cat err2.txt)"

# stdin works, as '-' and as nothing
w read - <"$jsonl" | cmp - "$jsonl" || fail "read - differs"
w read <"$jsonl" | cmp - "$jsonl" || fail "read from stdin differs"
zstd -qc "$jsonl" | w read | cmp - "$jsonl" || fail "compressed stdin differs"

# a full disk is an error with exit 3
if [ -w /dev/full ]; then
	expect_exit 3 sh -c "'$WINNOW' read big.jsonl >/dev/full"
	expect_grep "No space left on device" "$TMP/err"
	expect_exit 3 sh -c "'$WINNOW' help >/dev/full"
fi

# Every command has help; usage errors exit 2 with a message.
. "$TOP_SRCDIR/tests/cli/lib.sh"

expect_exit 0 w help
for cmd in read filter dedup tokenize detokenize shard verify stats dedup-index merge run help version; do
	expect_grep "$cmd" "$TMP/out"
done

for cmd in read filter dedup tokenize detokenize shard verify stats dedup-index merge run; do
	expect_exit 0 w "$cmd" --help
	expect_grep "usage: winnow $cmd" "$TMP/out"
	cp "$TMP/out" "$TMP/help1"
	expect_exit 0 w help "$cmd"
	cmp "$TMP/out" "$TMP/help1" || fail "'help $cmd' differs from '$cmd --help'"
	expect_exit 0 w "$cmd" -h
	cmp "$TMP/out" "$TMP/help1" || fail "'$cmd -h' differs from '$cmd --help'"
done

# The docs page of each command shows the same synopsis as --help.
for cmd in read filter dedup tokenize detokenize shard verify stats dedup-index merge run; do
	w "$cmd" --help | head -1 | sed 's/^usage: //' >"$TMP/synopsis"
	grep -qF -- "$(cat "$TMP/synopsis")" "$TOP_SRCDIR/docs/winnow-$cmd.md" ||
		fail "docs/winnow-$cmd.md does not show: $(cat "$TMP/synopsis")"
done

expect_exit 0 w shard --help
for opt in --output --max-size --max-records --split --validation --seed --level --force \
	--threads --quiet --stats --text-field --id-field; do
	expect_grep "$opt" "$TMP/out"
done
expect_exit 0 w read --help
for opt in --format --delimiter --no-header --add-id --on-error --rejects --max-record-size; do
	expect_grep "$opt" "$TMP/out"
done

expect_exit 0 w version
grep -Eq '^winnow [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/out" || fail "version: $(cat "$TMP/out")"
expect_exit 0 w --version

expect_exit 2 w
expect_exit 2 w frobnicate
expect_grep "winnow: unknown command 'frobnicate'" "$TMP/err"
expect_exit 2 w read --bogus
expect_grep "winnow: read: unknown option '--bogus'" "$TMP/err"
expect_exit 2 w shard
expect_grep "winnow: shard: an output directory is required (-o DIR)" "$TMP/err"
expect_exit 2 w shard -o out --level 40 </dev/null
expect_exit 2 w read x.jsonl then shard -o d y.jsonl
expect_grep "only the first stage reads files" "$TMP/err"
expect_exit 2 w verify
expect_exit 2 w run
expect_exit 2 w help nosuch

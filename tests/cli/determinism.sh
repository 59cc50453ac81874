# The same input and options give byte-identical datasets, whatever the
# thread count and however the stages are joined.
. "$TOP_SRCDIR/tests/cli/lib.sh"

csv="$SAMPLE_DIR/sample.csv"
jsonl="$SAMPLE_DIR/sample.jsonl"

# two runs: identical directories (no timestamps or host names); the card
# is titled after the directory's name, the same here
mkdir run1 run2
w read "$csv" "$jsonl" then shard -o run1/ds --max-size 48KiB --validation 0.1 -q
(cd run2 && w read "$csv" "$jsonl" then shard -o ds --max-size 48KiB --validation 0.1 -q)
diff -r run1/ds run2/ds || fail "two runs differ"

# --threads 1 and --threads 2: identical bytes, on input large enough for
# zstd to cut several jobs
for i in 1 2 3 4 5 6 7 8; do cat "$jsonl"; done >big.jsonl
for n in 1 2 3; do
	mkdir "t$n"
	w shard -o "t$n/ds" --threads "$n" --max-size 1MiB -q big.jsonl
done
diff -r t1/ds t2/ds || fail "--threads 1 and 2 differ"
diff -r t1/ds t3/ds || fail "--threads 1 and 3 differ"


# pipe form and 'then' form: identical shards and SHA256SUMS
w read "$csv" "$jsonl" | w shard -o p1 --max-size 48KiB -q
w read "$csv" "$jsonl" then shard -o p2 --max-size 48KiB -q
diff -r p1/data p2/data || fail "pipe and then forms give different shards"
cmp p1/SHA256SUMS p2/SHA256SUMS || fail "pipe and then forms give different SHA256SUMS"

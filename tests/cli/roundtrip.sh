# read -> shard -> verify on the bundled sample: a Hub-ready dataset whose
# shards give back exactly the input records.
. "$TOP_SRCDIR/tests/cli/lib.sh"

csv="$SAMPLE_DIR/sample.csv"
jsonl="$SAMPLE_DIR/sample.jsonl"
w read "$csv" "$jsonl" >records.jsonl
[ -s records.jsonl ] || fail "no records read"
lines=$(wc -l <records.jsonl)
[ "$lines" -ge 100 ] || fail "only $lines records in the sample"
# JSONL passes through byte for byte
w read "$jsonl" | cmp - "$jsonl" || fail "JSONL was not passed through unchanged"

# one split, several shards: order is kept
expect_exit 0 w read "$csv" "$jsonl" then shard -o ds --max-size 64KiB --quiet
ls ds/data/train-00000-of-*.jsonl.zst >/dev/null || fail "no train shards"
nshards=$(ls ds/data | wc -l)
[ "$nshards" -ge 2 ] || fail "expected several shards, got $nshards"
for f in ds/data/*; do
	case "$f" in
	*/train-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9].jsonl.zst) ;;
	*) fail "unexpected shard name $f" ;;
	esac
	zstd -tq "$f" || fail "zstd -t rejects $f"
	size=$(stat -c %s "$f")
	[ "$size" -le 65536 ] || fail "$f is $size bytes, over --max-size"
done
dataset_records ds | cmp - records.jsonl || fail "shards do not hold the input records in order"
(cd ds && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c failed"
expect_exit 0 w verify ds
expect_grep "OK: $nshards shards" "$TMP/out"
expect_exit 0 w verify --deep ds
expect_exit 0 w verify ds/manifest.json

# the manifest, the card
expect_grep '"root_sha256"' ds/manifest.json
expect_grep "\"records\": $lines" ds/manifest.json
root=$(sha256sum ds/SHA256SUMS | cut -d' ' -f1)
expect_grep "$root" ds/manifest.json
head -1 ds/README.md | grep -qx -- '---' || fail "card has no YAML front matter"
expect_grep 'config_name: default' ds/README.md
expect_grep 'path: "data/train-*"' ds/README.md
# the pipeline is recorded without the output directory
expect_grep '"pipeline": "read ' ds/manifest.json
if grep -q -- '-o ds' ds/manifest.json; then fail "output dir recorded in manifest"; fi

# a validation split chosen by hash: both splits together hold every record
expect_exit 0 w read "$csv" "$jsonl" then shard -o ds2 --validation 0.2 --seed 7 -q
ls ds2/data/validation-00000-of-*.jsonl.zst >/dev/null || fail "no validation shard"
expect_grep 'split: validation' ds2/README.md
dataset_records ds2 | sort >all.sorted
sort records.jsonl | cmp - all.sorted || fail "splits lose or add records"
nval=$(for f in ds2/data/validation-*; do zstd -dcq "$f"; done | wc -l)
[ "$nval" -gt 0 ] && [ "$nval" -lt "$lines" ] || fail "validation holds $nval of $lines"
expect_exit 0 w verify --deep ds2

# --max-records closes shards exactly
expect_exit 0 w read "$jsonl" then shard -o ds3 --max-records 50 -q
for f in ds3/data/*; do
	n=$(zstd -dcq "$f" | wc -l)
	case "$f" in
	*-00000-of-*) [ "$n" -eq 50 ] || fail "$f holds $n records" ;;
	esac
done

# an existing non-empty directory is refused without --force
expect_exit 2 w read "$jsonl" then shard -o ds3 -q
expect_grep "ds3" "$TMP/err"
expect_exit 0 w read "$jsonl" then shard -o ds3 --force -q
expect_exit 0 w verify ds3

# the same through a pipeline file
cat >job.wn <<JOB
# the bundled sample
read "$csv" "$jsonl"
shard -o ds4 --max-size 64KiB
JOB
expect_exit 0 w run -q job.wn
diff -r ds/data ds4/data >/dev/null || fail "pipeline file and 'then' form give different shards"
cmp ds/manifest.json ds4/manifest.json || fail "pipeline file and 'then' form give different manifests"

# --stats
expect_exit 0 w read "$jsonl" then shard -o ds5 --stats stats.json -q
expect_grep '"stage": "read"' stats.json
expect_grep '"stage": "shard"' stats.json

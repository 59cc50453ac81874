# merge: four ranks' datasets joined into one hold the records of a single
# run over the whole input, in its order, and verify; what does not belong
# together is refused; inputs survive; an interrupted merge can be re-run.
. "$TOP_SRCDIR/tests/cli/lib.sh"

# A number from the "totals" object of a manifest.
total() {
	sed -n '/"totals"/,/}/p' "$1/manifest.json" | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p"
}

# The records of a dataset, its shards decompressed in manifest order.
records_in_order() {
	sed -n 's/.*"path": "\(.*\)",$/\1/p' "$1/manifest.json" | while read -r p; do
		zstd -dcq "$1/$p"
	done
}

# The shard names a merge must give a split: i of n, i from 0.
names() {
	i=0
	while [ "$i" -lt "$2" ]; do
		printf '%s-%05d-of-%05d%s\n' "$1" "$i" "$2" "$3"
		i=$((i + 1))
	done
}

count() { ls "$1" 2>/dev/null | grep -c "$2" || true; }

cat "$SAMPLE_DIR/sample.jsonl" "$SAMPLE_DIR/sample.jsonl" >all.jsonl
lines=$(wc -l <all.jsonl)
q=$(((lines + 3) / 4))
head -n "$q" all.jsonl >p0.jsonl
tail -n +$((q + 1)) all.jsonl | head -n "$q" >p1.jsonl
tail -n +$((2 * q + 1)) all.jsonl | head -n "$q" >p2.jsonl
tail -n +$((3 * q + 1)) all.jsonl >p3.jsonl
cat p0.jsonl p1.jsonl p2.jsonl p3.jsonl | cmp - all.jsonl || fail "the parts do not add up"

opts="--max-size 8KiB --validation 0.1"
for r in 0 1 2 3; do
	w read "p$r.jsonl" then filter --min-words 5 then shard -q -o "rank$r" $opts
done
w read all.jsonl then filter --min-words 5 then shard -q -o single $opts

expect_exit 0 w merge -o merged rank0 rank1 rank2 rank3
expect_grep "from 4 datasets, linked into merged" "$TMP/err"
expect_exit 0 w verify merged
expect_exit 0 w verify --deep merged
expect_grep "every record" "$TMP/out"

# the records of the single run, in the same order
records_in_order merged >merged.jsonl
records_in_order single >single.jsonl
[ -s single.jsonl ] || fail "the single run wrote nothing"
cmp merged.jsonl single.jsonl || fail "merged records differ from the single run's"

# shards numbered across the ranks: each had several, the merge holds them all
ntrain=0
nval=0
for r in 0 1 2 3; do
	n=$(count "rank$r/data" '^train-')
	[ "$n" -ge 2 ] || fail "rank$r has $n train shards; the test wants several"
	ntrain=$((ntrain + n))
	nval=$((nval + $(count "rank$r/data" '^validation-')))
done
[ "$nval" -ge 1 ] || fail "no validation shards"
{ names train "$ntrain" .jsonl.zst; names validation "$nval" .jsonl.zst; } >want-names
ls merged/data | cmp - want-names || fail "shard names are not numbered globally"
# rank 1's first train shard follows rank 0's last
n0=$(count rank0/data '^train-')
cmp "rank1/data/$(ls rank1/data | grep '^train-' | head -1)" \
	"merged/data/$(printf 'train-%05d-of-%05d.jsonl.zst' "$n0" "$ntrain")" ||
	fail "rank 1's first shard is not where it belongs"

# totals: the sums of the ranks'
for key in shards records bytes raw_bytes; do
	sum=0
	for r in 0 1 2 3; do sum=$((sum + $(total "rank$r" "$key"))); done
	[ "$(total merged "$key")" = "$sum" ] || fail "totals.$key is $(total merged "$key"), not $sum"
done
[ "$(total merged records)" = "$(total single records)" ] || fail "record count differs"
expect_grep "| total | $(total merged records) | $((ntrain + nval)) |" merged/README.md
expect_grep 'path: "data/validation-*"' merged/README.md
# SHA256SUMS checks without winnow, and the root hash is its hash
(cd merged && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c failed"
root=$(sha256sum merged/SHA256SUMS | cut -d' ' -f1)
expect_grep "\"root_sha256\": \"$root\"" merged/manifest.json
# nothing else: the marker of a merge under way is gone
[ "$(ls -A merged | tr '\n' ' ')" = "README.md SHA256SUMS data manifest.json " ] ||
	fail "merged holds: $(ls -A merged)"

# merging merges (per node, then all) gives the same dataset
w merge -q -o half01 rank0 rank1
w merge -q -o half23 rank2 rank3
expect_exit 0 w merge -o halves half01 half23
cmp halves/manifest.json merged/manifest.json || fail "a merge of merges differs"

# the inputs are intact, their shards linked, not copied
for r in 0 1 2 3; do
	expect_exit 0 w verify "rank$r"
done
f=$(ls rank2/data | head -1)
[ "$(stat -c %h "rank2/data/$f")" = 4 ] || fail "rank2/data/$f is not hard-linked"

# the ranks of one run over the same input (read --rank R --world-size 4):
# the merge is the single run, record for record, with the same pipeline
if w read --help | grep -q -- --world-size; then
	for r in 0 1 2 3; do
		w read all.jsonl --rank "$r" --world-size 4 then filter --min-words 5 \
			then shard -q -o "of4-$r" $opts
	done
	expect_exit 0 w merge -o of4 of4-0 of4-1 of4-2 of4-3
	expect_exit 0 w verify --deep of4
	records_in_order of4 | cmp - single.jsonl || fail "--rank: merged records differ"
	[ "$(grep '"pipeline"' of4/manifest.json)" = "$(grep '"pipeline"' single/manifest.json)" ] ||
		fail "--rank: the merged pipeline is not the single run's"
fi

# ---- refusals ----------------------------------------------------------------

# a flipped byte in an input: exit 1, the directory and the shard named, nothing made
cp -r rank2 bad2
f=$(ls bad2/data | sed -n 2p)
printf 'X' | dd of="bad2/data/$f" bs=1 seek=100 conv=notrunc status=none
expect_exit 1 w merge -o res rank0 rank1 bad2 rank3
expect_grep "bad2 does not verify: bad2/data/$f: sha256" "$TMP/err"
[ ! -e res ] || fail "a refused merge made its output"

# another pipeline (another filter option)
w read p1.jsonl then filter --min-words 6 then shard -q -o other1 $opts
expect_exit 1 w merge -o res rank0 other1
expect_grep "other1 was made by another pipeline than rank0" "$TMP/err"
expect_grep "filter --min-words 6" "$TMP/err"
# other shard options are another pipeline too
w read p1.jsonl then filter --min-words 5 then shard -q -o other2 --max-size 9KiB --validation 0.1
expect_exit 1 w merge -o res rank0 other2
expect_grep "another pipeline" "$TMP/err"
# the pipe form records only its last command: another pipeline as recorded
w read p1.jsonl | w filter --min-words 5 | w shard -q -o piped $opts
expect_exit 1 w merge -o res rank0 piped
[ ! -e res ] || fail "a refused merge made its output"

# the same directory twice
expect_exit 2 w merge -o res rank0 rank0
expect_grep "the same directory" "$TMP/err"

# a non-empty output, a complete one, an output inside an input
mkdir full && echo notes >full/notes.txt
expect_exit 2 w merge -o full rank0 rank1
expect_grep "full: output directory is not empty" "$TMP/err"
expect_exit 2 w merge -o merged rank0 rank1
expect_exit 0 w verify --deep merged
expect_exit 2 w merge -o rank0/sub rank0 rank1
expect_grep "must not be an input (rank0)" "$TMP/err"
expect_exit 2 w merge -o res
expect_exit 2 w merge rank0
expect_exit 2 w merge -o res rank0 then shard -o x

# --force replaces an earlier dataset
cp -r merged again
expect_exit 0 w merge -q --force -o again rank0 rank1
expect_exit 0 w verify --deep again
[ "$(total again records)" = $(($(total rank0 records) + $(total rank1 records))) ] ||
	fail "--force: wrong record count"

# ---- an interrupted merge ------------------------------------------------------

# what a crash leaves (the marker, some shards, no manifest) is cleared by the
# next merge into the same directory
cp -r merged crashed
rm crashed/manifest.json "crashed/data/$(ls crashed/data | sed -n 3p)"
echo >crashed/.winnow-merge.tmp
expect_exit 0 w merge -o crashed rank0 rank1 rank2 rank3
expect_grep "removing what an interrupted merge left" "$TMP/err"
expect_exit 0 w verify --deep crashed
records_in_order crashed | cmp - single.jsonl || fail "re-run after a crash differs"

# kill -9 while a merge of many shards places them (once its marker is
# there, after a number of its shards): the output is complete or has no
# manifest, and running the merge again completes it
for r in 0 1 2 3; do
	w read "p$r.jsonl" then filter --min-words 5 then shard -q -o "many$r" --max-records 2 --validation 0.1
done
[ "$(count many0/data '^train-')" -ge 40 ] || fail "want about 50 shards per rank"
w merge -q -o many-ref many0 many1 many2 many3
states=
for k in 0 1 20 60 120 180 220 500; do
	rm -rf killed
	"$WINNOW" merge -q -o killed many0 many1 many2 many3 &
	pid=$!
	# bounded waits: a process that ended stays a zombie until waited for
	n=0
	while [ ! -e killed/.winnow-merge.tmp ] && [ ! -e killed/manifest.json ] &&
		[ "$n" -lt 200000 ]; do n=$((n + 1)); done
	n=0
	while [ ! -e killed/manifest.json ] && [ "$n" -lt 1000 ] &&
		[ "$(ls killed/data 2>/dev/null | wc -l)" -lt "$k" ]; do n=$((n + 1)); done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -e killed/manifest.json ]; then
		states="$states complete"
	else
		if [ -e killed/.winnow-merge.tmp ]; then
			states="$states partial:$(ls killed/data | wc -l)"
		else
			states="$states none"
		fi
		expect_exit 0 w merge -q -o killed many0 many1 many2 many3
	fi
	# the hashes of every record are in the manifest
	expect_exit 0 w verify --deep killed
	cmp killed/manifest.json many-ref/manifest.json || fail "kill $k: manifest differs"
done
echo "merge killed at:$states" >&2
for r in 0 1 2 3; do expect_exit 0 w verify "many$r"; done

# ---- move, copy ----------------------------------------------------------------

cp -al rank0 m0
cp -al rank1 m1
echo mine >m1/notes.txt
expect_exit 0 w merge --move -o moved m0 m1
expect_grep "m1: left in place" "$TMP/err"
expect_grep "(inputs removed)" "$TMP/err"
expect_exit 0 w verify --deep moved
[ ! -e m0 ] || fail "--move left m0"
[ -e m1/notes.txt ] && [ ! -e m1/manifest.json ] && [ ! -e m1/data ] ||
	fail "--move: m1 should keep only notes.txt"

# another filesystem: refused without --copy, copied with it
other=/dev/shm
if [ -d "$other" ] && [ -w "$other" ] && [ "$(stat -c %d "$other")" != "$(stat -c %d .)" ]; then
	dest=$(mktemp -d "$other/winnow-merge.XXXXXX")
	expect_exit 2 w merge -o "$dest/out" rank0 rank1
	expect_grep "on different filesystems" "$TMP/err"
	expect_grep "--copy" "$TMP/err"
	[ ! -e "$dest/out" ] || { rm -rf "$dest"; fail "a refused merge made its output"; }
	expect_exit 0 w merge --copy -o "$dest/out" rank0 rank1
	expect_grep "copied into" "$TMP/err"
	ok=0
	w verify -q --deep "$dest/out" && ok=1
	rm -rf "$dest"
	[ "$ok" = 1 ] || fail "the copied dataset does not verify"
else
	echo "note: no second filesystem at $other; --copy not tested" >&2
fi

# ---- token shards -----------------------------------------------------------------

if ! command -v python3 >/dev/null; then
	echo "SKIP (in part): python3 is needed to write the test tokenizer" >&2
	exit 0
fi
python3 "$TOP_SRCDIR/tests/tokenizer/make_tiny_tokenizer.py" >tiny.json
tok="then tokenize -t tiny.json then shard -q -f megatron -t tiny.json --max-tokens 20000 --validation 0.2"
for r in 0 1 2 3; do
	w read "p$r.jsonl" $tok -o "meg$r"
done
w read all.jsonl $tok -o meg-single
expect_exit 0 w merge -o meg meg0 meg1 meg2 meg3
expect_grep "tokens in" "$TMP/err"
expect_exit 0 w verify --deep meg
mt=0
md=0
for r in 0 1 2 3; do
	mt=$((mt + $(total "meg$r" tokens)))
	md=$((md + $(total "meg$r" documents)))
done
[ "$(total meg tokens)" = "$mt" ] || fail "tokens: $(total meg tokens), not $mt"
[ "$(total meg documents)" = "$md" ] || fail "documents: $(total meg documents), not $md"
[ "$(total meg tokens)" = "$(total meg-single tokens)" ] || fail "tokens differ from the single run"
expect_grep "| total | $md | $mt |" meg/README.md
# each .bin keeps its .idx under one name; the token streams are the single run's
ntok=$((($(total meg files)) / 2))
[ "$(ls meg/data | grep -c '\.bin$')" = "$ntok" ] || fail "bin files"
for b in meg/data/*.bin; do
	[ -e "${b%.bin}.idx" ] || fail "$b has no .idx"
done
for s in train validation; do
	cat meg-single/data/$s-*.bin >want.bin
	cat meg/data/$s-*.bin | cmp - want.bin || fail "$s tokens differ from the single run"
done
# indexes from the first and the last rank read as Megatron's, with their tokens
for i in meg/data/train-00000-of-*.idx "$(ls meg/data/validation-*.idx | tail -1)"; do
	n=$(python3 "$TOP_SRCDIR/tests/tokenizer/read_megatron_idx.py" "$i" | sed -n 's/^tokens[: ]*//p')
	[ "$(($(stat -c %s "${i%.idx}.bin") / 2))" = "$n" ] || fail "$i does not read as a Megatron index"
done
# a token dataset does not merge with a JSONL one
expect_exit 1 w merge -o res rank0 meg1
expect_grep "meg1 holds megatron shards, rank0 holds jsonl shards" "$TMP/err"
for r in 0 1 2 3; do expect_exit 0 w verify "meg$r"; done

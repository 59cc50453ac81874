# shard --resume: a run interrupted anywhere (kill -9 at each point that
# matters and at random moments, a torn or damaged journal, a full disk)
# resumes to the bytes of an uninterrupted run, and `verify` passes; a resume
# with other options or a changed input is refused and changes nothing.
#
# Exact interruption points come from WINNOW_TEST_CRASH=EVENT:K, which makes
# the writer kill itself with SIGKILL at the K-th EVENT (src/dataset/ds_write.c):
# shard (a shard complete, not yet journaled), journal (just journaled), torn
# (half a journal line written), rename (finish renamed a shard), top (finish
# wrote README.md, SHA256SUMS, manifest.json).
. "$TOP_SRCDIR/tests/cli/lib.sh"

gen=$(dirname "$WINNOW")/tools/gen-corpus
[ -x "$gen" ] || fail "tools/gen-corpus is not built"

# ---- a full disk, on a small tmpfs ------------------------------------------
# Run by the main part below, directly when root, else through sudo or in a
# user namespace (where this script runs again with RESUME_ENOSPC_ONLY set).
full_disk() {
	mnt=$TMP/full
	mkdir -p "$mnt"
	$MOUNT -t tmpfs -o "size=3m$MOUNT_OPTS" tmpfs "$mnt" 2>"$TMP/mount.err" || return 77
	trap '$UMOUNT "$mnt" 2>/dev/null; rm -rf "$TMP"' EXIT
	# Leave about 1 MB free for a dataset of about 2.3 MB.
	head -c 2000000 /dev/zero >"$mnt/filler" || true
	expect_exit 3 w $PIPE "$mnt/o" -q
	expect_grep "No space left on device" "$TMP/err"
	expect_grep "$mnt/o/" "$TMP/err"
	# Nothing that looks complete: no top file, no shard under a final name.
	for f in manifest.json SHA256SUMS README.md; do
		[ ! -e "$mnt/o/$f" ] || fail "a full disk left $f"
	done
	[ -z "$(ls "$mnt/o/data")" ] || fail "a full disk left shards under final names: $(ls "$mnt/o/data")"
	[ -e "$mnt/o/.winnow-journal.jsonl" ] || fail "a full disk lost the journal"
	expect_exit 1 w verify "$mnt/o"
	rm -f "$mnt/filler"
	expect_exit 0 w $PIPE "$mnt/o" --resume
	expect_grep "resuming $mnt/o: kept" "$TMP/err"
	same_as_ref "$mnt/o" "a full disk, then --resume"
	$UMOUNT "$mnt"
	trap 'rm -rf "$TMP"' EXIT
	return 0
}

# ---- the corpus, the pipeline and the reference ------------------------------
mkdir in
"$gen" -n 2560K -s 5 "$SAMPLE_DIR/sample.jsonl" >in/a.jsonl
"$gen" -n 1536K -s 6 "$SAMPLE_DIR/sample.jsonl" >in/b.jsonl
# Exact duplicates for dedup to drop.
head -n 150 in/a.jsonl >>in/b.jsonl
PIPE="read in then filter --min-words 30 then dedup then shard --name corpus --max-size 64KiB --validation 0.1 -o"
w $PIPE ref -q
nshards=$(ls ref/data | wc -l)
[ "$nshards" -ge 20 ] || fail "only $nshards shards in the reference"
[ ! -e ref/.winnow-journal.jsonl ] || fail "a finished run left its journal"

# same_as_ref DIR WHAT: every file of DIR is byte-identical to the reference
# (no file more, none less), and DIR verifies, deep too.
same_as_ref() {
	diff -r ref "$1" >"$TMP/diff" 2>&1 || { head -20 "$TMP/diff" >&2; fail "$2: differs from an uninterrupted run"; }
	[ "$(ls -A "$1")" = "$(ls -A ref)" ] || fail "$2: other files at the top: $(ls -A "$1")"
	w verify -q "$1" >/dev/null 2>&1 || fail "$2: verify fails"
	w verify -q --deep "$1" >/dev/null 2>&1 || fail "$2: verify --deep fails"
}

if [ -n "${RESUME_ENOSPC_ONLY:-}" ]; then
	MOUNT=mount UMOUNT=umount MOUNT_OPTS=
	full_disk
	exit $?
fi

# crash EVENT:K DIR [OPTIONS]: run the pipeline, killed at that point.
crash() {
	ev=$1 dir=$2
	shift 2
	expect_exit 137 env WINNOW_TEST_CRASH="$ev" "$WINNOW" $PIPE "$dir" -q "$@"
}

# ---- kill -9 at each point that matters ---------------------------------------
last=$(($(ls ref/data | wc -l)))
for ev in shard:1 shard:9 journal:1 journal:17 torn:1 torn:14 rename:1 rename:$last top:1 top:2 top:3; do
	rm -rf o
	crash "$ev" o
	case $ev in
	top:3) [ -e o/manifest.json ] || fail "$ev: no manifest" ;;
	*) [ ! -e o/manifest.json ] || fail "$ev: a manifest before the end" ;;
	esac
	case $ev in
	rename:* | top:*) ;;
	*) [ -z "$(ls o/data)" ] || fail "$ev: final shard names before finish" ;;
	esac
	# Without --resume the directory is refused, with a hint.
	expect_exit 2 w $PIPE o -q
	expect_grep "interrupted run" "$TMP/err"
	expect_grep "--resume" "$TMP/err"
	expect_exit 0 w $PIPE o --resume
	expect_grep "resuming o: kept" "$TMP/err"
	same_as_ref o "kill at $ev"
done

# What is kept: a shard complete but not journaled is made again; a
# journaled one is kept.
rm -rf o
crash shard:5 o
expect_exit 0 w $PIPE o --resume
expect_grep "kept 4 shards" "$TMP/err"
rm -rf o
crash journal:5 o
# One run at a time in a directory.
if command -v flock >/dev/null; then
	expect_exit 2 flock o "$WINNOW" $PIPE o --resume
	expect_grep "another run is writing this directory" "$TMP/err"
fi
# --threads changes nothing.
expect_exit 0 w $PIPE o --resume --threads 1
expect_grep "kept 5 shards" "$TMP/err"
same_as_ref o "kept 5"

# A resumed run killed again, then resumed again.
rm -rf o
crash journal:6 o
crash journal:4 o --resume
crash rename:3 o --resume
expect_exit 0 w $PIPE o --resume
expect_grep "kept $nshards shards" "$TMP/err"
same_as_ref o "three interruptions"

# ---- the journal: torn, damaged ----------------------------------------------
rm -rf o
crash journal:12 o
j=o/.winnow-journal.jsonl
# Cut the last line short, as a crash in the middle of writing it would.
size=$(wc -c <"$j")
head -c $((size - 25)) "$j" >j.tmp && cat j.tmp >"$j"
expect_exit 0 w $PIPE o --resume
expect_grep "kept 11 shards" "$TMP/err"
same_as_ref o "a torn journal line"
# A damaged line in the middle: what follows it is not trusted either.
rm -rf o
crash journal:12 o
sed -i '6s/"records":/"records": /' "$j"
expect_exit 0 w $PIPE o --resume
expect_grep "kept 3 shards" "$TMP/err"
same_as_ref o "a damaged journal line"
# A kept shard whose file changed: it and the rest of its split are redone.
rm -rf o
crash journal:12 o
f=$(ls -A o/data | sort | sed -n 3p)
printf 'x' | dd of="o/data/$f" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_exit 0 w $PIPE o --resume
same_as_ref o "a damaged kept shard"

# ---- refused, and nothing changed --------------------------------------------
rm -rf o
crash journal:8 o
snapshot() { (cd o && find . -type f | sort | xargs sha256sum); }
snapshot >before
expect_exit 2 w read in then filter --min-words 31 then dedup then shard --name corpus --max-size 64KiB --validation 0.1 -o o --resume
expect_grep "cannot resume o: the pipeline differs" "$TMP/err"
expect_grep "--min-words 31" "$TMP/err"
expect_exit 2 w $PIPE o --resume --level 5
expect_grep "pipeline differs" "$TMP/err"
expect_exit 2 w $PIPE o --resume --force
expect_exit 2 w read in then filter --min-words 30 then dedup then shard --name other --max-size 64KiB --validation 0.1 -o o --resume
expect_grep "pipeline differs" "$TMP/err"
snapshot | cmp - before || fail "a refused resume changed the directory"
# A changed input file (one whose records went into the kept shards; the
# interrupted run had not reached in/b.jsonl): refused before anything is
# read.
grep -q '"path":"in/b.jsonl"' o/.winnow-journal.jsonl && fail "the test expects in/b.jsonl unread"
cp -p in/a.jsonl a.orig
echo '{"text":"one more record"}' >>in/a.jsonl
expect_exit 1 w $PIPE o --resume
expect_grep "cannot resume o: input in/a.jsonl changed" "$TMP/err"
snapshot | cmp - before || fail "a refused resume changed the directory"
cp -p a.orig in/a.jsonl
# Changed bytes behind an unchanged size and time: found when the records
# of the kept shards come again, and nothing kept is lost.
sed -i '3s/the/tha/' in/a.jsonl
touch -r a.orig in/a.jsonl
cmp -s in/a.jsonl a.orig && fail "the test input did not change"
expect_exit 1 w $PIPE o --resume
expect_grep "differ from the interrupted run's" "$TMP/err"
cp -p a.orig in/a.jsonl
expect_exit 0 w $PIPE o --resume
expect_grep "kept 8 shards" "$TMP/err"
same_as_ref o "after a refused resume"

# ---- other starts -------------------------------------------------------------
# Nothing to resume: a new directory is made as usual.
rm -rf o
expect_exit 0 w $PIPE o --resume -q
same_as_ref o "--resume of nothing"
# A finished dataset is not an interrupted run.
expect_exit 2 w $PIPE o --resume
expect_grep "nothing to resume" "$TMP/err"
# --force starts over.
rm -rf o
crash journal:3 o
expect_exit 0 w $PIPE o --force -q
same_as_ref o "--force over an interrupted run"
# Killed before the journal had its first line.
rm -rf o
crash journal:2 o
head -c 30 o/.winnow-journal.jsonl >j.tmp && cat j.tmp >o/.winnow-journal.jsonl
expect_exit 0 w $PIPE o --resume
expect_grep "kept 0 shards" "$TMP/err"
same_as_ref o "a torn first line"
# A bad record in a fresh run: its files go, as before; in a resumed run,
# what was kept stays.
rm -rf o
printf '{"text": "broken\n' >bad.jsonl
expect_exit 1 w read in bad.jsonl then shard -o o -q
[ ! -e o ] || fail "a failed run left $(ls -A o)"

# ---- the pipe form ------------------------------------------------------------
SHARD="shard --name corpus --max-size 64KiB --validation 0.1 -o"
w read in | w filter --min-words 30 | w dedup | w $SHARD pref -q
w read in | w filter --min-words 30 | w dedup | { env WINNOW_TEST_CRASH=journal:7 "$WINNOW" $SHARD p -q || echo $? >rc; }
[ "$(cat rc)" = 137 ] || fail "the pipe form was not killed"
w read in | w filter --min-words 30 | w dedup | w $SHARD p --resume 2>"$TMP/err"
expect_grep "kept 7 shards" "$TMP/err"
diff -r pref p || fail "the pipe form resumed to other bytes"

# ---- kill -9 at random moments --------------------------------------------------
# Timed against an uninterrupted run; a kill may land anywhere, from the
# start to after the end.
t0=$(date +%s%N)
w $PIPE timing -q
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
seed=${RESUME_SEED:-$(date +%s)}
echo "random kills: a full run takes ${ms} ms; RESUME_SEED=$seed" >&2
i=0
for delay in $(awk -v s="$seed" -v ms="$ms" 'BEGIN { srand(s); for (i = 0; i < 20; i++) printf "%.3f\n", rand() * ms * 1.1 / 1000 }'); do
	i=$((i + 1))
	rm -rf o
	"$WINNOW" $PIPE o -q &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -e o/.winnow-journal.jsonl ] || [ ! -e o/manifest.json ]; then
		expect_exit 0 w $PIPE o --resume -q
	fi
	same_as_ref o "random kill $i after ${delay}s (RESUME_SEED=$seed)"
done

# ---- token formats ----------------------------------------------------------------
if command -v python3 >/dev/null; then
	python3 "$TOP_SRCDIR/tests/tokenizer/make_tiny_tokenizer.py" >tiny.json
	for fmt in megatron datatrove nanogpt; do
		TPIPE="read in/b.jsonl then tokenize -t tiny.json then shard --name t --format $fmt -t tiny.json --max-tokens 60000 --validation 0.1 -o"
		w $TPIPE "tref-$fmt" -q
		[ "$(ls "tref-$fmt/data" | wc -l)" -ge 20 ] || fail "$fmt: too few files"
		for ev in journal:3 torn:5 rename:4; do
			rm -rf t
			expect_exit 137 env WINNOW_TEST_CRASH="$ev" "$WINNOW" $TPIPE t -q
			expect_exit 0 w $TPIPE t --resume -q
			diff -r "tref-$fmt" t || fail "$fmt: kill at $ev, then --resume: other bytes"
			w verify -q --deep t >/dev/null || fail "$fmt: verify --deep"
		done
	done
	# Other token ids for the kept documents (another tokenizer option):
	# the pipeline differs.
	rm -rf t
	TPIPE="read in/b.jsonl then tokenize -t tiny.json then shard --name t --format megatron -t tiny.json --max-tokens 60000 --validation 0.1 -o"
	expect_exit 137 env WINNOW_TEST_CRASH=journal:3 "$WINNOW" $TPIPE t -q
	expect_exit 2 w read in/b.jsonl then tokenize -t tiny.json --allow-special then shard --name t --format megatron -t tiny.json --max-tokens 60000 --validation 0.1 -o t --resume
	expect_grep "pipeline differs" "$TMP/err"
else
	echo "SKIP: token formats (python3 is needed to write the test tokenizer)" >&2
fi

# ---- a full disk -------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	MOUNT=mount UMOUNT=umount MOUNT_OPTS=
	full_disk || echo "SKIP: full disk: cannot mount a tmpfs: $(cat "$TMP/mount.err")" >&2
elif sudo -n true 2>/dev/null; then
	MOUNT="sudo -n mount" UMOUNT="sudo -n umount" MOUNT_OPTS=",uid=$(id -u),gid=$(id -g)"
	full_disk || echo "SKIP: full disk: cannot mount a tmpfs: $(cat "$TMP/mount.err")" >&2
elif command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then
	RESUME_ENOSPC_ONLY=1 unshare -rm "${SHELL:-/bin/sh}" "$TOP_SRCDIR/tests/cli/resume.sh" ||
		fail "full disk (in a user namespace)"
else
	echo "SKIP: full disk: not root, no sudo, no user namespaces to mount a tmpfs in" >&2
fi
exit 0

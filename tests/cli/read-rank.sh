# read --rank R --world-size W: the ranks together read every record once,
# and their outputs one after the other are the output of one read, byte for
# byte, with the same ids and the same file:line in errors.
. "$TOP_SRCDIR/tests/cli/lib.sh"

jsonl="$SAMPLE_DIR/sample.jsonl"
csv="$SAMPLE_DIR/sample.csv"

# split_equal NAME ARGS...: for W in 1 2 3 4 7, ranks 0..W-1 of
# `read ARGS` one after the other give the output of `read ARGS`.
split_equal() {
	name=$1
	shift
	w read "$@" >"whole-$name" || fail "$name: the whole read failed"
	for n in 1 2 3 4 7; do
		: >"cat-$name"
		r=0
		while [ "$r" -lt "$n" ]; do
			w read --rank "$r" --world-size "$n" "$@" >>"cat-$name" ||
				fail "$name: rank $r of $n failed"
			r=$((r + 1))
		done
		cmp -s "whole-$name" "cat-$name" || {
			diff "whole-$name" "cat-$name" | head -20 >&2
			fail "$name: ranks of $n differ from one read"
		}
	done
}

# One big JSONL file, spread over the ranks by byte ranges.
for i in 1 2 3 4 5 6 7 8; do cat "$jsonl"; done >big.jsonl
split_equal big --add-id big.jsonl
# each rank reads a share of the records, not all or nothing
w read --rank 1 --world-size 4 big.jsonl >r1
n1=$(wc -l <r1)
[ "$n1" -gt 300 ] && [ "$n1" -lt 650 ] || fail "rank 1 of 4 read $n1 of 1888 lines"

# A file of fewer records than ranks, and an empty file, alone.
head -n 2 "$jsonl" >two.jsonl
split_equal two --add-id two.jsonl
: >empty.jsonl
split_equal empty empty.jsonl

# Many files, whole: a directory of files of uneven sizes.
mkdir many
i=0
while [ "$i" -lt 40 ]; do
	head -n $((i % 9 + 1)) "$jsonl" >"many/part-$(printf %02d "$i").jsonl"
	i=$((i + 1))
done
split_equal many --add-id many

# Compressed and plain files mixed, with CSV, TSV, an empty file, a file of
# fewer records than ranks, CRLF line ends and a last line without a newline.
mkdir mixed
head -n 50 "$jsonl" | zstd -qc >mixed/a.jsonl.zst
sed -n '51,120p' "$jsonl" >mixed/b.jsonl
sed -n '121,150p' "$jsonl" | gzip -c >mixed/c.jsonl.gz
: >mixed/d-empty.jsonl
head -n 2 "$jsonl" >mixed/e-two.jsonl
sed -n '151,200p' "$jsonl" | sed 's/$/\r/' >mixed/f-crlf.jsonl
printf '\n\n{"text":"blank lines around"}\n\n' >>mixed/f-crlf.jsonl
sed -n '201,236p' "$jsonl" | head -c -1 >mixed/g-nofinal.jsonl
head -n 400 "$csv" >mixed/h.csv
printf 'a\tb\n1\t"x\ny"\n2\tz' >mixed/i.tsv
: >mixed/j-empty.csv
split_equal mixed --add-id mixed

# CSV with quoted line breaks everywhere, so that cuts fall inside quoted
# fields; CRLF and LF; doubled quotes; a lone CR ending a row.  gen_csv BAD:
# row BAD has a field too many.
gen_csv() {
	awk -v bad="$1" 'BEGIN {
		printf "id,text,note\r\n";
		for (i = 0; i < 3000; i++) {
			if (i == bad)
				printf "x,y,z,extra\n";
			if (i % 3 == 0)
				printf "%d,\"line one of %d\r\nline two, \"\"quoted\"\"\nthree\",n%d\r\n", i, i, i;
			else if (i % 3 == 1)
				printf "%d,plain %d,\"x\ny\"\n", i, i;
			else
				printf "%d,\"cr\",n\r", i;
		}
		printf "end,\"last\nrow\",no-newline";
	}'
}
gen_csv -1 >quoted.csv
split_equal quoted --add-id quoted.csv
split_equal quoted-nh --add-id --no-header quoted.csv

# the then form and a pipeline file split the same way
w read --rank 2 --world-size 3 big.jsonl >r2
w read --rank 2 --world-size 3 big.jsonl then filter --min-words 1 >r2-then
w read --rank 2 --world-size 3 big.jsonl | w filter --min-words 1 >r2-pipe
cmp -s r2-then r2-pipe || fail "then form differs from the pipe"
printf 'read --rank 2 --world-size 3 big.jsonl\n' >p.wn
w run p.wn >r2-run
cmp -s r2 r2-run || fail "pipeline file differs"

# A bad line in rank 2's range: the same file:line as one read.
awk 'NR == 1400 { print "{\"text\": broken}"; next } { print }' big.jsonl >bad.jsonl
expect_exit 1 w read bad.jsonl
grep "bad.jsonl:1400:" "$TMP/err" >err-whole || fail "no bad.jsonl:1400 in: $(cat "$TMP/err")"
expect_exit 0 w read --rank 1 --world-size 4 bad.jsonl
expect_exit 1 w read --rank 2 --world-size 4 bad.jsonl
cmp -s "$TMP/err" err-whole || fail "rank 2: $(cat "$TMP/err"), one read: $(cat err-whole)"
# and with --on-error=skip, the rejects of the ranks are those of one read
w read --on-error=skip --rejects rej-whole -q bad.jsonl >/dev/null
: >rej-cat
for r in 0 1 2 3; do
	w read --rank "$r" --world-size 4 --on-error=skip --rejects "rej-$r" -q bad.jsonl >/dev/null
	cat "rej-$r" >>rej-cat
done
cmp -s rej-whole rej-cat || fail "rejects differ: $(cat rej-cat)"
expect_grep '"line":1400' rej-whole

# the same in CSV: a row with a field too many, in rank 2's range
gen_csv 1700 >badq.csv
expect_exit 1 w read badq.csv
grep "badq.csv:" "$TMP/err" >err-whole || fail "no badq.csv error in: $(cat "$TMP/err")"
expect_grep "expected 3 fields, got 4" err-whole
for r in 0 1 3; do
	expect_exit 0 w read --rank "$r" --world-size 4 badq.csv
done
expect_exit 1 w read --rank 2 --world-size 4 badq.csv
cmp -s "$TMP/err" err-whole || fail "rank 2: $(cat "$TMP/err"), one read: $(cat err-whole)"

# --rank auto: a Slurm job array, also one that starts at 3 or steps by 2
w read --rank 2 --world-size 4 --add-id big.jsonl >want
env -u SLURM_ARRAY_TASK_STEP SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_MAX=6 \
	SLURM_ARRAY_TASK_COUNT=4 "$WINNOW" read --rank auto --add-id big.jsonl >got
cmp -s want got || fail "Slurm array 3-6, task 5 is not rank 2 of 4"
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=7 SLURM_ARRAY_TASK_STEP=2 \
	SLURM_ARRAY_TASK_COUNT=4 "$WINNOW" read --rank auto --add-id big.jsonl >got
cmp -s want got || fail "Slurm array 1-7:2, task 5 is not rank 2 of 4"
# Kubernetes: an Indexed Job's JOB_COMPLETION_INDEX, with --world-size
env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=2 \
	"$WINNOW" read --rank auto --world-size 4 --add-id big.jsonl >got
cmp -s want got || fail "JOB_COMPLETION_INDEX=2 is not rank 2 of 4"

# usage errors
expect_exit 2 w read --rank 4 --world-size 4 big.jsonl
expect_grep "rank 4 is out of range" "$TMP/err"
expect_exit 2 w read --rank 1 big.jsonl
expect_grep "--rank needs --world-size" "$TMP/err"
expect_exit 2 w read --world-size 2 big.jsonl
expect_grep "--world-size needs --rank" "$TMP/err"
expect_exit 2 w read --rank one --world-size 2 big.jsonl
expect_exit 2 env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX \
	"$WINNOW" read --rank auto --world-size 2 big.jsonl
expect_grep "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX" "$TMP/err"
expect_exit 2 env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=0 \
	"$WINNOW" read --rank auto big.jsonl
expect_grep "needs --world-size" "$TMP/err"
expect_exit 2 env SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=9 \
	SLURM_ARRAY_TASK_COUNT=3 "$WINNOW" read --rank auto big.jsonl
expect_grep "not a range" "$TMP/err"
expect_exit 2 env SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=3 \
	"$WINNOW" read --rank auto --world-size 4 big.jsonl
expect_exit 2 sh -c "'$WINNOW' read --rank 0 --world-size 2 - <big.jsonl"
expect_grep "standard input cannot be split" "$TMP/err"
expect_exit 2 sh -c "'$WINNOW' read --rank 0 --world-size 2 <big.jsonl"
# one rank of one is a plain read, standard input included
w read --rank 0 --world-size 1 <big.jsonl | cmp -s - big.jsonl || fail "rank 0 of 1 from stdin"

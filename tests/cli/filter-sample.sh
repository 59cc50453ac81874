# filter --sample: keeps the rate within 1% on 100k records, picks the same
# records on every run and thread count, and a smaller rate picks a subset.
. "$TOP_SRCDIR/tests/cli/lib.sh"

command -v jq >/dev/null || { echo "SKIP: jq is needed (tools/install-deps.sh installs it)" >&2; exit 77; }

awk 'BEGIN { for (i = 0; i < 100000; i++) printf "{\"id\":\"doc-%d\",\"text\":\"text %d\"}\n", i, i }' \
	>ids.jsonl
for rate in 0.1 0.5 0.9; do
	w filter --sample "$rate" --seed 7 ids.jsonl >s1.jsonl
	n=$(wc -l <s1.jsonl)
	awk -v n="$n" -v r="$rate" 'BEGIN { d = n / 100000 - r; if (d < 0) d = -d; exit !(d <= 0.01) }' ||
		fail "--sample $rate kept $n of 100000"
	w filter --sample "$rate" --seed 7 --threads 3 ids.jsonl >s2.jsonl
	cmp s1.jsonl s2.jsonl || fail "--sample $rate: a second run picked other records"
	cp s1.jsonl "keep-$rate.jsonl"
done
# a smaller rate keeps a subset of a larger one
jq -r .id keep-0.1.jsonl | sort >small.ids
jq -r .id keep-0.5.jsonl | sort >large.ids
comm -23 small.ids large.ids >extra
[ ! -s extra ] || fail "--sample 0.1 kept records --sample 0.5 dropped"
# another seed picks other records
w filter --sample 0.5 --seed 8 ids.jsonl >other.jsonl
cmp -s other.jsonl keep-0.5.jsonl && fail "--seed does not change the sample"
# the edges
w filter --sample 0 ids.jsonl >none.jsonl
[ ! -s none.jsonl ] || fail "--sample 0 kept records"
w filter --sample 1 ids.jsonl >all.jsonl
cmp all.jsonl ids.jsonl || fail "--sample 1 dropped records"
# without an id the text decides, the same way every time
jq -c '{text}' ids.jsonl | head -20000 >noid.jsonl
w filter --sample 0.5 noid.jsonl >a.jsonl
w filter --sample 0.5 noid.jsonl >b.jsonl
cmp a.jsonl b.jsonl || fail "--sample by text differs between runs"
n=$(wc -l <a.jsonl)
[ "$n" -gt 9000 ] && [ "$n" -lt 11000 ] || fail "--sample 0.5 by text kept $n of 20000"
# rejects get the reason "sample"
w filter --sample 0.5 --rejects rej.jsonl ids.jsonl >kept.jsonl
[ $(($(wc -l <kept.jsonl) + $(wc -l <rej.jsonl))) -eq 100000 ] || fail "kept + rejected != input"
[ "$(jq -r .metadata.reject_reason rej.jsonl | sort -u)" = sample ] || fail "reason is not sample"

/*
 * eval-neardup: precision and recall of near-duplicate detection on a corpus made by
 * gen-neardup, by Jaccard bucket; and the speed and memory of the MinHash library.
 *
 *     eval-neardup [--check] CORPUS RESULT      judge winnow's output
 *     eval-neardup [--check] [detection options] CORPUS
 *                                               judge the library, called directly
 *     eval-neardup --bench [detection options] CORPUS
 *                                               signature MB/s per kernel, index bytes
 *     eval-neardup --bench-index N [detection options]
 *                                               index bytes per document at N documents
 *
 * RESULT is what `winnow dedup --near` wrote for CORPUS: with --mark (a duplicate has
 * metadata.duplicate_of) or without (a duplicate is missing).  A CORPUS record counts
 * as dropped when RESULT has no record with its id, or its record there has
 * metadata.duplicate_of.
 *
 * Without RESULT the library decides, on the raw text, with the options --bands,
 * --rows, --ngram, --shingle, --seed, --preset and --verify-jaccard (defaults as in
 * src/dedup/minhash.h).
 *
 * True Jaccard is always word-5-gram Jaccard on the raw text (words as minhash.h
 * splits them), computed exactly:
 *   - recall: of the labelled pairs (metadata.neardup_of) in a bucket of the pair's
 *     true Jaccard, the share whose later document was dropped;
 *   - precision: of the dropped documents, the share whose highest true Jaccard with
 *     any earlier document is >= 0.5.
 * The "expected" column is the mean of 1 - (1 - J^rows)^bands over the bucket's pairs,
 * for the options given (or the defaults).  "cluster" is the share of found pairs whose
 * duplicate_of is the base (or what the base itself duplicates).
 * --check exits 1 unless recall at J >= 0.8 is >= 0.90 and precision >= 0.95.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <jansson.h>

#include "dedup/minhash.h"

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("eval-neardup: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die("out of memory");
	return d;
}

/* ---- the corpus ---------------------------------------------------------- */

struct doc {
	char *id, *text, *base_id;  /* base_id: metadata.neardup_of, or NULL */
	size_t len;
	size_t base;                /* index of the base, or SIZE_MAX */
	uint64_t *sh;               /* sorted distinct shingle hashes */
	size_t nsh;
	int dropped;
	char *dup_of;               /* RESULT's duplicate_of, or NULL */
	double maxj;                /* highest true J with an earlier document */
};

static struct doc *docs;
static size_t ndocs;

/* id -> index: open addressing over FNV-1a */
static size_t *ids;
static size_t ids_cap;

static uint64_t fnv(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static size_t find_id(const char *id)
{
	if (!ids_cap)
		return SIZE_MAX;
	size_t i = fnv(id) & (ids_cap - 1);
	for (; ids[i] != SIZE_MAX; i = (i + 1) & (ids_cap - 1))
		if (!strcmp(docs[ids[i]].id, id))
			return ids[i];
	return SIZE_MAX;
}

static void index_ids(void)
{
	ids_cap = 16;
	while (ids_cap < ndocs * 2)
		ids_cap *= 2;
	ids = xrealloc(NULL, ids_cap * sizeof(*ids));
	memset(ids, 0xff, ids_cap * sizeof(*ids));
	for (size_t d = 0; d < ndocs; d++) {
		if (find_id(docs[d].id) != SIZE_MAX)
			die("duplicate id %s in the corpus", docs[d].id);
		size_t i = fnv(docs[d].id) & (ids_cap - 1);
		while (ids[i] != SIZE_MAX)
			i = (i + 1) & (ids_cap - 1);
		ids[i] = d;
	}
}

/* Calls fn for every JSON object of a JSONL file. */
static void each_record(const char *path, void (*fn)(json_t *o, void *arg), void *arg)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: cannot open", path);
	char *line = NULL;
	size_t cap = 0, no = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t e;
		no++;
		json_t *o = json_loadb(line, (size_t)n, 0, &e);
		if (!json_is_object(o))
			die("%s:%zu: not a JSON object", path, no);
		fn(o, arg);
		json_decref(o);
	}
	free(line);
	fclose(f);
}

static const char *get_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void add_doc(json_t *o, void *arg)
{
	static size_t cap;
	json_t *t = json_object_get(o, "text");
	const char *id = get_str(o, "id");
	json_t *m = json_object_get(o, "metadata");
	if (!json_is_string(t) || !id)
		die("corpus record %zu: no text or id", ndocs + 1);
	if (ndocs == cap) {
		cap = cap ? cap * 2 : 1024;
		docs = xrealloc(docs, cap * sizeof(*docs));
	}
	struct doc *d = &docs[ndocs++];
	memset(d, 0, sizeof(*d));
	d->id = xstrdup(id);
	d->len = json_string_length(t);
	d->text = xrealloc(NULL, d->len + 1);
	memcpy(d->text, json_string_value(t), d->len + 1);
	const char *b = m ? get_str(m, "neardup_of") : NULL;
	d->base_id = b ? xstrdup(b) : NULL;
	d->base = SIZE_MAX;
	(void)arg;
}

static void read_result(json_t *o, void *arg)
{
	const char *id = get_str(o, "id");
	json_t *m = json_object_get(o, "metadata");
	const char *dup = m ? get_str(m, "duplicate_of") : NULL;
	size_t d = id ? find_id(id) : SIZE_MAX;
	if (d == SIZE_MAX)
		die("result record with id %s is not in the corpus", id ? id : "(none)");
	int *present = arg;
	present[d] = 1;
	if (dup) {
		docs[d].dropped = 1;
		docs[d].dup_of = xstrdup(dup);
	}
}

/* ---- shingles and true Jaccard ------------------------------------------ */

struct set {
	uint64_t *v;
	size_t n, cap;
};

static void collect(uint64_t h, void *arg)
{
	struct set *s = arg;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = h;
}

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void shingle_all(void)
{
	struct wn_minhash_params p;
	struct wn_minhash *mh;
	wn_minhash_params_default(&p);
	if (wn_minhash_new(&mh, &p, NULL) < 0)
		die("cannot make a hasher");
	for (size_t i = 0; i < ndocs; i++) {
		struct set s = { 0 };
		wn_minhash_shingles(mh, docs[i].text, docs[i].len, collect, &s);
		if (s.n) {
			qsort(s.v, s.n, sizeof(*s.v), cmp64);
			size_t k = 1;
			for (size_t j = 1; j < s.n; j++)
				if (s.v[j] != s.v[k - 1])
					s.v[k++] = s.v[j];
			s.n = k;
		}
		docs[i].sh = s.v;
		docs[i].nsh = s.n;
	}
	wn_minhash_free(mh);
}

static double jaccard(const struct doc *a, const struct doc *b)
{
	size_t i = 0, j = 0, both = 0;
	if (!a->nsh && !b->nsh)
		return 1;
	while (i < a->nsh && j < b->nsh) {
		if (a->sh[i] == b->sh[j])
			both++, i++, j++;
		else if (a->sh[i] < b->sh[j])
			i++;
		else
			j++;
	}
	return (double)both / (double)(a->nsh + b->nsh - both);
}

/*
 * maxj of every document: walk the corpus in order with an inverted index from
 * shingle to the earlier documents holding it, counting shared shingles per earlier
 * document.
 */
static void max_jaccard(void)
{
	size_t cap = 1 << 16, n = 0;
	uint64_t *key = xrealloc(NULL, cap * sizeof(*key));
	uint32_t *head = xrealloc(NULL, cap * sizeof(*head));
	uint32_t *pdoc = NULL, *pnext = NULL;
	size_t np = 0, pcap = 0;
	uint32_t *count = calloc(ndocs ? ndocs : 1, sizeof(*count));
	uint32_t *touched = xrealloc(NULL, (ndocs ? ndocs : 1) * sizeof(*touched));
	if (!count)
		die("out of memory");
	memset(head, 0xff, cap * sizeof(*head));

	for (size_t d = 0; d < ndocs; d++) {
		struct doc *x = &docs[d];
		size_t nt = 0;
		x->maxj = 0;
		if ((n + x->nsh) * 2 > cap) {  /* grow the shingle map */
			size_t ncap = cap;
			while ((n + x->nsh) * 2 > ncap)
				ncap *= 2;
			uint64_t *k2 = xrealloc(NULL, ncap * sizeof(*k2));
			uint32_t *h2 = xrealloc(NULL, ncap * sizeof(*h2));
			memset(h2, 0xff, ncap * sizeof(*h2));
			for (size_t i = 0; i < cap; i++) {
				if (head[i] == UINT32_MAX)
					continue;
				size_t j = key[i] & (ncap - 1);
				while (h2[j] != UINT32_MAX)
					j = (j + 1) & (ncap - 1);
				k2[j] = key[i];
				h2[j] = head[i];
			}
			free(key);
			free(head);
			key = k2;
			head = h2;
			cap = ncap;
		}
		if (np + x->nsh > pcap) {
			pcap = (np + x->nsh) * 2;
			pdoc = xrealloc(pdoc, pcap * sizeof(*pdoc));
			pnext = xrealloc(pnext, pcap * sizeof(*pnext));
		}
		for (size_t s = 0; s < x->nsh; s++) {
			uint64_t h = x->sh[s];
			size_t j = h & (cap - 1);
			while (head[j] != UINT32_MAX && key[j] != h)
				j = (j + 1) & (cap - 1);
			if (head[j] == UINT32_MAX) {
				key[j] = h;
				n++;
			}
			for (uint32_t p = head[j]; p != UINT32_MAX; p = pnext[p])
				if (count[pdoc[p]]++ == 0)
					touched[nt++] = pdoc[p];
			pdoc[np] = (uint32_t)d;
			pnext[np] = head[j];
			head[j] = (uint32_t)np++;
		}
		for (size_t t = 0; t < nt; t++) {
			const struct doc *y = &docs[touched[t]];
			double j = (double)count[touched[t]] /
			           (double)(x->nsh + y->nsh - count[touched[t]]);
			if (j > x->maxj)
				x->maxj = j;
			count[touched[t]] = 0;
		}
	}
	free(key);
	free(head);
	free(pdoc);
	free(pnext);
	free(count);
	free(touched);
}

/* ---- the library, directly ---------------------------------------------- */

static double cpu_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void run_library(const struct wn_minhash_params *p, double verify)
{
	struct wn_minhash *mh;
	struct wn_minhash_index *idx;
	struct wn_error err;
	wn_error_clear(&err);
	if (wn_minhash_new(&mh, p, &err) < 0 || wn_minhash_index_new(&idx, p, verify, &err) < 0)
		die("%s", err.msg);
	uint64_t *sig = xrealloc(NULL, wn_minhash_params_hashes(p) * sizeof(*sig));
	for (size_t d = 0; d < ndocs; d++) {
		struct wn_minhash_match m;
		wn_minhash_signature(mh, docs[d].text, docs[d].len, sig);
		if (wn_minhash_index_add(idx, sig, docs[d].id, strlen(docs[d].id), &m, &err) < 0)
			die("%s", err.msg);
		if (m.duplicate) {
			const char *l;
			size_t len;
			docs[d].dropped = 1;
			wn_minhash_index_label(idx, m.entry, &l, &len, NULL);
			docs[d].dup_of = xrealloc(NULL, len + 1);
			memcpy(docs[d].dup_of, l, len);
			docs[d].dup_of[len] = '\0';
		}
	}
	free(sig);
	wn_minhash_index_free(idx);
	wn_minhash_free(mh);
}

static void bench(const struct wn_minhash_params *p, double verify)
{
	static const char *const kernels[] = { "avx512", "avx2", "portable" };
	struct wn_minhash *mh;
	struct wn_error err;
	size_t bytes = 0;
	wn_error_clear(&err);
	if (wn_minhash_new(&mh, p, &err) < 0)
		die("%s", err.msg);
	uint64_t *sig = xrealloc(NULL, wn_minhash_params_hashes(p) * sizeof(*sig));
	for (size_t d = 0; d < ndocs; d++)
		bytes += docs[d].len;
	printf("signatures: %zu documents, %.1f MB of text, %s, ngram %u, %u x %u = %u hashes\n",
	       ndocs, (double)bytes / 1e6, wn_minhash_shingle_name(p->shingle), p->ngram,
	       p->bands, p->rows, wn_minhash_params_hashes(p));
	printf("  %-9s %10s %12s %12s\n", "kernel", "MB/s", "ns/shingle", "CPU s");
	const char *chosen = wn_minhash_kernel(mh);
	for (int k = 0; k < 3; k++) {
		if (wn_minhash_set_kernel(mh, kernels[k], NULL) < 0)
			continue;
		size_t shingles = 0;
		double best = 1e30;
		for (int run = 0; run < 3; run++) {  /* best of 3: the machine is shared */
			double t = cpu_seconds();
			shingles = 0;
			for (size_t d = 0; d < ndocs; d++)
				shingles += wn_minhash_signature(mh, docs[d].text, docs[d].len, sig);
			t = cpu_seconds() - t;
			best = t < best ? t : best;
		}
		printf("  %-9s %10.1f %12.1f %12.3f\n", kernels[k], (double)bytes / best / 1e6,
		       best * 1e9 / (double)(shingles ? shingles : 1), best);
	}
	wn_minhash_set_kernel(mh, chosen, NULL);
	/* the index: only kept documents are stored, so memory per kept document */
	struct wn_minhash_index *idx;
	if (wn_minhash_index_new(&idx, p, verify, &err) < 0)
		die("%s", err.msg);
	double t = cpu_seconds();
	for (size_t d = 0; d < ndocs; d++) {
		struct wn_minhash_match m;
		wn_minhash_signature(mh, docs[d].text, docs[d].len, sig);
		if (wn_minhash_index_add(idx, sig, NULL, 0, &m, &err) < 0)
			die("%s", err.msg);
	}
	t = cpu_seconds() - t;
	uint64_t kept = wn_minhash_index_count(idx);
	printf("index: %llu kept of %zu, %zu bytes allocated = %.1f bytes per kept document "
	       "(no labels%s); signatures (%s) + index %.1f MB/s\n",
	       (unsigned long long)kept, ndocs, wn_minhash_index_memory(idx),
	       kept ? (double)wn_minhash_index_memory(idx) / (double)kept : 0.0,
	       verify > 0 ? ", with signatures" : "", chosen, (double)bytes / t / 1e6);
	wn_minhash_index_free(idx);
	free(sig);
	wn_minhash_free(mh);
}

/* N documents that all differ (random signatures): bytes per kept document and
 * add speed at a scale no corpus here reaches. */
static void bench_index(const struct wn_minhash_params *p, double verify, uint64_t n)
{
	struct wn_minhash_index *idx;
	struct wn_error err;
	uint32_t nh = wn_minhash_params_hashes(p);
	uint64_t *sig = xrealloc(NULL, nh * sizeof(*sig)), s = 1;
	char label[32];
	wn_error_clear(&err);
	if (wn_minhash_index_new(&idx, p, verify, &err) < 0)
		die("%s", err.msg);
	double t = cpu_seconds();
	for (uint64_t d = 0; d < n; d++) {
		struct wn_minhash_match m;
		for (uint32_t i = 0; i < nh; i++) {  /* splitmix64 */
			uint64_t z = (s += UINT64_C(0x9e3779b97f4a7c15));
			z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
			z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
			sig[i] = (z ^ (z >> 31)) & WN_MINHASH_PRIME;
		}
		int len = snprintf(label, sizeof(label), "<urn:uuid:%016llx>",
		                   (unsigned long long)d);
		if (wn_minhash_index_add(idx, sig, label, (size_t)len, &m, &err) < 0)
			die("%s", err.msg);
	}
	t = cpu_seconds() - t;
	uint64_t kept = wn_minhash_index_count(idx);
	size_t mem = wn_minhash_index_memory(idx);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("index of %llu random documents, %u x %u%s, 27-byte labels: %zu bytes = "
	       "%.1f per kept document (%.1f without the labels); peak RSS %.1f MB; "
	       "%.2f M adds/s (with random signature generation)\n",
	       (unsigned long long)kept, p->bands, p->rows,
	       verify > 0 ? ", with signatures" : "", mem, (double)mem / (double)kept,
	       (double)mem / (double)kept - 27, (double)ru.ru_maxrss / 1024,
	       (double)n / t / 1e6);
	wn_minhash_index_free(idx);
	free(sig);
}

/* ---- the report ---------------------------------------------------------- */

#define NB 11  /* [0,.1) ... [.9,1), and exactly 1 */

static int bucket(double j)
{
	if (j >= 1)
		return 10;
	int b = (int)(j * 10);
	return b < 0 ? 0 : b > 9 ? 9 : b;
}

static const char *bucket_name(int b)
{
	static char buf[NB][16];
	if (b == 10)
		return "1.0";
	snprintf(buf[b], sizeof(buf[b]), "%.1f-%.1f", b / 10.0, (b + 1) / 10.0);
	return buf[b];
}

static int report(const struct wn_minhash_params *p, int have_params, int check)
{
	size_t pairs[NB] = { 0 }, found[NB] = { 0 }, cluster_ok[NB] = { 0 };
	double expect[NB] = { 0 };
	size_t dropped[NB] = { 0 }, ndropped = 0, good = 0;
	size_t base_dropped = 0, nbase = 0, hi_all = 0, hi_found = 0;

	for (size_t d = 0; d < ndocs; d++) {
		struct doc *x = &docs[d];
		if (x->base != SIZE_MAX) {
			double j = jaccard(x, &docs[x->base]);
			int b = bucket(j);
			pairs[b]++;
			expect[b] += have_params ? wn_minhash_probability(p, j) : 0;
			if (x->dropped) {
				const struct doc *base = &docs[x->base];
				found[b]++;
				/* the right cluster: the base, or what the base duplicates */
				if (x->dup_of && (!strcmp(x->dup_of, base->id) ||
				                  (base->dup_of && !strcmp(x->dup_of, base->dup_of))))
					cluster_ok[b]++;
			}
		} else {
			nbase++;
			base_dropped += x->dropped;
		}
		if (x->maxj >= 0.8) {
			hi_all++;
			hi_found += x->dropped;
		}
		if (x->dropped) {
			ndropped++;
			dropped[bucket(x->maxj)]++;
			good += x->maxj >= 0.5;
		}
	}

	printf("recall: labelled pairs by true word-5-gram Jaccard\n");
	printf("  %-8s %7s %7s %8s %10s %9s\n", "J", "pairs", "found", "recall",
	       have_params ? "expected" : "", "cluster");
	size_t r_pairs = 0, r_found = 0;
	for (int b = 0; b < NB; b++) {
		if (!pairs[b])
			continue;
		char exp[16] = "";
		if (have_params)
			snprintf(exp, sizeof(exp), "%.3f", expect[b] / (double)pairs[b]);
		printf("  %-8s %7zu %7zu %8.3f %10s %9.3f\n", bucket_name(b), pairs[b], found[b],
		       (double)found[b] / (double)pairs[b], exp,
		       found[b] ? (double)cluster_ok[b] / (double)found[b] : 0.0);
		if (b >= 8) {
			r_pairs += pairs[b];
			r_found += found[b];
		}
	}
	printf("precision: dropped documents by their highest true Jaccard with an earlier one\n");
	printf("  %-8s %7s %8s\n", "J", "dropped", "share");
	for (int b = 0; b < NB; b++)
		if (dropped[b])
			printf("  %-8s %7zu %8.3f\n", bucket_name(b), dropped[b],
			       (double)dropped[b] / (double)ndropped);
	double recall = r_pairs ? (double)r_found / (double)r_pairs : 1;
	double precision = ndropped ? (double)good / (double)ndropped : 1;
	printf("summary: %zu documents (%zu base, %zu labelled variants), %zu dropped\n",
	       ndocs, nbase, ndocs - nbase, ndropped);
	printf("  recall at J >= 0.8 (labelled pairs): %.3f (%zu of %zu)\n", recall, r_found,
	       r_pairs);
	printf("  recall at J >= 0.8 (any earlier document): %.3f (%zu of %zu)\n",
	       hi_all ? (double)hi_found / (double)hi_all : 1.0, hi_found, hi_all);
	printf("  precision (dropped with J >= 0.5): %.3f (%zu of %zu)\n", precision, good,
	       ndropped);
	printf("  base documents dropped: %zu of %zu\n", base_dropped, nbase);
	if (check && (recall < 0.90 || precision < 0.95)) {
		printf("FAIL: targets are recall >= 0.90 and precision >= 0.95\n");
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: eval-neardup [--check] CORPUS RESULT\n"
	      "       eval-neardup [--check|--bench] [--preset NAME] [--shingle words|chars]\n"
	      "                    [--ngram N] [--bands B] [--rows R] [--seed S]\n"
	      "                    [--verify-jaccard T] CORPUS\n"
	      "       eval-neardup --bench-index N [detection options]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "bench", no_argument, NULL, 'B' },
		{ "bench-index", required_argument, NULL, 'I' },
		{ "preset", required_argument, NULL, 'p' },
		{ "shingle", required_argument, NULL, 'S' },
		{ "ngram", required_argument, NULL, 'n' },
		{ "bands", required_argument, NULL, 'b' },
		{ "rows", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "verify-jaccard", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wn_minhash_params p;
	struct wn_error err;
	double verify = 0;
	int check = 0, do_bench = 0, c, set = 0;
	uint64_t index_docs = 0;
	wn_minhash_params_default(&p);
	wn_error_clear(&err);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': check = 1; break;
		case 'B': do_bench = 1; break;
		case 'I': index_docs = strtoull(optarg, NULL, 10); break;
		case 'p':
			if (wn_minhash_params_preset(&p, optarg, &err) < 0)
				die("%s", err.msg);
			set = 1;
			break;
		case 'S':
			if (wn_minhash_shingle_parse(optarg, &p.shingle, &err) < 0)
				die("%s", err.msg);
			set = 1;
			break;
		case 'n': p.ngram = (uint32_t)strtoul(optarg, NULL, 10); set = 1; break;
		case 'b': p.bands = (uint32_t)strtoul(optarg, NULL, 10); set = 1; break;
		case 'r': p.rows = (uint32_t)strtoul(optarg, NULL, 10); set = 1; break;
		case 's': p.seed = strtoull(optarg, NULL, 10); set = 1; break;
		case 'v': verify = strtod(optarg, NULL); set = 1; break;
		default: usage();
		}
	}
	if (wn_minhash_params_check(&p, &err) < 0)
		die("%s", err.msg);
	if (index_docs) {
		bench_index(&p, verify, index_docs);
		return 0;
	}
	if (argc - optind < 1 || argc - optind > 2 || (do_bench && argc - optind != 1))
		usage();

	each_record(argv[optind], add_doc, NULL);
	index_ids();
	if (do_bench) {
		bench(&p, verify);
		return 0;
	}
	for (size_t d = 0; d < ndocs; d++) {
		if (!docs[d].base_id)
			continue;
		docs[d].base = find_id(docs[d].base_id);
		if (docs[d].base == SIZE_MAX || docs[d].base >= d)
			die("%s: neardup_of %s is not an earlier record", docs[d].id,
			    docs[d].base_id);
	}
	if (argc - optind == 2) {
		int *present = calloc(ndocs ? ndocs : 1, sizeof(*present));
		if (!present)
			die("out of memory");
		each_record(argv[optind + 1], read_result, present);
		for (size_t d = 0; d < ndocs; d++)
			if (!present[d])
				docs[d].dropped = 1;
		free(present);
		set = 1;  /* "expected" uses the options given, or the defaults */
	} else {
		run_library(&p, verify);
		set = 1;
		printf("library on raw text: %s, ngram %u, %u bands x %u rows, seed %llu%s\n",
		       wn_minhash_shingle_name(p.shingle), p.ngram, p.bands, p.rows,
		       (unsigned long long)p.seed, verify > 0 ? ", verified" : "");
	}
	shingle_all();
	max_jaccard();
	int rc = report(&p, set, check);
	for (size_t d = 0; d < ndocs; d++) {
		free(docs[d].id);
		free(docs[d].text);
		free(docs[d].base_id);
		free(docs[d].sh);
		free(docs[d].dup_of);
	}
	free(docs);
	free(ids);
	return rc;
}

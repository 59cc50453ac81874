/*
 * gen-neardup: write JSONL of unrelated documents from real text, with labelled
 * near-duplicates of some of them at controlled word-5-gram Jaccard, to measure the
 * precision and recall of near-duplicate detection (tools/eval-neardup).
 *
 *     gen-neardup [options] SOURCE... > corpus.jsonl
 *
 * SOURCE: a .jsonl file (its records' "text" fields are documents), or a text file,
 * plain or .gz (cut into documents of --min-words to --max-words words at paragraph
 * breaks).  Documents that are exact copies of an earlier one are left out.
 *
 * Every record is {"id": "nd-000042", "text": ..., "metadata": {...}}.  A base
 * document's metadata holds "source" (the file it came from).  A variant's also holds
 * "neardup_of" (the id of its base, always earlier in the file), "true_jaccard" (the
 * word-5-gram Jaccard between the two texts, words split at whitespace as
 * src/dedup/minhash.h defines them, on the raw text) and "edits" (how many of each
 * operation made it).  A variant comes from its base by random word substitutions,
 * insertions, deletions, moves of spans of words, and added boilerplate lines (bylines,
 * share bars, copyright footers), applied until the Jaccard falls to a target drawn
 * uniformly from [--min-jaccard, --max-jaccard].
 *
 * Deterministic: the same options and sources give the same bytes.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "dedup/minhash.h"

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gen-neardup: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static double uniform(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* ---- text ---------------------------------------------------------------- */

struct text {
	char *s;
	size_t len, cap;
};

static void text_add(struct text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
}

/* Replace invalid UTF-8 by '?' and NUL by a space, so every text is a valid JSON
 * string and the same bytes come back from a reader. */
static void clean_utf8(char *s, size_t len)
{
	unsigned char *t = (unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = t[i];
		size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
		           (c >> 3) == 30 ? 4 : 0;
		int ok = n && i + n <= len;
		for (size_t k = 1; ok && k < n; k++)
			ok = (t[i + k] & 0xC0) == 0x80;
		if (ok && n == 2)
			ok = c >= 0xC2;
		if (ok && n == 3) {
			uint32_t cp = (c & 15) << 12 | (t[i + 1] & 63) << 6 | (t[i + 2] & 63);
			ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
		}
		if (ok && n == 4) {
			uint32_t cp = (c & 7) << 18 | (t[i + 1] & 63) << 12 |
			              (t[i + 2] & 63) << 6 | (t[i + 3] & 63);
			ok = cp >= 0x10000 && cp <= 0x10FFFF;
		}
		if (!ok) {
			t[i++] = '?';
			continue;
		}
		if (c == 0)
			t[i] = ' ';
		i += n;
	}
}

/* ---- documents ----------------------------------------------------------- */

struct doc {
	char *text;
	size_t len;
	const char *source;
};

static struct doc *docs;
static size_t ndocs, docs_cap;

/* exact copies are left out: a set of 64-bit text hashes */
static uint64_t *seen;
static size_t seen_cap, nseen;

static int seen_add(uint64_t h)
{
	if (!h)
		h = 1;
	if ((nseen + 1) * 2 > seen_cap) {
		size_t cap = seen_cap ? seen_cap * 2 : 1024;
		uint64_t *s = calloc(cap, sizeof(*s));
		if (!s)
			die("out of memory");
		for (size_t i = 0; i < seen_cap; i++) {
			if (!seen[i])
				continue;
			size_t j = seen[i] & (cap - 1);
			while (s[j])
				j = (j + 1) & (cap - 1);
			s[j] = seen[i];
		}
		free(seen);
		seen = s;
		seen_cap = cap;
	}
	size_t j = h & (seen_cap - 1);
	while (seen[j]) {
		if (seen[j] == h)
			return 0;
		j = (j + 1) & (seen_cap - 1);
	}
	seen[j] = h;
	nseen++;
	return 1;
}

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = UINT64_C(14695981039346656037);
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
	return h;
}

static size_t count_words(const char *s, size_t n)
{
	size_t w = 0;
	int in = 0;
	for (size_t i = 0; i < n; i++) {
		int sp = s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r' ||
		         s[i] == '\f' || s[i] == '\v';
		w += !sp && !in;
		in = !sp;
	}
	return w;
}

static size_t opt_min_words = 50, opt_max_words = 800;

static void add_doc(char *text, size_t len, const char *source)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	text[len] = '\0';
	if (count_words(text, len) < opt_min_words / 2 || !seen_add(fnv(text, len))) {
		free(text);
		return;
	}
	if (ndocs == docs_cap) {
		docs_cap = docs_cap ? docs_cap * 2 : 256;
		docs = xrealloc(docs, docs_cap * sizeof(*docs));
	}
	docs[ndocs++] = (struct doc){ text, len, source };
}

static char *read_file(const char *path, size_t *len)
{
	gzFile f = gzopen(path, "rb");  /* reads plain files as they are */
	if (!f)
		die("%s: cannot open", path);
	struct text t = { 0 };
	char buf[65536];
	int n;
	while ((n = gzread(f, buf, sizeof(buf))) > 0)
		text_add(&t, buf, (size_t)n);
	if (n < 0)
		die("%s: read error", path);
	gzclose(f);
	if (!t.s)
		text_add(&t, "", 0);
	*len = t.len;
	return t.s;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static void load_jsonl(const char *path, char *data, size_t len)
{
	char *p = data, *end = data + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t e;
		json_t *o = json_loadb(p, n, 0, &e);
		json_t *t = o ? json_object_get(o, "text") : NULL;
		if (json_is_string(t)) {
			size_t tl = json_string_length(t);
			char *copy = xmalloc(tl + 1);
			memcpy(copy, json_string_value(t), tl);
			clean_utf8(copy, tl);
			add_doc(copy, tl, path);
		}
		json_decref(o);
		p += n + 1;
	}
}

/* Cut a text into documents of a random length in words, at blank lines. */
static void load_text(const char *path, char *data, size_t len)
{
	clean_utf8(data, len);
	size_t start = 0, words = 0, want = opt_min_words + below(opt_max_words -
	                                                         opt_min_words + 1);
	size_t i = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && !(data[e] == '\n' && e + 1 < len && data[e + 1] == '\n'))
			e++;
		words += count_words(data + i, e - i);
		while (e < len && data[e] == '\n')
			e++;
		if (words >= want || e >= len) {
			size_t n = e - start;
			char *copy = xmalloc(n + 1);
			memcpy(copy, data + start, n);
			add_doc(copy, n, path);
			start = e;
			words = 0;
			want = opt_min_words + below(opt_max_words - opt_min_words + 1);
		}
		i = e;
	}
}

static void load_source(const char *path)
{
	size_t len;
	char *data = read_file(path, &len);
	if (ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz"))
		load_jsonl(path, data, len);
	else
		load_text(path, data, len);
	free(data);
}

/* ---- words and edits ----------------------------------------------------- */

struct tok {
	const char *w, *sep;
	uint32_t wl, sl;
};

struct toks {
	struct tok *t;
	size_t n, cap;
};

static void toks_insert(struct toks *ts, size_t at, struct tok t)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 256;
		ts->t = xrealloc(ts->t, ts->cap * sizeof(*ts->t));
	}
	memmove(ts->t + at + 1, ts->t + at, (ts->n - at) * sizeof(*ts->t));
	ts->t[at] = t;
	ts->n++;
}

static int is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void split(struct toks *ts, const char *s, size_t len)
{
	size_t i = 0;
	ts->n = 0;
	while (i < len && is_space(s[i]))
		i++;
	while (i < len) {
		size_t w = i;
		while (i < len && !is_space(s[i]))
			i++;
		size_t sp = i;
		while (i < len && is_space(s[i]))
			i++;
		toks_insert(ts, ts->n, (struct tok){ s + w, s + sp, (uint32_t)(sp - w),
		                                     (uint32_t)(i - sp) });
	}
}

static void join(const struct toks *ts, struct text *out)
{
	out->len = 0;
	for (size_t i = 0; i < ts->n; i++) {
		text_add(out, ts->t[i].w, ts->t[i].wl);
		if (i + 1 < ts->n)
			text_add(out, ts->t[i].sl ? ts->t[i].sep : " ",
			         ts->t[i].sl ? ts->t[i].sl : 1);
	}
	if (!out->s)
		text_add(out, "", 0);
}

/* the vocabulary for insertions and substitutions: every word of every base document,
 * so frequent words come up often */
static struct tok *vocab;
static size_t nvocab;

static struct tok random_word(void)
{
	struct tok t = vocab[below(nvocab)];
	t.sep = " ";
	t.sl = 1;
	return t;
}

static const char *const names[] = { "admin", "staff", "editor", "J. Smith",
                                     "newsdesk", "M. Garcia", "webmaster" };
static const char *const months[] = { "January", "March", "May", "July",
                                      "September", "November" };

/* a boilerplate line, in memory that lives to the end of the run */
static char *boilerplate(void)
{
	char buf[256];
	switch (below(6)) {
	case 0:
		snprintf(buf, sizeof(buf), "Posted on %s %zu, %zu by %s",
		         months[below(6)], 1 + below(28), 2005 + below(18),
		         names[below(7)]);
		break;
	case 1:
		snprintf(buf, sizeof(buf), "Share this: Facebook Twitter Email Print "
		         "(%zu comments)", below(300));
		break;
	case 2:
		snprintf(buf, sizeof(buf), "Copyright %zu %s. All rights reserved.",
		         1995 + below(29), names[below(7)]);
		break;
	case 3:
		snprintf(buf, sizeof(buf), "Subscribe to our newsletter to get the "
		         "latest updates. Click here.");
		break;
	case 4:
		snprintf(buf, sizeof(buf), "Updated %zu minutes ago | Reading time: %zu min",
		         1 + below(59), 1 + below(20));
		break;
	default:
		snprintf(buf, sizeof(buf), "Advertisement");
		break;
	}
	char *s = strdup(buf);
	if (!s)
		die("out of memory");
	return s;
}

enum { SUB, INS, DEL, MOVE, BOIL, NOPS };
static const char *const op_names[NOPS] = { "substitute", "insert", "delete", "move",
                                            "boilerplate" };

static char **keep;  /* boilerplate strings, freed at the end */
static size_t nkeep, keep_cap;

static void apply(struct toks *ts, int op)
{
	size_t n = ts->n;
	switch (op) {
	case SUB:
		if (n) {  /* keep the separator of the word replaced */
			size_t i = below(n);
			struct tok w = random_word();
			ts->t[i].w = w.w;
			ts->t[i].wl = w.wl;
		}
		break;
	case INS:
		toks_insert(ts, below(n + 1), random_word());
		break;
	case DEL:
		if (n > 1) {
			size_t i = below(n);
			memmove(ts->t + i, ts->t + i + 1, (n - i - 1) * sizeof(*ts->t));
			ts->n--;
		}
		break;
	case MOVE:
		if (n > 10) {
			size_t len = 3 + below(18 < n / 2 ? 18 : n / 2 - 2);
			size_t from = below(n - len + 1);
			struct tok *span = xmalloc(len * sizeof(*span));
			memcpy(span, ts->t + from, len * sizeof(*span));
			memmove(ts->t + from, ts->t + from + len,
			        (n - from - len) * sizeof(*ts->t));
			ts->n -= len;
			size_t to = below(ts->n + 1);
			for (size_t k = 0; k < len; k++)
				toks_insert(ts, to + k, span[k]);
			free(span);
		}
		break;
	default: {
		char *line = boilerplate();
		if (nkeep == keep_cap) {
			keep_cap = keep_cap ? keep_cap * 2 : 64;
			keep = xrealloc(keep, keep_cap * sizeof(*keep));
		}
		keep[nkeep++] = line;
		struct toks bt = { 0 };
		split(&bt, line, strlen(line));
		int top = (int)below(2);
		size_t at = top ? 0 : ts->n;
		if (bt.n) {
			bt.t[bt.n - 1].sep = "\n";
			bt.t[bt.n - 1].sl = 1;
		}
		if (!top && ts->n) {
			ts->t[ts->n - 1].sep = "\n";
			ts->t[ts->n - 1].sl = 1;
		}
		for (size_t k = 0; k < bt.n; k++)
			toks_insert(ts, at + k, bt.t[k]);
		free(bt.t);
		break;
	}
	}
}

static int pick_op(void)
{
	size_t r = below(100);
	return r < 35 ? SUB : r < 60 ? INS : r < 85 ? DEL : r < 95 ? MOVE : BOIL;
}

/* ---- Jaccard ------------------------------------------------------------- */

static struct wn_minhash *mh;

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

static void shingle_set(const char *s, size_t len, struct set *out)
{
	out->n = 0;
	wn_minhash_shingles(mh, s, len, collect, out);
	if (!out->n)
		return;
	qsort(out->v, out->n, sizeof(*out->v), cmp64);
	size_t k = 1;
	for (size_t i = 1; i < out->n; i++)
		if (out->v[i] != out->v[k - 1])
			out->v[k++] = out->v[i];
	out->n = k;
}

static double jaccard(const struct set *a, const struct set *b)
{
	size_t i = 0, j = 0, both = 0;
	if (!a->n && !b->n)
		return 1;
	while (i < a->n && j < b->n) {
		if (a->v[i] == b->v[j])
			both++, i++, j++;
		else if (a->v[i] < b->v[j])
			i++;
		else
			j++;
	}
	return (double)both / (double)(a->n + b->n - both);
}

/* ---- output -------------------------------------------------------------- */

struct variant {
	size_t base;      /* index into docs */
	size_t after;     /* emitted after base document number `after` */
	size_t order;     /* tie-break: creation order */
	char *text;
	size_t len;
	double j;
	size_t ops[NOPS];
};

static int cmp_variant(const void *a, const void *b)
{
	const struct variant *x = a, *y = b;
	if (x->after != y->after)
		return x->after < y->after ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void emit(const char *id, const char *text, size_t len, const char *source,
                 const struct variant *v, const char *base_id)
{
	json_t *o = json_object(), *m = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "text", json_stringn(text, len));
	json_object_set_new(m, "source", json_string(source));
	if (v) {
		json_t *e = json_object();
		json_object_set_new(m, "neardup_of", json_string(base_id));
		json_object_set_new(m, "true_jaccard", json_real((double)(long)(v->j * 1e6 + 0.5) / 1e6));
		for (int k = 0; k < NOPS; k++)
			json_object_set_new(e, op_names[k], json_integer((json_int_t)v->ops[k]));
		json_object_set_new(m, "edits", e);
	}
	json_object_set_new(o, "metadata", m);
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (!line)
		die("cannot encode record %s", id);
	puts(line);
	free(line);
	json_decref(o);
}

static void usage(void)
{
	fputs("usage: gen-neardup [--docs N] [--variants M] [--seed S] [--min-jaccard J]\n"
	      "                   [--max-jaccard J] [--min-words N] [--max-words N] SOURCE...\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "docs", required_argument, NULL, 'n' },
		{ "variants", required_argument, NULL, 'v' },
		{ "seed", required_argument, NULL, 's' },
		{ "min-jaccard", required_argument, NULL, 'j' },
		{ "max-jaccard", required_argument, NULL, 'J' },
		{ "min-words", required_argument, NULL, 'w' },
		{ "max-words", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t want_docs = 0, want_variants = (size_t)-1;
	double jmin = 0.2, jmax = 1.0;
	uint64_t seed = 1;
	int c;
	while ((c = getopt_long(argc, argv, "n:v:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': want_docs = strtoull(optarg, NULL, 10); break;
		case 'v': want_variants = strtoull(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'j': jmin = strtod(optarg, NULL); break;
		case 'J': jmax = strtod(optarg, NULL); break;
		case 'w': opt_min_words = strtoull(optarg, NULL, 10); break;
		case 'W': opt_max_words = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind == argc || jmin < 0 || jmax > 1 || jmin > jmax || opt_min_words < 5 ||
	    opt_max_words < opt_min_words)
		usage();

	struct wn_minhash_params p;
	wn_minhash_params_default(&p);
	if (wn_minhash_new(&mh, &p, NULL) < 0)
		die("cannot make a hasher");

	rng = seed;
	for (int i = optind; i < argc; i++)
		load_source(argv[i]);
	if (!ndocs)
		die("no documents in the sources");

	/* shuffle (Fisher-Yates), then keep the first N */
	for (size_t i = ndocs - 1; i > 0; i--) {
		size_t j = below(i + 1);
		struct doc t = docs[i];
		docs[i] = docs[j];
		docs[j] = t;
	}
	if (want_docs && want_docs < ndocs) {
		for (size_t i = want_docs; i < ndocs; i++)
			free(docs[i].text);
		ndocs = want_docs;
	}
	if (want_variants == (size_t)-1)
		want_variants = ndocs / 4;

	/* about a million words of vocabulary at most: every stride-th word */
	struct toks ts = { 0 };
	size_t total = 0, stride, w = 0;
	for (size_t i = 0; i < ndocs; i++)
		total += count_words(docs[i].text, docs[i].len);
	stride = 1 + total / 1000000;
	vocab = xmalloc((total / stride + 1) * sizeof(*vocab));
	for (size_t i = 0; i < ndocs; i++) {
		split(&ts, docs[i].text, docs[i].len);
		for (size_t k = 0; k < ts.n; k++, w++)
			if (w % stride == 0 && nvocab <= total / stride)
				vocab[nvocab++] = ts.t[k];
	}

	struct variant *vs = xmalloc(want_variants * sizeof(*vs));
	struct set base = { 0 }, cur = { 0 };
	struct text out = { 0 };
	for (size_t k = 0; k < want_variants; k++) {
		struct variant *v = &vs[k];
		memset(v, 0, sizeof(*v));
		v->base = below(ndocs);
		v->after = v->base + below(ndocs - v->base);
		v->order = k;
		double target = jmin + (jmax - jmin) * uniform();
		const struct doc *d = &docs[v->base];
		split(&ts, d->text, d->len);
		shingle_set(d->text, d->len, &base);
		double j = 1;
		/* each word edit removes up to 5 shingles and adds up to 5: apply about
		 * half the edits that would reach the target, measure, repeat */
		for (int round = 0; j > target && round < 200; round++) {
			size_t shingles = base.n ? base.n : 1;
			double need = (j - target) * (double)shingles / 10.0;
			size_t edits = need < 2 ? 1 : (size_t)(need / 2);
			for (size_t e = 0; e < edits; e++) {
				int op = pick_op();
				apply(&ts, op);
				v->ops[op]++;
			}
			join(&ts, &out);
			shingle_set(out.s, out.len, &cur);
			j = jaccard(&base, &cur);
		}
		if (!out.s || j == 1) {  /* target 1: a copy with a new boilerplate line */
			apply(&ts, BOIL);
			v->ops[BOIL]++;
			join(&ts, &out);
			shingle_set(out.s, out.len, &cur);
			j = jaccard(&base, &cur);
		}
		v->text = xmalloc(out.len + 1);
		memcpy(v->text, out.s, out.len + 1);
		v->len = out.len;
		v->j = j;
	}
	qsort(vs, want_variants, sizeof(*vs), cmp_variant);

	/* ids follow the output order */
	size_t *base_id = xmalloc(ndocs * sizeof(*base_id));
	size_t next = 0, vi = 0;
	char id[32], bid[32];
	for (size_t i = 0; i < ndocs; i++) {
		base_id[i] = next++;
		snprintf(id, sizeof(id), "nd-%06zu", base_id[i]);
		emit(id, docs[i].text, docs[i].len, docs[i].source, NULL, NULL);
		for (; vi < want_variants && vs[vi].after == i; vi++) {
			snprintf(id, sizeof(id), "nd-%06zu", next++);
			snprintf(bid, sizeof(bid), "nd-%06zu", base_id[vs[vi].base]);
			emit(id, vs[vi].text, vs[vi].len, docs[vs[vi].base].source, &vs[vi], bid);
		}
	}
	if (fflush(stdout) || ferror(stdout))
		die("write error");

	for (size_t i = 0; i < want_variants; i++)
		free(vs[i].text);
	for (size_t i = 0; i < ndocs; i++)
		free(docs[i].text);
	for (size_t i = 0; i < nkeep; i++)
		free(keep[i]);
	free(keep);
	free(vs);
	free(base_id);
	free(docs);
	free(seen);
	free(vocab);
	free(ts.t);
	free(base.v);
	free(cur.v);
	free(out.s);
	wn_minhash_free(mh);
	return 0;
}

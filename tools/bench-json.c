/*
 * bench-json - throughput of the JSON scanner (wn_json_validate, and
 * validate + wn_json_get + wn_json_unescape of the text field) against
 * jansson's json_loadb on the same JSONL lines.
 *
 *   bench-json [-r ROUNDS] [-c CORPUS] [-m MB] [FILE.jsonl ...]
 *
 * Without files it generates corpora of typical pretraining records in
 * memory (fixed seed): English web text, multilingual text, CJK text, and
 * short many-field records.  Prints MB/s (best of ROUNDS) and the speedup
 * over jansson.  Not a test: timings depend on the machine.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "winnow/buf.h"
#include "winnow/json.h"
#include "winnow/status.h"

struct corpus {
	const char *name;
	struct wn_buf data; /* lines, each ending in '\n' */
	size_t lines;
};

static uint64_t rng = 42;

static uint64_t rnd(void)
{
	uint64_t z = (rng += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

static void add(struct wn_buf *b, const char *s)
{
	if (wn_buf_adds(b, s) < 0) {
		fprintf(stderr, "bench-json: out of memory\n");
		exit(3);
	}
}

static const char *const english[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was",
	"with", "be", "by", "on", "not", "he", "this", "are", "or", "his", "from",
	"at", "which", "but", "have", "an", "had", "they", "you", "were", "their",
	"one", "all", "we", "can", "her", "has", "there", "been", "if", "more",
	"when", "will", "would", "who", "so", "no", "model", "training", "data",
	"language", "between", "because", "government", "information", "development",
	"university", "management", "performance", "environment", "international",
};

static const char *const cyrillic[] = {
	"\xD0\xB8", "\xD0\xB2", "\xD0\xBD\xD0\xB5", "\xD0\xBD\xD0\xB0",
	"\xD1\x87\xD1\x82\xD0\xBE", "\xD0\xB3\xD0\xBE\xD0\xB4",
	"\xD0\xB4\xD0\xB0\xD0\xBD\xD0\xBD\xD1\x8B\xD0\xB5",
	"\xD1\x8F\xD0\xB7\xD1\x8B\xD0\xBA",
};

static const char *const latin[] = {
	"caf\xC3\xA9", "na\xC3\xAFve", "\xC3\xBC" "ber", "gro\xC3\x9F", "se\xC3\xB1or",
	"fa\xC3\xA7" "ade", "d\xC3\xA9j\xC3\xA0", "p\xC3\xA9rim\xC3\xA8tre",
};

/* One CJK character (3 bytes) from a small range of common ideographs. */
static void add_cjk(struct wn_buf *b)
{
	unsigned c = 0x4E00 + (unsigned)below(0x1000);
	char u[4] = { (char)(0xE0 | c >> 12), (char)(0x80 | (c >> 6 & 0x3F)),
		      (char)(0x80 | (c & 0x3F)), 0 };
	add(b, u);
}

enum style { ENGLISH, MULTILINGUAL, CJK };

/* A text field body of about `len` bytes, JSON-escaped. */
static void add_text(struct wn_buf *b, enum style st, size_t len)
{
	size_t start = b->len;
	size_t sentence = 0;
	while (b->len - start < len) {
		size_t r = below(100);
		if (st == CJK && r < 90) {
			add_cjk(b);
			if (below(30) == 0)
				add(b, "\xE3\x80\x82"); /* ideographic full stop */
			continue;
		}
		if (st == MULTILINGUAL && r < 30)
			add(b, cyrillic[below(sizeof(cyrillic) / sizeof(cyrillic[0]))]);
		else if (st == MULTILINGUAL && r < 40)
			add(b, latin[below(sizeof(latin) / sizeof(latin[0]))]);
		else
			add(b, english[below(sizeof(english) / sizeof(english[0]))]);
		r = below(1000);
		if (r < 3)
			add(b, "\xE2\x80\x99s"); /* right single quote */
		else if (r < 5)
			add(b, " \xE2\x80\x9Cquoted\xE2\x80\x9D");
		else if (r < 7)
			add(b, " \\\"quoted\\\"");
		if (++sentence > 8 + below(12)) {
			sentence = 0;
			add(b, below(8) ? ". " : ".\\n\\n");
		} else {
			add(b, below(15) ? " " : ", ");
		}
	}
}

static void gen_corpus(struct corpus *c, enum style st, size_t target, int short_records)
{
	char num[128];
	while (c->data.len < target) {
		if (short_records) {
			snprintf(num, sizeof(num), "{\"id\":%zu,\"score\":%.4f,\"ok\":%s,",
				 c->lines, (double)below(10000) / 10000.0,
				 below(2) ? "true" : "false");
			add(&c->data, num);
			add(&c->data, "\"title\":\"");
			add_text(&c->data, ENGLISH, 20 + below(40));
			add(&c->data, "\",\"tags\":[\"a\",\"b\"],\"text\":\"");
			add_text(&c->data, st, 60 + below(120));
			add(&c->data, "\"}\n");
		} else {
			add(&c->data, "{\"text\":\"");
			add_text(&c->data, st, 1000 + below(5000));
			snprintf(num, sizeof(num), "\",\"id\":\"doc-%08zu\",", c->lines);
			add(&c->data, num);
			snprintf(num, sizeof(num),
				 "\"metadata\":{\"url\":\"https://example.org/%zu\","
				 "\"score\":%.3f}}\n",
				 below(1000000), (double)below(1000) / 1000.0);
			add(&c->data, num);
		}
		c->lines++;
	}
}

/* CPU time of this thread rather than wall time, so that other load on a
 * shared machine disturbs the figures less. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum job { VALIDATE, VALIDATE_GET, JANSSON };

/* One pass over the corpus; returns seconds, or -1 when a line is refused. */
static double run(const struct corpus *c, enum job job, struct wn_buf *scratch,
                  size_t *bad)
{
	const char *p = c->data.data, *end = p + c->data.len;
	double t0 = now();
	*bad = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (job == JANSSON) {
			json_t *j = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
			if (!j)
				(*bad)++;
			json_decref(j);
		} else {
			enum wn_json_type t;
			if (wn_json_validate(p, n, &t, NULL) < 0) {
				(*bad)++;
			} else if (job == VALIDATE_GET && t == WN_JSON_OBJECT) {
				struct wn_json_value v;
				if (wn_json_get(p, n, "text", 4, &v) == 1 &&
				    v.type == WN_JSON_STRING) {
					wn_buf_reset(scratch);
					if (v.escaped)
						wn_json_unescape(p + v.offset, v.len, scratch);
				}
			}
		}
		p += n + 1;
	}
	return now() - t0;
}

static void bench(const struct corpus *c, int rounds)
{
	static const char *const names[] = { "validate", "validate+get+unescape",
					     "jansson json_loadb" };
	double best[3];
	struct wn_buf scratch = WN_BUF_INIT;
	size_t bad[3] = { 0, 0, 0 };

	printf("%s: %zu lines, %.1f MB\n", c->name, c->lines, (double)c->data.len / 1e6);
	for (int j = 0; j < 3; j++) {
		best[j] = 1e30;
		/* jansson is slow: fewer rounds keep the run short */
		int r = j == JANSSON ? (rounds + 2) / 3 : rounds;
		for (int i = 0; i < r; i++) {
			double t = run(c, (enum job)j, &scratch, &bad[j]);
			if (t < best[j])
				best[j] = t;
		}
		printf("  %-24s %9.1f MB/s\n", names[j], (double)c->data.len / 1e6 / best[j]);
	}
	printf("  speedup over jansson: validate %.1fx, validate+get+unescape %.1fx\n",
	       best[JANSSON] / best[VALIDATE], best[JANSSON] / best[VALIDATE_GET]);
	if (bad[VALIDATE] != bad[JANSSON])
		printf("  MISMATCH: %zu lines refused by the scanner, %zu by jansson\n",
		       bad[VALIDATE], bad[JANSSON]);
	else if (bad[JANSSON])
		printf("  %zu invalid lines (refused by both)\n", bad[JANSSON]);
	wn_buf_release(&scratch);
}

static int load_file(struct corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	char chunk[1 << 16];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (wn_buf_add(&c->data, chunk, n) < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	for (size_t i = 0; i < c->data.len; i++)
		c->lines += c->data.data[i] == '\n';
	c->name = path;
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = 5, only = -1, opt;
	size_t mb = 64;

	while ((opt = getopt(argc, argv, "c:m:r:h")) != -1) {
		switch (opt) {
		case 'm':
			mb = (size_t)atoi(optarg);
			if (mb < 1)
				mb = 1;
			break;
		case 'c':
			only = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1)
				rounds = 1;
			break;
		default:
			fprintf(stderr, "usage: bench-json [-r ROUNDS] [-c CORPUS] [-m MB] "
				"[FILE.jsonl ...]\n"
				"  -c N   only the N-th generated corpus (0..3)\n"
				"  -m MB  size of each generated corpus (default 64; "
				"1 fits in cache)\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			struct corpus c = { NULL, WN_BUF_INIT, 0 };
			if (load_file(&c, argv[i]) < 0)
				return 3;
			bench(&c, rounds);
			wn_buf_release(&c.data);
		}
		return 0;
	}

	static const struct {
		const char *name;
		enum style st;
		int short_records;
	} sets[] = {
		{ "english records (1-6 KB text)", ENGLISH, 0 },
		{ "multilingual records", MULTILINGUAL, 0 },
		{ "CJK records", CJK, 0 },
		{ "short many-field records", ENGLISH, 1 },
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (only >= 0 && (size_t)only != i)
			continue;
		struct corpus c = { sets[i].name, WN_BUF_INIT, 0 };
		gen_corpus(&c, sets[i].st, mb << 20, sets[i].short_records);
		bench(&c, rounds);
		wn_buf_release(&c.data);
	}
	return 0;
}

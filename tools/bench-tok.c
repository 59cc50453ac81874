/*
 * bench-tok.c - tokenizer throughput on a text file, one thread.
 *
 *   bench-tok TOKENIZER ENCODING|- FILE [REPEAT]
 *
 * The file is encoded as lines (one document per line, as the tokenize
 * stage sees JSONL text fields) and then as one document; each prints
 * MB/s, tokens, and the time per byte.  ENCODING is "-" for tokenizer.json.
 * Times are the thread's CPU time, the best of REPEAT runs (default 3):
 * other processes on a shared machine distort wall-clock times.  Compare
 * files by their ns/byte, e.g. English text against a document without
 * white space (one long piece).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "winnow/tokenizer.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		if (!got)
			break;
		len += got;
	}
	fclose(f);
	*n = len;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench-tok TOKENIZER ENCODING|- FILE [REPEAT]\n");
		return 2;
	}
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_tokenizer *t;
	double t0 = now();
	if (wn_tokenizer_load(&t, argv[1], strcmp(argv[2], "-") ? argv[2] : NULL, &err) < 0) {
		fprintf(stderr, "bench-tok: %s\n", err.msg);
		return 1;
	}
	double tload = now() - t0;
	size_t n;
	char *text = slurp(argv[3], &n);
	if (!text) {
		perror(argv[3]);
		return 1;
	}
	int repeat = argc > 4 ? atoi(argv[4]) : 3;
	struct wn_encoder *e;
	if (wn_encoder_new(&e, t) < 0)
		return 1;
	struct wn_ids ids;
	wn_ids_init(&ids);
	printf("%s: loaded in %.1f ms, vocab %u\n", wn_tokenizer_name(t), tload * 1e3,
	       wn_tokenizer_vocab_size(t));
	for (int mode = 0; mode < 2; mode++) {
		double best = 1e30;
		size_t tokens = 0;
		for (int r = 0; r < repeat; r++) {
			tokens = 0;
			double a = now();
			const char *p = text, *end = text + n;
			while (p < end) {
				const char *q =
				        mode == 0 ? memchr(p, '\n', (size_t)(end - p)) : NULL;
				if (!q)
					q = end;
				ids.n = 0;
				if (wn_encode(e, p, (size_t)(q - p), 0, &ids, &err) < 0) {
					fprintf(stderr, "bench-tok: %s\n", err.msg);
					return 1;
				}
				tokens += ids.n;
				p = q + 1;
			}
			double d = now() - a;
			if (d < best)
				best = d;
		}
		printf("%-9s %8.1f MB/s  %6.1f ns/byte  %zu tokens  %.2f bytes/token\n",
		       mode == 0 ? "lines" : "document", (double)n / best / 1e6,
		       best * 1e9 / (double)n, tokens, (double)n / (double)tokens);
	}
	wn_ids_release(&ids);
	wn_encoder_free(e);
	wn_tokenizer_free(t);
	free(text);
	return 0;
}

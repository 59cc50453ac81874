/*
 * bench-io - measure the record readers (lines + validation for JSONL,
 * rows -> JSON objects for CSV/TSV).
 *
 *   bench-io generate jsonl|csv MB FILE   write MB of synthetic corpus text
 *   bench-io read FILE...                 read every record, report MB/s
 *   bench-io lines FILE                   split lines only, report MB/s
 *
 * Generated records look like web-text corpora: 2-5 KB of words with some
 * punctuation, escapes and non-ASCII, an id, and a small metadata object.
 * Throughput counts decompressed input bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "winnow/buf.h"
#include "winnow/io.h"
#include "winnow/json.h"

static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was",
	"with", "be", "by", "on", "not", "he", "I", "this", "are", "or", "his", "from",
	"at", "which", "but", "have", "an", "had", "they", "you", "were", "their", "one",
	"all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will",
	"would", "who", "so", "no", "training", "dataset", "language", "model", "corpus",
	"caf\xC3\xA9", "na\xC3\xAFve", "\xE2\x80\x94", "\xE6\x97\xA5\xE6\x9C\xAC",
	"\"quoted\"", "back\\slash", "Z\xC3\xBCrich", "2024", "3.14159", "https://example.org/x",
};

static unsigned long long rng = 88172645463325252ULL;

static unsigned next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 16);
}

/* Raw text of about n bytes: words, sentences, paragraphs. */
static void make_text(struct wn_buf *t, size_t n)
{
	wn_buf_reset(t);
	while (t->len < n) {
		const char *w = words[next_rand() % (sizeof(words) / sizeof(words[0]))];
		wn_buf_adds(t, w);
		unsigned r = next_rand() % 100;
		wn_buf_adds(t, r < 85 ? " " : r < 95 ? ". " : r < 98 ? ",\t" : ".\n\n");
	}
}

static int generate(const char *fmt, size_t mb, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return 1;
	}
	int csv = strcmp(fmt, "csv") == 0;
	struct wn_buf text = WN_BUF_INIT, line = WN_BUF_INIT;
	size_t total = 0;
	if (csv) {
		fputs("id,url,text,score\n", f);
	}
	for (unsigned long id = 0; total < mb << 20; id++) {
		make_text(&text, 2000 + next_rand() % 3000);
		wn_buf_reset(&line);
		if (csv) {
			wn_buf_printf(&line, "%lu,https://example.org/%lu,\"", id, id * 7919);
			for (size_t i = 0; i < text.len; i++) {
				if (text.data[i] == '"')
					wn_buf_addc(&line, '"');
				wn_buf_addc(&line, text.data[i]);
			}
			wn_buf_printf(&line, "\",%u.%02u\n", next_rand() % 10, next_rand() % 100);
		} else {
			wn_buf_printf(&line, "{\"id\":\"doc-%lu\",\"text\":", id);
			wn_json_escape(&line, text.data, text.len);
			wn_buf_printf(&line, ",\"metadata\":{\"url\":\"https://example.org/%lu\","
			              "\"score\":%u.%02u,\"tokens\":%u,\"lang\":\"en\"}}\n",
			              id * 7919, next_rand() % 10, next_rand() % 100,
			              (unsigned)text.len / 4);
		}
		fwrite(line.data, 1, line.len, f);
		total += line.len;
	}
	wn_buf_release(&text);
	wn_buf_release(&line);
	if (fclose(f) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_one(const char *path)
{
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	double t0 = now();
	if (wn_reader_open(&r, path, NULL, &err) < 0) {
		fprintf(stderr, "bench-io: %s\n", err.msg);
		return 1;
	}
	unsigned long long recs = 0, out = 0, errors = 0;
	const char *rec;
	size_t len;
	int st;
	for (;;) {
		wn_error_clear(&err);
		st = wn_reader_next(r, &rec, &len, NULL, &err);
		if (st == 0)
			break;
		if (st < 0) {
			errors++;
			if (!wn_reader_recoverable(r))
				break;
			continue;
		}
		recs++;
		out += len;
	}
	double dt = now() - t0;
	/* Bytes of the input after decompression: the record reader consumed
	 * them all, so count them by re-reading without parsing. */
	struct wn_input *in;
	unsigned long long raw = 0;
	if (wn_input_open(&in, path, &err) == 0) {
		static char buf[1 << 20];
		size_t got;
		while (wn_input_read(in, buf, sizeof(buf), &got, &err) == 0 && got)
			raw += got;
		wn_input_close(in);
	}
	printf("%s: %s, %llu records, %llu errors, %.1f MB in, %.1f MB out, %.3f s, "
	       "%.0f MB/s\n", path, wn_format_name(wn_reader_format(r)), recs, errors,
	       raw / 1e6, out / 1e6, dt, raw / 1e6 / dt);
	if (st < 0)
		fprintf(stderr, "bench-io: %s\n", err.msg);
	wn_reader_close(r);
	return st < 0;
}

/* The line reader alone: the floor under JSONL reading. */
static int lines_only(const char *path)
{
	struct wn_input *in;
	struct wn_lines *lr;
	struct wn_error err;
	wn_error_clear(&err);
	double t0 = now();
	if (wn_input_open(&in, path, &err) < 0 ||
	    wn_lines_new(&lr, in, WN_DEFAULT_MAX_RECORD) < 0) {
		fprintf(stderr, "bench-io: %s\n", err.msg);
		return 1;
	}
	unsigned long long lines = 0, bytes = 0;
	const char *line;
	size_t len;
	int st;
	while ((st = wn_lines_next(lr, &line, &len, &err)) == 1) {
		lines++;
		bytes += len + 1;
	}
	double dt = now() - t0;
	printf("%s: %llu lines, %.1f MB, %.3f s, %.0f MB/s\n", path, lines, bytes / 1e6, dt,
	       bytes / 1e6 / dt);
	if (st < 0)
		fprintf(stderr, "bench-io: %s\n", err.msg);
	wn_lines_free(lr);
	wn_input_close(in);
	return st < 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "lines") == 0)
		return lines_only(argv[2]);
	if (argc == 5 && strcmp(argv[1], "generate") == 0)
		return generate(argv[2], strtoul(argv[3], NULL, 10), argv[4]);
	if (argc >= 3 && strcmp(argv[1], "read") == 0) {
		int bad = 0;
		for (int i = 2; i < argc; i++)
			bad |= read_one(argv[i]);
		return bad;
	}
	fprintf(stderr, "usage: bench-io generate jsonl|csv MB FILE\n"
	                "       bench-io read FILE...\n"
	                "       bench-io lines FILE\n");
	return 2;
}

/*
 * stats.c - `winnow stats`: prints what libwinnow's stats collector
 * counted, as aligned tables and terminal histograms, or as JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "winnow/winnow.h"
#include "winnow/stats.h"

int cmd_stats(int argc, char **argv);

struct stats_opts {
	int json;
	const char *text_field;
	const char *input_field;
	int format;
	char delimiter;
	int no_header;
	uint64_t max_record;
	int on_error;
	uint64_t bins;
	uint64_t top;
	uint64_t threads;
	int quiet;
	int help;
};

#define OPT(field) offsetof(struct stats_opts, field)

static const struct wn_option stats_options[] = {
	{ "json", 0, WN_OPT_FLAG, OPT(json), NULL, NULL, NULL,
	  "print a JSON object instead of tables", 0 },
	{ "text-field", 0, WN_OPT_STRING, OPT(text_field), "NAME", "text", NULL,
	  "the field holding the document text", 0 },
	{ "input-field", 0, WN_OPT_STRING, OPT(input_field), "NAME", "input_ids", NULL,
	  "the field holding token ids", 0 },
	{ "format", 'f', WN_OPT_CHOICE, OPT(format), "FORMAT", "auto", "auto|jsonl|csv|tsv",
	  "input format, as for read (dataset shards are always JSONL)", 0 },
	{ "delimiter", 'd', WN_OPT_CHAR, OPT(delimiter), "CHAR", NULL, NULL,
	  "CSV field delimiter (default ',' for CSV, tab for TSV)", 0 },
	{ "no-header", 0, WN_OPT_FLAG, OPT(no_header), NULL, NULL, NULL,
	  "CSV has no header row: columns are named c1, c2, ...", 0 },
	{ "max-record-size", 0, WN_OPT_SIZE, OPT(max_record), "SIZE", "64MiB", NULL,
	  "longest record (line or CSV row) accepted", 0 },
	{ "on-error", 0, WN_OPT_CHOICE, OPT(on_error), "MODE", "stop", "stop|skip",
	  "stop at the first bad record, or skip bad records and count them", 0 },
	{ "bins", 0, WN_OPT_UINT, OPT(bins), "N", "16", NULL,
	  "at most N rows per histogram (at least 4)", 0 },
	{ "top", 0, WN_OPT_UINT, OPT(top), "N", "20", NULL,
	  "show the N most frequent fields and languages (0: all); --json has all", 0 },
	{ "threads", 0, WN_OPT_UINT, OPT(threads), "N", NULL, NULL,
	  "worker threads (default: the number of cores)", 0 },
	{ "quiet", 'q', WN_OPT_FLAG, OPT(quiet), NULL, NULL, NULL,
	  "no progress on stderr", 0 },
	{ "help", 'h', WN_OPT_FLAG, OPT(help), NULL, NULL, NULL,
	  "show this help", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

static const char stats_usage[] = "stats [--json] [options] [FILE|DIR|-]...";
static const char stats_summary[] = "count records, words and tokens; length histograms; fields";
static const char stats_description[] =
	"Reads JSONL, CSV or TSV files (plain, .zst, .gz; directories and globs as read\n"
	"takes them; nothing or '-': standard input) and prints records, bytes,\n"
	"characters (code points), words (as filter --min-words counts them), lines,\n"
	"tokens (when records have token ids), the distribution of characters, words and\n"
	"tokens per record, languages (metadata.language, from filter --lang), and the\n"
	"fields present. A directory with a manifest.json is a dataset made by shard: its\n"
	"shards are read, and each split is counted on its own. Quartiles are exact below\n"
	"1024 and within 0.1% above; memory stays bounded whatever the input size.\n";

/* ---- progress ------------------------------------------------------------------ */

struct progress {
	int on, shown;
	double start, last;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_progress(void *ud, uint64_t records, uint64_t done, uint64_t total)
{
	struct progress *p = ud;
	double t = now();
	if (t - p->last < 0.25)
		return;
	p->last = t;
	double secs = t - p->start, rate = secs > 0 ? (double)done / secs : 0;
	fprintf(stderr, "\r\033[Kwinnow: stats: %" PRIu64 " records, %.1f MB, %.1f MB/s", records,
	        (double)done / 1e6, rate / 1e6);
	if (total > done && rate > 0) {
		uint64_t eta = (uint64_t)((double)(total - done) / rate);
		fprintf(stderr, ", %.0f%%, ETA %" PRIu64 ":%02" PRIu64,
		        100.0 * (double)done / (double)total, eta / 60, eta % 60);
	}
	p->shown = 1;
}

static void progress_clear(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

/* ---- tables ---------------------------------------------------------------------- */

#define MAX_COLS 9

/* Rows of cells printed with every column as wide as its widest cell: the
 * first column left-aligned, the others right-aligned. */
struct table {
	char *cell[MAX_COLS];
	size_t ncols;
	struct wn_buf rows; /* cells separated by '\t', rows by '\n' */
	size_t width[MAX_COLS];
	int st;
};

static void table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
	wn_buf_init(&t->rows, WN_BUF_UNLIMITED);
}

static void table_row(struct table *t, const char *first, ...)
	__attribute__((sentinel));

static void table_row(struct table *t, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	size_t c = 0;
	for (const char *s = first; s; s = va_arg(ap, const char *), c++) {
		size_t n = strlen(s);
		if (c < MAX_COLS && n > t->width[c])
			t->width[c] = n;
		if (t->st >= 0)
			t->st = wn_buf_printf(&t->rows, "%s%s", c ? "\t" : "", s);
	}
	va_end(ap);
	if (t->st >= 0)
		t->st = wn_buf_addc(&t->rows, '\n');
}

static int table_print(struct table *t, const char *indent, struct wn_buf *out)
{
	int st = t->st;
	const char *p = t->rows.data ? t->rows.data : "";
	while (st >= 0 && *p) {
		const char *eol = strchr(p, '\n');
		st = wn_buf_adds(out, indent);
		for (size_t c = 0; st >= 0 && p < eol; c++) {
			const char *tab = memchr(p, '\t', (size_t)(eol - p));
			const char *end = tab ? tab : eol;
			int n = (int)(end - p), w = c < MAX_COLS ? (int)t->width[c] : n;
			int last = end == eol;
			if (c == 0 && last)
				st = wn_buf_printf(out, "%.*s", n, p);
			else if (c == 0)
				st = wn_buf_printf(out, "%-*.*s", w, n, p);
			else
				st = wn_buf_printf(out, "  %*.*s", w, n, p);
			p = tab ? tab + 1 : eol;
		}
		if (st >= 0)
			st = wn_buf_addc(out, '\n');
		p = eol + 1;
	}
	wn_buf_release(&t->rows);
	memset(t, 0, sizeof(*t));
	return st;
}

/* Numbers as cells: integers as they are, others with up to two decimals. */
static const char *num(char *buf, size_t size, double v)
{
	snprintf(buf, size, "%.2f", v);
	char *dot = strchr(buf, '.');
	if (dot) {
		char *e = buf + strlen(buf);
		while (e > dot + 1 && e[-1] == '0')
			*--e = '\0';
		if (e == dot + 1)
			*dot = '\0';
	}
	return buf;
}

static const char *u64(char *buf, size_t size, uint64_t v)
{
	snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

static const char *pct(char *buf, size_t size, uint64_t part, uint64_t whole)
{
	snprintf(buf, size, "%.1f%%", whole ? 100.0 * (double)part / (double)whole : 0.0);
	return buf;
}

/* ---- the report as text ----------------------------------------------------------- */

struct printer {
	struct wn_buf *out;
	const struct stats_opts *o;
	int unicode; /* bars of Unicode blocks: a UTF-8 terminal */
	int st;
};

static void say(struct printer *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct printer *pr, const char *fmt, ...)
{
	if (pr->st < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	pr->st = wn_buf_vprintf(pr->out, fmt, ap);
	va_end(ap);
}

static void counts(struct printer *pr, const struct wn_stats_scope *sc)
{
	struct table t;
	table_init(&t);
	char a[32];
	table_row(&t, "records", u64(a, sizeof(a), sc->records), NULL);
	if (sc->skipped)
		table_row(&t, "records skipped (bad)", u64(a, sizeof(a), sc->skipped), NULL);
	if (sc->bytes)
		table_row(&t, "bytes (JSONL)", u64(a, sizeof(a), sc->bytes), NULL);
	if (sc->file_bytes)
		table_row(&t, "bytes (files)", u64(a, sizeof(a), sc->file_bytes), NULL);
	if (sc->chars_hist.count) {
		table_row(&t, "text bytes", u64(a, sizeof(a), sc->text_bytes), NULL);
		table_row(&t, "characters", u64(a, sizeof(a), sc->chars), NULL);
		table_row(&t, "words", u64(a, sizeof(a), sc->words), NULL);
		table_row(&t, "lines", u64(a, sizeof(a), sc->lines), NULL);
	}
	if (sc->with_tokens)
		table_row(&t, "tokens", u64(a, sizeof(a), sc->tokens), NULL);
	if (sc->no_text)
		table_row(&t, "records without text", u64(a, sizeof(a), sc->no_text), NULL);
	if (sc->shards)
		table_row(&t, "shards", u64(a, sizeof(a), sc->shards), NULL);
	if (pr->st >= 0)
		pr->st = table_print(&t, "", pr->out);
}

static void dist_row(struct table *t, const char *name, const struct wn_hist *h)
{
	char c[6][32];
	table_row(t, name, u64(c[0], 32, h->min), num(c[1], 32, wn_hist_quantile(h, 0.25)),
	          num(c[2], 32, wn_hist_quantile(h, 0.5)), num(c[3], 32, wn_hist_quantile(h, 0.75)),
	          num(c[4], 32, wn_hist_mean(h)), u64(c[5], 32, h->max), NULL);
}

static void bar(struct printer *pr, uint64_t count, uint64_t maxcount)
{
	enum { WIDTH = 40 };
	/* in eighths of a cell; a bin that is not empty shows at least one */
	uint64_t e = maxcount ? (count * WIDTH * 8 + maxcount / 2) / maxcount : 0;
	if (count && !e)
		e = 1;
	size_t cells = 0;
	if (pr->unicode) {
		static const char *const part[8] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };
		for (uint64_t i = 0; i < e / 8; i++, cells++)
			say(pr, "█");
		if (e % 8) {
			say(pr, "%s", part[e % 8]);
			cells++;
		}
	} else {
		uint64_t n = (e + 4) / 8;
		if (count && !n)
			n = 1;
		for (; cells < n; cells++)
			say(pr, "#");
	}
	for (; cells < WIDTH; cells++)
		say(pr, " ");
}

static void histogram(struct printer *pr, const char *title, const struct wn_hist *h)
{
	size_t maxbins = pr->o->bins < 4 ? 4 : pr->o->bins > WN_HIST_MAX_BINS ? WN_HIST_MAX_BINS :
	                 (size_t)pr->o->bins;
	struct wn_hist_bin bins[WN_HIST_MAX_BINS];
	size_t n = wn_hist_bins(h, maxbins, bins);
	uint64_t maxcount = 0;
	for (size_t i = 0; i < n; i++)
		if (bins[i].count > maxcount)
			maxcount = bins[i].count;
	say(pr, "\n%s\n", title);
	/* labels first, to align them */
	char labels[WN_HIST_MAX_BINS][48];
	int lw = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wn_hist_bin *b = &bins[i];
		if (b->hi == b->lo + 1)
			snprintf(labels[i], sizeof(labels[i]), "%" PRIu64, b->lo);
		else if (b->hi)
			snprintf(labels[i], sizeof(labels[i]), "%" PRIu64 "-%" PRIu64, b->lo, b->hi - 1);
		else
			snprintf(labels[i], sizeof(labels[i]), "%" PRIu64 "-", b->lo);
		int l = (int)strlen(labels[i]);
		lw = l > lw ? l : lw;
	}
	char c[32];
	int cw = (int)strlen(u64(c, sizeof(c), maxcount));
	for (size_t i = 0; i < n; i++) {
		say(pr, "  %*s  ", lw, labels[i]);
		bar(pr, bins[i].count, maxcount);
		say(pr, "  %*" PRIu64 "  %6s\n", cw, bins[i].count,
		    pct(c, sizeof(c), bins[i].count, h->count));
	}
}

static void names(struct printer *pr, const char *title, const struct wn_stats_count *v, size_t n,
                  uint64_t untracked, uint64_t records, int chars)
{
	size_t top = pr->o->top && pr->o->top < n ? (size_t)pr->o->top : n;
	struct table t;
	table_init(&t);
	char a[32], b[32], c[32];
	if (chars)
		table_row(&t, title, "records", "share", "characters", NULL);
	else
		table_row(&t, title, "records", "share", NULL);
	for (size_t i = 0; i < top; i++) {
		if (chars)
			table_row(&t, v[i].name, u64(a, 32, v[i].records),
			          pct(b, 32, v[i].records, records), u64(c, 32, v[i].chars), NULL);
		else
			table_row(&t, v[i].name, u64(a, 32, v[i].records),
			          pct(b, 32, v[i].records, records), NULL);
	}
	say(pr, "\n");
	if (pr->st >= 0)
		pr->st = table_print(&t, "", pr->out);
	if (top < n)
		say(pr, "(%zu more; --top 0 shows all)\n", n - top);
	if (untracked)
		say(pr, "(%" PRIu64 " more not tracked: only the first %d distinct names are)\n",
		    untracked, chars ? WN_STATS_MAX_LANGUAGES : WN_STATS_MAX_FIELDS);
}

static void put(const char **cell, char (*c)[32], size_t *n, uint64_t v)
{
	cell[*n] = u64(c[*n], 32, v);
	++*n;
}

/* Per split, the columns that have something in them. */
static void splits(struct printer *pr, const struct wn_stats_report *rep)
{
	const struct wn_stats_scope *tot = &rep->total;
	int jsonl = tot->bytes > 0, text = tot->chars_hist.count > 0, tokens = tot->with_tokens > 0;
	struct table t;
	table_init(&t);
	const char *head[MAX_COLS];
	size_t n = 0;
	head[n++] = "split";
	head[n++] = "shards";
	head[n++] = "records";
	if (jsonl)
		head[n++] = "bytes (JSONL)";
	head[n++] = "bytes (files)";
	if (text) {
		head[n++] = "characters";
		head[n++] = "words";
	}
	if (tokens)
		head[n++] = "tokens";
	while (n < MAX_COLS)
		head[n++] = NULL;
	table_row(&t, head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
	          head[8], NULL);
	for (size_t i = 0; i < rep->nsplits; i++) {
		const struct wn_stats_scope *s = &rep->splits[i];
		char c[MAX_COLS][32];
		const char *cell[MAX_COLS];
		n = 0;
		cell[n++] = s->name;
		put(cell, c, &n, s->shards);
		put(cell, c, &n, s->records);
		if (jsonl)
			put(cell, c, &n, s->bytes);
		put(cell, c, &n, s->file_bytes);
		if (text) {
			put(cell, c, &n, s->chars);
			put(cell, c, &n, s->words);
		}
		if (tokens)
			put(cell, c, &n, s->tokens);
		while (n < MAX_COLS)
			cell[n++] = NULL;
		table_row(&t, cell[0], cell[1], cell[2], cell[3], cell[4], cell[5], cell[6], cell[7],
		          cell[8], NULL);
	}
	say(pr, "\n");
	if (pr->st >= 0)
		pr->st = table_print(&t, "", pr->out);
}

static void print_text(struct printer *pr, const struct wn_stats_report *rep)
{
	const struct wn_stats_scope *sc = &rep->total;
	for (size_t i = 0; i < rep->ndatasets; i++) {
		const struct wn_stats_dataset *d = &rep->datasets[i];
		say(pr, "dataset %s: manifest version %d, %s", d->path, d->version, d->shard_format);
		if (d->dtype)
			say(pr, " %s", d->dtype);
		if (d->tokenizer && *d->tokenizer)
			say(pr, ", tokenizer %s", d->tokenizer);
		say(pr, ", %" PRIu64 " shard%s, %" PRIu64 " bytes\n", d->shards,
		    d->shards == 1 ? "" : "s", d->bytes);
	}
	if (rep->ndatasets)
		say(pr, "\n");
	counts(pr, sc);
	int text = sc->chars_hist.count > 0, tokens = sc->tokens_hist.count > 0;
	if (text || tokens) {
		struct table t;
	table_init(&t);
		table_row(&t, "per record", "min", "p25", "median", "p75", "mean", "max", NULL);
		if (text) {
			dist_row(&t, "characters", &sc->chars_hist);
			dist_row(&t, "words", &sc->words_hist);
		}
		if (tokens)
			dist_row(&t, "tokens", &sc->tokens_hist);
		say(pr, "\n");
		if (pr->st >= 0)
			pr->st = table_print(&t, "", pr->out);
	}
	if (text) {
		histogram(pr, "characters per record", &sc->chars_hist);
		histogram(pr, "words per record", &sc->words_hist);
	}
	if (tokens)
		histogram(pr, "tokens per record", &sc->tokens_hist);
	if (sc->nlanguages || sc->languages_untracked)
		names(pr, "language", sc->languages, sc->nlanguages, sc->languages_untracked,
		      sc->records, 1);
	if (sc->nfields || sc->fields_untracked)
		names(pr, "field", sc->fields, sc->nfields, sc->fields_untracked, sc->records, 0);
	if (rep->nsplits)
		splits(pr, rep);
}

/* ---- the command ----------------------------------------------------------------------- */

static int utf8_locale(void)
{
	const char *vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return 0;
}

static int write_out(const struct wn_buf *b)
{
	if (b->len)
		fwrite(b->data, 1, b->len, stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return 0;
		fprintf(stderr, "winnow: stats: write error: %s\n", strerror(errno));
		return WN_EXIT_IO;
	}
	return 0;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "winnow: stats: %s (see 'winnow stats --help')\n", msg);
	return WN_EXIT_USAGE;
}

int cmd_stats(int argc, char **argv)
{
	struct stats_opts o;
	memset(&o, 0, sizeof(o));
	struct wn_error err;
	wn_error_clear(&err);
	int used;
	char **pos = NULL;
	size_t npos = 0;
	if (wn_options_parse("stats", stats_options, &o, NULL, argc - 1, argv + 1, &used, &pos,
	                     &npos, NULL, &err) < 0) {
		fprintf(stderr, "winnow: %s\n", err.msg);
		return WN_EXIT_USAGE;
	}
	if (o.help) {
		free(pos);
		struct wn_buf b = WN_BUF_INIT;
		wn_options_help(stats_usage, stats_summary, stats_description, stats_options, 0, &b);
		int code = write_out(&b);
		wn_buf_release(&b);
		return code;
	}
	const char *bad = used != argc - 1 ? "'then' does not follow stats" :
	                  o.max_record == 0 ? "--max-record-size must be positive" : NULL;
	if (bad) {
		free(pos);
		return usage_error(bad);
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct progress prog = { .on = !o.quiet && isatty(STDERR_FILENO), .start = now() };
	struct wn_stats_opts so = {
		.text_field = o.text_field,
		.ids_field = o.input_field,
		.reader = {
			.format = (enum wn_format)o.format,
			.delimiter = o.delimiter,
			.no_header = o.no_header,
			.max_record = (size_t)o.max_record,
		},
		.skip_bad = o.on_error == 1,
		.threads = o.threads ? (unsigned)(o.threads > 256 ? 256 : o.threads) :
		                       (unsigned)(cores > 0 ? cores : 1),
		.progress = prog.on ? on_progress : NULL,
		.ud = &prog,
	};
	struct wn_stats *s = NULL;
	struct wn_stats_report rep;
	memset(&rep, 0, sizeof(rep));
	int st = wn_stats_new(&s, &so, &err);
	if (st >= 0)
		st = wn_stats_read(s, pos, npos, &err);
	if (st >= 0)
		st = wn_stats_report(s, &rep, &err);
	progress_clear(&prog);
	free(pos);
	wn_stats_free(s);
	if (st < 0) {
		fprintf(stderr, "winnow: stats: %s\n", err.status < 0 ? err.msg : wn_strerror(st));
		return wn_status_exit(st);
	}
	struct wn_buf b = WN_BUF_INIT;
	struct printer pr = { .out = &b, .o = &o, .unicode = isatty(STDOUT_FILENO) && utf8_locale() };
	if (o.json)
		pr.st = wn_stats_report_json(&rep, &b);
	else
		print_text(&pr, &rep);
	wn_stats_report_release(&rep);
	int code = pr.st < 0 ? (fprintf(stderr, "winnow: stats: out of memory\n"), WN_EXIT_IO) :
	                       write_out(&b);
	wn_buf_release(&b);
	return code;
}

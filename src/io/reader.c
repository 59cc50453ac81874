/*
 * reader.c - record readers: format selection, and JSONL records.
 *
 * A JSONL record is handed out as a pointer into the line reader's buffer,
 * so reading costs one memchr and one validating scan per line.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/iopriv.h"
#include "winnow/io.h"
#include "winnow/json.h"

struct wn_reader {
	struct wn_input *in;
	struct wn_lines *lines;
	struct wn_csv *csv;
	enum wn_format format;
	int recoverable;
	int fail;             /* a non-recoverable error ended the input */
	const char *raw;
	size_t rawlen;
	uint64_t records_before; /* JSONL lines before the range */
};

static const char *const format_names[] = {
	[WN_FORMAT_AUTO] = "auto",
	[WN_FORMAT_JSONL] = "jsonl",
	[WN_FORMAT_CSV] = "csv",
	[WN_FORMAT_TSV] = "tsv",
};

int wn_format_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *wn_format_name(enum wn_format f)
{
	if ((size_t)f < sizeof(format_names) / sizeof(format_names[0]))
		return format_names[f];
	return "unknown";
}

static int has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

enum wn_format wn_format_guess(const char *path)
{
	size_t n = strlen(path);
	static const char *const comp[] = { ".zst", ".zstd", ".gz" };
	for (size_t i = 0; i < sizeof(comp) / sizeof(comp[0]); i++) {
		if (has_suffix(path, n, comp[i])) {
			n -= strlen(comp[i]);
			break;
		}
	}
	if (has_suffix(path, n, ".jsonl") || has_suffix(path, n, ".json") ||
	    has_suffix(path, n, ".ndjson"))
		return WN_FORMAT_JSONL;
	if (has_suffix(path, n, ".csv"))
		return WN_FORMAT_CSV;
	if (has_suffix(path, n, ".tsv") || has_suffix(path, n, ".tab"))
		return WN_FORMAT_TSV;
	return WN_FORMAT_AUTO;
}

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int has_bom(const char *p, size_t n)
{
	return n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
	       (unsigned char)p[2] == 0xBF;
}

/*
 * Guess JSONL or CSV from the first non-blank line: '{' means JSONL.  The
 * line is pushed back for the real reader.  An empty input reads as JSONL
 * (no records either way).
 */
static int sniff_format(struct wn_reader *r, struct wn_error *err)
{
	const char *line;
	size_t len;
	int got;
	while ((got = wn_lines_next(r->lines, &line, &len, err)) == 1) {
		size_t i = wn_lines_lineno(r->lines) == 1 && has_bom(line, len) ? 3 : 0;
		while (i < len && is_json_space(line[i]))
			i++;
		if (i < len) {
			r->format = line[i] == '{' ? WN_FORMAT_JSONL : WN_FORMAT_CSV;
			wn_lines_unget(r->lines);
			return WN_OK;
		}
	}
	if (got < 0)
		return got;
	r->format = WN_FORMAT_JSONL;
	return WN_OK;
}

int wn_reader_open(struct wn_reader **rp, const char *path,
                   const struct wn_reader_opts *opts, struct wn_error *err)
{
	return wn_reader_open_range(rp, path, opts, 0, 0, err);
}

/*
 * A JSONL range is plain: the lines that start in it.  Skipping to the
 * first one counts the newlines before it, which is all a line number
 * needs; the end is a limit on the line reader.
 */
static int jsonl_range(struct wn_reader *r, uint64_t start, uint64_t end,
                       struct wn_error *err)
{
	if (start > 0) {
		WN_TRY(wn_lines_skip_to(r->lines, start, err));
		r->records_before = wn_lines_lineno(r->lines);
	}
	if (end > 0)
		wn_lines_set_limit(r->lines, end);
	return WN_OK;
}

int wn_reader_open_range(struct wn_reader **rp, const char *path,
                         const struct wn_reader_opts *opts, uint64_t start,
                         uint64_t end, struct wn_error *err)
{
	static const struct wn_reader_opts defaults = { WN_FORMAT_AUTO, 0, 0, 0 };
	if (!opts)
		opts = &defaults;
	size_t max_record = opts->max_record ? opts->max_record : WN_DEFAULT_MAX_RECORD;
	*rp = NULL;
	char delim = opts->delimiter;
	if (delim == '"' || delim == '\n' || delim == '\r')
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "the CSV delimiter cannot be a quote or a line break");
	struct wn_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return wn_error_set(err, WN_ENOMEM, path, 0, "out of memory");
	int st = wn_input_open(&r->in, path, err);
	if (st < 0)
		goto fail;
	st = wn_lines_new(&r->lines, r->in, max_record);
	if (st < 0) {
		wn_error_set(err, st, wn_input_name(r->in), 0, "out of memory");
		goto fail;
	}
	r->format = opts->format;
	if (r->format == WN_FORMAT_AUTO)
		r->format = wn_format_guess(path);
	if (r->format == WN_FORMAT_AUTO) {
		st = sniff_format(r, err);
		if (st < 0)
			goto fail;
	}
	if (r->format == WN_FORMAT_CSV || r->format == WN_FORMAT_TSV) {
		if (!delim)
			delim = r->format == WN_FORMAT_TSV ? '\t' : ',';
		st = wn_csv_new(&r->csv, r->lines, wn_input_name(r->in), delim,
		                opts->no_header, max_record, start, end, err);
		if (st < 0)
			goto fail;
	} else {
		st = jsonl_range(r, start, end, err);
		if (st < 0)
			goto fail;
	}
	*rp = r;
	return WN_OK;
fail:
	wn_reader_close(r);
	return st;
}

void wn_reader_close(struct wn_reader *r)
{
	if (!r)
		return;
	wn_csv_free(r->csv);
	wn_lines_free(r->lines);
	wn_input_close(r->in);
	free(r);
}

static const char *json_type_name(enum wn_json_type t)
{
	switch (t) {
	case WN_JSON_OBJECT: return "object";
	case WN_JSON_ARRAY: return "array";
	case WN_JSON_STRING: return "string";
	case WN_JSON_INTEGER:
	case WN_JSON_REAL: return "number";
	case WN_JSON_TRUE:
	case WN_JSON_FALSE: return "boolean";
	case WN_JSON_NULL: return "null";
	default: return "nothing";
	}
}

static int jsonl_next(struct wn_reader *r, const char **rec, size_t *len,
                      uint64_t *lineno, struct wn_error *err)
{
	const char *line;
	size_t n;
	for (;;) {
		int got = wn_lines_next(r->lines, &line, &n, err);
		uint64_t ln = wn_lines_lineno(r->lines);
		if (lineno)
			*lineno = ln;
		if (got == WN_ETOOBIG) {
			r->recoverable = 1;
			return got;
		}
		if (got <= 0)
			return got;
		r->raw = line;
		r->rawlen = n;
		size_t b = 0, e = n;
		if (ln == 1 && has_bom(line, n))
			b = 3;
		while (b < e && is_json_space(line[b]))
			b++;
		if (b == e)
			continue;
		while (is_json_space(line[e - 1]))
			e--;
		enum wn_json_type type;
		struct wn_json_error jerr = { 0, NULL };
		if (wn_json_validate(line + b, e - b, &type, &jerr) != 0) {
			r->recoverable = 1;
			return wn_error_set(err, WN_EDATA, wn_input_name(r->in), ln,
			                    "invalid JSON at byte %zu: %s", b + jerr.offset + 1,
			                    jerr.reason ? jerr.reason : "syntax error");
		}
		if (type != WN_JSON_OBJECT) {
			r->recoverable = 1;
			return wn_error_set(err, WN_EDATA, wn_input_name(r->in), ln,
			                    "record is not a JSON object (got %s)",
			                    json_type_name(type));
		}
		*rec = line + b;
		*len = e - b;
		return 1;
	}
}

int wn_reader_next(struct wn_reader *r, const char **rec, size_t *len,
                   uint64_t *line, struct wn_error *err)
{
	if (r->fail)
		return wn_error_set(err, r->fail, wn_input_name(r->in), 0,
		                    "cannot read on after an earlier error");
	r->recoverable = 0;
	r->raw = NULL;
	r->rawlen = 0;
	int st;
	if (r->csv) {
		st = wn_csv_next(r->csv, rec, len, line, err);
		if (st < 0)
			r->recoverable = wn_csv_recoverable(r->csv);
	} else {
		st = jsonl_next(r, rec, len, line, err);
	}
	if (st < 0 && !r->recoverable)
		r->fail = st;
	return st;
}

int wn_reader_recoverable(const struct wn_reader *r)
{
	return r->recoverable;
}

void wn_reader_raw(const struct wn_reader *r, const char **raw, size_t *len)
{
	if (r->csv) {
		wn_csv_raw(r->csv, raw, len);
		return;
	}
	*raw = r->raw ? r->raw : "";
	*len = r->rawlen;
}

const char *wn_reader_name(const struct wn_reader *r)
{
	return wn_input_name(r->in);
}

const struct wn_input *wn_reader_input(const struct wn_reader *r)
{
	return r->in;
}

enum wn_format wn_reader_format(const struct wn_reader *r)
{
	return r->format;
}

uint64_t wn_reader_records_before(const struct wn_reader *r)
{
	return r->csv ? wn_csv_rows_before(r->csv) : r->records_before;
}

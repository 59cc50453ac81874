/*
 * csv.c - CSV and TSV rows as JSON objects, parsed with libcsv.
 *
 * Quoting follows RFC 4180 in both formats: a field may be quoted, a quote
 * inside it is doubled, and a quoted field may hold delimiters and line
 * breaks.  TSV is the same grammar with a tab as the delimiter (as Python's
 * csv module reads it with delimiter='\t').  Spaces around fields are data.
 * Strict mode turns a stray quote into an error instead of guessing.
 *
 * Input is taken one line at a time, so the line where each row starts is
 * known exactly and the raw text of the current row is at hand for a
 * rejects file.  A line holding a whole row is split directly (split_line);
 * rows spanning lines, and anything odd, go through libcsv.  Either way,
 * fields are escaped straight into the output buffer by on_field, using a
 * table of pre-escaped `"key":` prefixes.  One line can complete several
 * rows (a lone carriage return ends a row, as in Python's csv), so completed
 * rows wait in a small queue.
 *
 * Byte ranges.  A rank of a split read owns the rows of the lines from the
 * first "cut line" at or after its start offset to the first cut line at or
 * after its end offset.  A cut line is a line that starts outside any row
 * (after the header), so that a quoted field never spans two ranks.  Where
 * rows start depends on every quote before, so each rank follows the file
 * from its first byte with struct csv_scan, which replays the reader's
 * rules for where rows end (libcsv's grammar in strict mode, the recovery
 * after a bad row, the limits on line and row length) without building
 * anything, and counts the rows for --add-id.  Lines before the range go to
 * the scanner only; inside it, to both.  Both ranks on either side of a cut
 * find it with the same scanner on the same bytes, so they always agree;
 * and the rank before it checks that the parser agrees too (it is between
 * rows there, having handed out exactly the rows the scanner counted), so
 * a disagreement could only surface as an error, never as a lost or
 * repeated row.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "io/iopriv.h"
#include "winnow/buf.h"
#include "winnow/json.h"

/*
 * libcsv's parser states (private to libcsv.c; the struct itself is public).
 * The reader needs to know whether a row is in progress between two lines,
 * and whether the parser stopped inside a quoted field.
 */
#define LIBCSV_ROW_NOT_BEGUN 0
#define LIBCSV_FIELD_BEGUN 2
#define LIBCSV_FIELD_MIGHT_HAVE_ENDED 3

/* libcsv grows a field's buffer by this much at a time. */
#define CSV_FIELD_BLOCK ((size_t)64 << 10)

#define NO_COLUMN SIZE_MAX

/* Where the scanner is in the grammar: libcsv's states, with its quoted
 * flag folded in. */
enum scan_state {
	SCAN_ROW,      /* between rows (ROW_NOT_BEGUN) */
	SCAN_FIELD,    /* after a delimiter (FIELD_NOT_BEGUN) */
	SCAN_PLAIN,    /* in an unquoted field */
	SCAN_QUOTED,   /* in a quoted field */
	SCAN_QUOTE,    /* after a quote in a quoted field (MIGHT_HAVE_ENDED) */
};

struct csv_scan {
	enum scan_state state;
	int skip, skip_quoted;  /* as skip_row and skip_quoted below */
	uint64_t row_bytes;     /* lines of the open row so far, with newlines */
	uint64_t rows;          /* rows completed or rejected, header included */
	uint64_t completed;     /* rows completed */
	size_t fields;          /* fields of the row so far */
	size_t first_fields;    /* fields of the first completed row, or 0 */
};

struct csv_row {
	size_t off, len;  /* JSON bytes in out */
	uint64_t line;
	size_t nfields;
	size_t bad_col;   /* first column with invalid UTF-8, or NO_COLUMN */
};

struct wn_csv {
	struct csv_parser p;
	int p_ready;
	struct wn_lines *lines;
	const char *name;
	unsigned char delim;
	size_t max_record;
	int no_header;

	/* Columns: the number expected (0 until known), their escaped
	 * prefixes ("{" or "," then "name":) and their names for messages. */
	size_t ncols;
	struct wn_buf keys;
	size_t *key_off; /* nkeys + 1 entries */
	size_t nkeys, key_cap;
	struct wn_buf names;
	size_t *name_off; /* ncols + 1 entries, header mode only */
	int in_header;

	/* The row being parsed and the rows completed and not yet returned. */
	struct wn_buf out;
	size_t row_off;
	size_t col;
	size_t bad_col;
	uint64_t row_line;
	uint64_t cur_line;
	struct csv_row *q;
	size_t qhead, qlen, qcap;

	/* Earlier lines of a row spanning lines, and the raw text of the rows
	 * last queued or rejected. */
	struct wn_buf raw;
	struct wn_buf scratch; /* a quoted field with doubled quotes, undoubled */
	const char *raw_p;
	size_t raw_n;

	int cb_err;       /* failure inside a libcsv callback */
	struct wn_error perr; /* an error to report once the queue is empty */
	int pending;
	int pending_recoverable;
	uint64_t pending_line;
	int recoverable;
	int eof;
	/* Skipping the rest of a row that grew too long; inside quotes? */
	int skip_row;
	int skip_quoted;

	/* A byte range: the scanner follows every line read. */
	int ranged;
	int before;            /* still before the range: scan only */
	uint64_t range_start, range_end;
	struct csv_scan scan;
	uint64_t rows_before;  /* rows and rejected rows before the range */
	uint64_t handed;       /* rows and errors handed out since */
};

static int is_space_none(unsigned char ch)
{
	(void)ch;
	return 0;
}

static int parser_setup(struct wn_csv *c)
{
	if (c->p_ready)
		csv_free(&c->p);
	c->p_ready = 0;
	if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return WN_ENOMEM;
	c->p_ready = 1;
	csv_set_delim(&c->p, c->delim);
	/* RFC 4180: spaces are part of a field, never trimmed. */
	csv_set_space_func(&c->p, is_space_none);
	csv_set_blk_size(&c->p, CSV_FIELD_BLOCK);
	return WN_OK;
}

static int key_push(struct wn_csv *c, const char *name, size_t n)
{
	if (c->nkeys + 2 > c->key_cap) {
		size_t cap = c->key_cap ? c->key_cap * 2 : 16;
		size_t *v = realloc(c->key_off, cap * sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		c->key_off = v;
		c->key_cap = cap;
	}
	if (c->nkeys == 0)
		c->key_off[0] = 0;
	WN_TRY(wn_buf_addc(&c->keys, c->nkeys == 0 ? '{' : ','));
	WN_TRY(wn_json_escape(&c->keys, name, n));
	WN_TRY(wn_buf_addc(&c->keys, ':'));
	c->key_off[++c->nkeys] = c->keys.len;
	return WN_OK;
}

/* Without a header, column i is named c<i+1>. */
static int key_ensure(struct wn_csv *c, size_t col)
{
	while (c->nkeys <= col) {
		char name[32];
		int n = snprintf(name, sizeof(name), "c%zu", c->nkeys + 1);
		WN_TRY(key_push(c, name, (size_t)n));
	}
	return WN_OK;
}

static void column_name(const struct wn_csv *c, size_t col, char tmp[32],
                        const char **s, int *n)
{
	if (c->name_off && col < c->ncols) {
		*s = c->names.data + c->name_off[col];
		*n = (int)(c->name_off[col + 1] - c->name_off[col] - 1);
		return;
	}
	*n = snprintf(tmp, 32, "c%zu", col + 1);
	*s = tmp;
}

struct name_ref {
	const char *p;
	size_t n;
	size_t col;
};

static int cmp_name(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int r = memcmp(x->p, y->p, n);
	if (r)
		return r;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/* The header row is complete: name empty columns, refuse duplicates, and
 * build the key table.  names holds the fields, each followed by a NUL. */
static int header_finish(struct wn_csv *c)
{
	size_t n = c->col;
	assert(n > 0);
	struct wn_buf fixed = WN_BUF_INIT;
	size_t *off = malloc((n + 1) * sizeof(*off));
	struct name_ref *refs = malloc(n * sizeof(*refs));
	int st = off && refs ? WN_OK : WN_ENOMEM;
	const char *p = c->names.data;
	for (size_t i = 0; i < n && st == WN_OK; i++) {
		size_t len = strlen(p); /* on_field refused names with a NUL */
		off[i] = fixed.len;
		if (wn_utf8_valid_prefix(p, len) != len) {
			st = wn_error_set(&c->perr, WN_EDATA, c->name, c->row_line,
			                  "invalid UTF-8 in the name of column %zu", i + 1);
			break;
		}
		if (len == 0)
			st = wn_buf_printf(&fixed, "c%zu", i + 1);
		else
			st = wn_buf_add(&fixed, p, len);
		if (st == WN_OK)
			st = wn_buf_addc(&fixed, '\0');
		p += len + 1;
	}
	if (st == WN_OK) {
		off[n] = fixed.len;
		for (size_t i = 0; i < n; i++) {
			refs[i].p = fixed.data + off[i];
			refs[i].n = off[i + 1] - off[i] - 1;
			refs[i].col = i;
		}
		/* Sorted by name, then column: the second of two equal names
		 * follows the first.  Report the leftmost repeated column. */
		qsort(refs, n, sizeof(*refs), cmp_name);
		size_t dup = NO_COLUMN;
		for (size_t i = 1; i < n; i++)
			if (refs[i].n == refs[i - 1].n &&
			    memcmp(refs[i].p, refs[i - 1].p, refs[i].n) == 0 && refs[i].col < dup)
				dup = refs[i].col;
		if (dup != NO_COLUMN)
			st = wn_error_set(&c->perr, WN_EDATA, c->name, c->row_line,
			                  "duplicate column name '%s'", fixed.data + off[dup]);
	}
	for (size_t i = 0; i < n && st == WN_OK; i++)
		st = key_push(c, fixed.data + off[i], off[i + 1] - off[i] - 1);
	free(refs);
	if (st < 0) {
		free(off);
		wn_buf_release(&fixed);
		return st;
	}
	wn_buf_release(&c->names);
	c->names = fixed;
	c->name_off = off;
	c->ncols = n;
	return WN_OK;
}

static void on_field(void *s, size_t n, void *data)
{
	struct wn_csv *c = data;
	if (c->cb_err)
		return;
	const char *f = s ? s : "";
	size_t col = c->col++;
	int st = WN_OK;
	if (c->in_header) {
		if (memchr(f, '\0', n))
			st = wn_error_set(&c->perr, WN_EDATA, c->name, c->row_line,
			                  "NUL byte in the name of column %zu", col + 1);
		else if ((st = wn_buf_add(&c->names, f, n)) == WN_OK)
			st = wn_buf_addc(&c->names, '\0');
		c->cb_err = st;
		return;
	}
	if (c->ncols && col >= c->ncols)
		return; /* an extra field: counted, reported with the row */
	if (c->no_header && (st = key_ensure(c, col)) < 0) {
		c->cb_err = st;
		return;
	}
	st = wn_buf_add(&c->out, c->keys.data + c->key_off[col],
	                c->key_off[col + 1] - c->key_off[col]);
	if (st == WN_OK) {
		if (wn_utf8_valid_prefix(f, n) == n) {
			st = wn_json_escape(&c->out, f, n);
		} else {
			if (c->bad_col == NO_COLUMN)
				c->bad_col = col;
			st = wn_buf_add(&c->out, "\"\"", 2);
		}
	}
	c->cb_err = st;
}

static void on_row(int ch, void *data)
{
	struct wn_csv *c = data;
	(void)ch;
	if (c->cb_err)
		return;
	if (c->in_header) {
		c->cb_err = header_finish(c);
		c->in_header = 0;
	} else {
		if (c->ncols == 0)
			c->ncols = c->col;
		int st = wn_buf_addc(&c->out, '}');
		if (st == WN_OK && c->qlen == c->qcap) {
			size_t cap = c->qcap ? c->qcap * 2 : 8;
			struct csv_row *q = realloc(c->q, cap * sizeof(*q));
			if (q) {
				c->q = q;
				c->qcap = cap;
			} else {
				st = WN_ENOMEM;
			}
		}
		if (st < 0) {
			c->cb_err = st;
			return;
		}
		assert(c->qhead == 0);
		c->q[c->qlen++] = (struct csv_row){ c->row_off, c->out.len - c->row_off,
		                                    c->row_line, c->col, c->bad_col };
	}
	c->col = 0;
	c->bad_col = NO_COLUMN;
	c->row_off = c->out.len;
	/* Another row may start on the same line, after a lone CR. */
	c->row_line = c->cur_line;
}

/* Forget the row in progress, after an error in it. */
static int row_abandon(struct wn_csv *c)
{
	wn_buf_truncate(&c->out, c->row_off);
	c->col = 0;
	c->bad_col = NO_COLUMN;
	return parser_setup(c);
}

static void set_pending(struct wn_csv *c, int recoverable, uint64_t line)
{
	assert(c->perr.status < 0);
	c->pending = c->perr.status;
	c->pending_recoverable = recoverable;
	c->pending_line = line;
}

static int fail_nomem(struct wn_csv *c, uint64_t line)
{
	wn_error_set(&c->perr, WN_ENOMEM, c->name, line, "out of memory");
	set_pending(c, 0, line);
	return WN_ENOMEM;
}

static size_t count_quotes(const char *s, size_t n)
{
	size_t k = 0;
	const char *e = s + n;
	while ((s = memchr(s, '"', (size_t)(e - s))) != NULL) {
		k++;
		s++;
	}
	return k;
}

static int has_bom(const char *p, size_t n)
{
	return n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
	       (unsigned char)p[2] == 0xBF;
}

/*
 * Most rows fit on one line.  Such a line is split here with memchr, with
 * exactly libcsv's result, instead of through libcsv's call per byte.
 * Anything unusual (a quoted field running on to the next line, a stray
 * quote, a lone CR, which ends a row) is left to libcsv, which then reports
 * errors as usual: the return value 0 means "not handled, nothing changed".
 */
static int split_line(struct wn_csv *c, const char *s, size_t n)
{
	const char *e = s + n;
	if (s < e && e[-1] == '\r')
		e--; /* the CR of a CRLF ends the row */
	if (s == e)
		return 1; /* an empty line is no row */
	int quotes = memchr(s, '"', (size_t)(e - s)) != NULL;
	if (!quotes && memchr(s, '\r', (size_t)(e - s)))
		return 0;
	size_t out0 = c->out.len, names0 = c->names.len;
	for (;;) {
		const char *f, *fe;
		if (s < e && *s == '"') {
			const char *q = s + 1, *z;
			int doubled = 0;
			wn_buf_reset(&c->scratch);
			for (;;) {
				z = memchr(q, '"', (size_t)(e - q));
				if (!z)
					goto undo; /* the field goes on after this line */
				if (z + 1 < e && z[1] == '"') {
					if (wn_buf_add(&c->scratch, q, (size_t)(z + 1 - q)) < 0)
						goto nomem;
					doubled = 1;
					q = z + 2;
					continue;
				}
				break;
			}
			if (z + 1 < e && z[1] != c->delim)
				goto undo; /* text after the closing quote */
			if (doubled) {
				if (wn_buf_add(&c->scratch, q, (size_t)(z - q)) < 0)
					goto nomem;
				f = c->scratch.data;
				fe = f + c->scratch.len;
			} else {
				f = s + 1;
				fe = z;
			}
			s = z + 1;
		} else {
			const char *d = memchr(s, c->delim, (size_t)(e - s));
			f = s;
			fe = d ? d : e;
			if (quotes && (memchr(f, '"', (size_t)(fe - f)) ||
			               memchr(f, '\r', (size_t)(fe - f))))
				goto undo;
			s = fe;
		}
		on_field((void *)f, (size_t)(fe - f), c);
		if (s == e)
			break;
		assert(*s == c->delim);
		s++;
	}
	on_row('\n', c);
	return 1;
nomem:
	c->cb_err = WN_ENOMEM;
	return 1;
undo:
	wn_buf_truncate(&c->out, out0);
	if (c->names.cap)
		wn_buf_truncate(&c->names, names0);
	c->col = 0;
	c->bad_col = NO_COLUMN;
	return 0;
}

/* Parse one line.  Completed rows are queued; a problem becomes pending. */
static void feed_line(struct wn_csv *c, const char *line, size_t n)
{
	uint64_t ln = c->cur_line;
	int row_open = c->p.pstate != LIBCSV_ROW_NOT_BEGUN;
	if (c->skip_row) {
		/* RFC 4180 quotes toggle: a row ends at the first line end that
		 * is outside quotes. */
		if (count_quotes(line, n) & 1)
			c->skip_quoted = !c->skip_quoted;
		c->skip_row = c->skip_quoted;
		return;
	}
	size_t bom = ln == 1 && has_bom(line, n) ? 3 : 0;
	if (!row_open) {
		wn_buf_reset(&c->raw);
		c->row_line = ln;
	} else if (c->raw.len + n > c->max_record) {
		int inside = c->p.pstate == LIBCSV_FIELD_BEGUN && c->p.quoted;
		wn_error_set(&c->perr, WN_ETOOBIG, c->name, c->row_line,
		             "row longer than %zu bytes (--max-record-size)", c->max_record);
		set_pending(c, 1, c->row_line);
		c->raw_p = "";
		c->raw_n = 0;
		wn_buf_reset(&c->raw);
		if (row_abandon(c) < 0) {
			fail_nomem(c, ln);
			return;
		}
		if (count_quotes(line, n) & 1)
			inside = !inside;
		c->skip_row = c->skip_quoted = inside;
		return;
	}
	size_t done = 0;
	int perr = CSV_SUCCESS;
	if (row_open || !split_line(c, line + bom, n - bom)) {
		done = csv_parse(&c->p, line + bom, n - bom, on_field, on_row, c);
		if (done == n - bom && !c->cb_err)
			csv_parse(&c->p, "\n", 1, on_field, on_row, c);
		perr = csv_error(&c->p);
	}
	if (c->cb_err || perr == CSV_ENOMEM || perr == CSV_ETOOBIG) {
		if (c->cb_err == WN_EDATA)
			set_pending(c, 0, c->row_line); /* a bad header */
		else
			fail_nomem(c, ln);
		return;
	}
	int continues = c->p.pstate != LIBCSV_ROW_NOT_BEGUN;
	if (c->raw.len > 0 || continues || perr == CSV_EPARSE) {
		if (wn_buf_add(&c->raw, line, n) < 0 || wn_buf_addc(&c->raw, '\n') < 0) {
			fail_nomem(c, ln);
			return;
		}
		c->raw_p = c->raw.data;
		c->raw_n = c->raw.len - 1;
	} else {
		c->raw_p = line;
		c->raw_n = n;
	}
	if (perr == CSV_EPARSE) {
		const char *why = c->p.pstate == LIBCSV_FIELD_MIGHT_HAVE_ENDED
		                  ? "unexpected character after closing quote"
		                  : "quote in unquoted field";
		if (c->row_line == ln)
			wn_error_set(&c->perr, WN_EDATA, c->name, ln,
			             "invalid CSV at byte %zu: %s", bom + done + 1, why);
		else
			wn_error_set(&c->perr, WN_EDATA, c->name, ln,
			             "invalid CSV at byte %zu: %s (in the row starting at line %"
			             PRIu64 ")", bom + done + 1, why, c->row_line);
		/* A header error cannot be skipped: there are no keys. */
		set_pending(c, !c->in_header, c->row_line);
		/* The raw text stays for the caller; the next line starts a
		 * new row and resets it. */
		if (row_abandon(c) < 0)
			fail_nomem(c, ln);
	}
}

/* ---- the scanner for byte ranges ---------------------------------------- */

static void scan_row_end(struct csv_scan *s)
{
	s->fields++;
	if (s->completed++ == 0)
		s->first_fields = s->fields;
	s->rows++;
	s->fields = 0;
	s->state = SCAN_ROW;
}

/*
 * Feed bytes through libcsv's grammar in strict mode, with no character
 * counted as a space: returns -1 where libcsv reports a parse error.  The
 * common cases run through memchr or a tight loop.
 */
static int scan_bytes(struct csv_scan *s, const char *p, const char *e,
                      unsigned char delim)
{
	while (p < e) {
		unsigned char ch;
		switch (s->state) {
		case SCAN_QUOTED: {
			const char *q = memchr(p, '"', (size_t)(e - p));
			if (!q)
				return 0;
			p = q + 1;
			s->state = SCAN_QUOTE;
			continue;
		}
		case SCAN_PLAIN:
			while (p < e && (ch = (unsigned char)*p) != '"' && ch != delim &&
			       ch != '\r' && ch != '\n')
				p++;
			if (p == e)
				return 0;
			break;
		default:
			break;
		}
		ch = (unsigned char)*p++;
		switch (s->state) {
		case SCAN_ROW:
		case SCAN_FIELD:
			if (ch == '\r' || ch == '\n') {
				if (s->state == SCAN_FIELD)
					scan_row_end(s); /* a last, empty field */
			} else if (ch == delim) {
				s->fields++;
				s->state = SCAN_FIELD;
			} else {
				s->state = ch == '"' ? SCAN_QUOTED : SCAN_PLAIN;
			}
			break;
		case SCAN_PLAIN:
			if (ch == '"')
				return -1; /* quote in unquoted field */
			if (ch == delim) {
				s->fields++;
				s->state = SCAN_FIELD;
			} else {
				scan_row_end(s);
			}
			break;
		case SCAN_QUOTE:
			if (ch == '"') {
				s->state = SCAN_QUOTED; /* a doubled quote */
			} else if (ch == delim) {
				s->fields++;
				s->state = SCAN_FIELD;
			} else if (ch == '\r' || ch == '\n') {
				scan_row_end(s);
			} else {
				return -1; /* text after the closing quote */
			}
			break;
		case SCAN_QUOTED: /* handled above */
			assert(0);
			break;
		}
	}
	return 0;
}

/* A row the reader rejects: it counts, and the next line starts afresh. */
static void scan_reject(struct csv_scan *s)
{
	s->rows++;
	s->fields = 0;
	s->state = SCAN_ROW;
}

/* What feed_line does with one line, in outline. */
static void scan_line(struct wn_csv *c, const char *line, size_t n, uint64_t ln)
{
	struct csv_scan *s = &c->scan;
	if (s->skip) {
		if (count_quotes(line, n) & 1)
			s->skip_quoted = !s->skip_quoted;
		s->skip = s->skip_quoted;
		return;
	}
	if (s->state != SCAN_ROW) {
		/* Only a quoted field can stay open over a line end. */
		assert(s->state == SCAN_QUOTED);
		if (s->row_bytes + n > c->max_record) {
			scan_reject(s);
			s->skip = s->skip_quoted = !(count_quotes(line, n) & 1);
			return;
		}
	} else {
		s->row_bytes = 0;
		if (s->completed > 0 && !memchr(line, '"', n)) {
			/* Most lines: without quotes, each stretch between
			 * carriage returns that is not empty is a row. */
			const char *p = line, *e = line + n;
			for (;;) {
				const char *cr = memchr(p, '\r', (size_t)(e - p));
				const char *end = cr ? cr : e;
				if (end > p) {
					s->rows++;
					s->completed++;
				}
				if (!cr)
					return;
				p = cr + 1;
			}
		}
	}
	size_t bom = ln == 1 && has_bom(line, n) ? 3 : 0;
	if (scan_bytes(s, line + bom, line + n, c->delim) < 0 ||
	    scan_bytes(s, "\n", "\n" + 1, c->delim) < 0) {
		scan_reject(s); /* the rest of the line is dropped */
		return;
	}
	s->row_bytes += n + 1;
}

/* A line longer than --max-record-size: the line reader skips it. */
static void scan_too_long(struct wn_csv *c)
{
	scan_reject(&c->scan);
	c->scan.skip = 0;
}

/* Could a range start or end at the line starting now? */
static int scan_at_cut(const struct wn_csv *c)
{
	const struct csv_scan *s = &c->scan;
	return s->state == SCAN_ROW && !s->skip && (c->no_header || s->completed > 0);
}

static uint64_t scan_rows_before(const struct wn_csv *c)
{
	return c->scan.rows - (c->no_header ? 0 : 1);
}

/* The first line of the range: forget whatever the parser was doing (the
 * rows before belong to another rank) and start as a reader that had just
 * read those rows would be. */
static void range_enter(struct wn_csv *c)
{
	c->before = 0;
	c->qhead = c->qlen = 0;
	wn_buf_reset(&c->out);
	c->row_off = 0;
	wn_buf_reset(&c->raw);
	c->raw_p = "";
	c->raw_n = 0;
	c->skip_row = c->skip_quoted = 0;
	c->rows_before = scan_rows_before(c);
	c->handed = 0;
	if (c->no_header && c->ncols == 0)
		c->ncols = c->scan.first_fields;
	if (row_abandon(c) < 0)
		fail_nomem(c, c->cur_line);
	wn_lines_set_limit(c->lines, c->range_end ? c->range_end : UINT64_MAX);
}

/* The end of the range.  The parser must be between rows, having handed
 * out the rows the scanner counted; otherwise the rank after this one,
 * which starts here, would not read what a single reader reads. */
static void range_leave(struct wn_csv *c)
{
	if (c->p.pstate != LIBCSV_ROW_NOT_BEGUN || c->skip_row ||
	    c->rows_before + c->handed != scan_rows_before(c)) {
		uint64_t ln = wn_lines_lineno(c->lines) + 1;
		wn_error_set(&c->perr, WN_EINTERNAL, c->name, ln,
		             "cannot split the CSV here: the reader and the row scanner "
		             "disagree on where rows start; read this file without --rank");
		set_pending(c, 0, ln);
		return;
	}
	c->eof = 1;
}

/* wn_lines_next stopped at the limit: a cut line starts the range, or ends
 * it; any other line is let through. */
static void range_limit(struct wn_csv *c)
{
	if (!scan_at_cut(c)) {
		wn_lines_set_limit(c->lines, wn_lines_offset(c->lines) + 1);
		return;
	}
	if (c->before)
		range_enter(c);
	else
		range_leave(c);
}

/* Read lines until a row is queued, an error is pending, or the input ends. */
static void fill(struct wn_csv *c)
{
	assert(c->qlen == 0 && !c->pending);
	if (c->row_off > 0) {
		/* Keep only the row in progress. */
		wn_buf_consume(&c->out, c->row_off);
		c->row_off = 0;
	}
	c->qhead = 0;
	int header = c->in_header;
	while (c->qlen == 0 && !c->pending && !c->eof && c->in_header == header) {
		const char *line;
		size_t n;
		wn_error_clear(&c->perr);
		int got = wn_lines_next(c->lines, &line, &n, &c->perr);
		c->cur_line = wn_lines_lineno(c->lines);
		if (c->ranged) {
			if (got == 0 && wn_lines_at_limit(c->lines)) {
				range_limit(c);
				continue;
			}
			if (got == WN_ETOOBIG)
				scan_too_long(c);
			else if (got == 1)
				scan_line(c, line, n, c->cur_line);
			if (c->before) {
				if (got == 0) {
					c->eof = 1; /* the input ends before the range */
					break;
				}
				if (got == 1 || got == WN_ETOOBIG)
					continue;
			}
		}
		if (got == WN_ETOOBIG) {
			/* The line reader skips the rest of the line; the row it
			 * belonged to is lost. */
			set_pending(c, !c->in_header, c->cur_line);
			c->raw_p = "";
			c->raw_n = 0;
			wn_buf_reset(&c->raw);
			c->skip_row = 0;
			if (row_abandon(c) < 0)
				fail_nomem(c, c->cur_line);
			break;
		}
		if (got < 0) {
			set_pending(c, 0, c->cur_line);
			break;
		}
		if (got == 0) {
			c->eof = 1;
			if (!c->skip_row && csv_fini(&c->p, on_field, on_row, c) != 0) {
				c->raw_p = c->raw.len ? c->raw.data : "";
				c->raw_n = c->raw.len ? c->raw.len - 1 : 0;
				wn_error_set(&c->perr, WN_EDATA, c->name, c->row_line,
				             "unterminated quoted field");
				set_pending(c, 0, c->row_line);
			} else if (c->cb_err) {
				if (c->cb_err == WN_EDATA)
					set_pending(c, 0, c->row_line);
				else
					fail_nomem(c, c->cur_line);
			}
			break;
		}
		feed_line(c, line, n);
	}
}

int wn_csv_new(struct wn_csv **cp, struct wn_lines *lines, const char *name,
               char delimiter, int no_header, size_t max_record,
               uint64_t range_start, uint64_t range_end, struct wn_error *err)
{
	*cp = NULL;
	struct wn_csv *c = calloc(1, sizeof(*c));
	if (!c)
		return wn_error_set(err, WN_ENOMEM, name, 0, "out of memory");
	c->lines = lines;
	c->name = name;
	c->delim = (unsigned char)delimiter;
	c->max_record = max_record;
	c->no_header = no_header;
	c->bad_col = NO_COLUMN;
	c->raw_p = "";
	wn_buf_init(&c->keys, WN_BUF_UNLIMITED);
	wn_buf_init(&c->names, WN_BUF_UNLIMITED);
	wn_buf_init(&c->out, WN_BUF_UNLIMITED);
	wn_buf_init(&c->raw, WN_BUF_UNLIMITED);
	wn_buf_init(&c->scratch, WN_BUF_UNLIMITED);
	wn_error_clear(&c->perr);
	if (parser_setup(c) < 0) {
		wn_csv_free(c);
		return wn_error_set(err, WN_ENOMEM, name, 0, "out of memory");
	}
	if (range_start || range_end) {
		c->ranged = 1;
		c->range_start = range_start;
		c->range_end = range_end;
		wn_lines_set_limit(lines, range_start ? range_start
		                   : range_end ? range_end : UINT64_MAX);
	}
	if (!no_header) {
		c->in_header = 1;
		while (c->in_header && !c->pending && !c->eof)
			fill(c);
		if (c->pending) {
			int st = wn_error_set(err, c->pending, NULL, 0, "%s", c->perr.msg);
			wn_csv_free(c);
			return st;
		}
		c->in_header = 0;
	}
	if (range_start) {
		/* Rows after the header on its line (after a lone CR) come
		 * before the range.  Go to its start now, so that the rows
		 * before it are counted when the caller asks. */
		c->before = 1;
		c->qhead = c->qlen = 0;
		if (c->pending && c->pending_recoverable)
			c->pending = 0;
		while (c->before && !c->pending && !c->eof)
			fill(c);
	}
	*cp = c;
	return WN_OK;
}

uint64_t wn_csv_rows_before(const struct wn_csv *c)
{
	return c->rows_before;
}

void wn_csv_free(struct wn_csv *c)
{
	if (!c)
		return;
	if (c->p_ready)
		csv_free(&c->p);
	wn_buf_release(&c->keys);
	wn_buf_release(&c->names);
	wn_buf_release(&c->out);
	wn_buf_release(&c->raw);
	wn_buf_release(&c->scratch);
	free(c->key_off);
	free(c->name_off);
	free(c->q);
	free(c);
}

int wn_csv_next(struct wn_csv *c, const char **rec, size_t *len,
                uint64_t *line, struct wn_error *err)
{
	c->recoverable = 0;
	for (;;) {
		if (c->qlen > 0) {
			struct csv_row *row = &c->q[c->qhead++];
			c->qlen--;
			if (line)
				*line = row->line;
			c->handed++;
			if (row->nfields != c->ncols) {
				c->recoverable = 1;
				return wn_error_set(err, WN_EDATA, c->name, row->line,
				                    "expected %zu field%s, got %zu", c->ncols,
				                    c->ncols == 1 ? "" : "s", row->nfields);
			}
			if (row->bad_col != NO_COLUMN) {
				char tmp[32];
				const char *s;
				int n;
				column_name(c, row->bad_col, tmp, &s, &n);
				c->recoverable = 1;
				return wn_error_set(err, WN_EDATA, c->name, row->line,
				                    "invalid UTF-8 in column '%.*s'", n, s);
			}
			*rec = c->out.data + row->off;
			*len = row->len;
			return 1;
		}
		if (c->pending) {
			int st = c->pending;
			c->recoverable = c->pending_recoverable;
			if (line)
				*line = c->pending_line;
			c->pending = 0;
			c->handed++;
			if (!c->recoverable)
				c->eof = 1;
			return wn_error_set(err, st, NULL, 0, "%s", c->perr.msg);
		}
		if (c->eof)
			return 0;
		fill(c);
	}
}

int wn_csv_recoverable(const struct wn_csv *c)
{
	return c->recoverable;
}

void wn_csv_raw(const struct wn_csv *c, const char **raw, size_t *len)
{
	*raw = c->raw_p;
	*len = c->raw_n;
}

/*
 * lines.c - lines and paragraphs of a text, and the text without some.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/lines.h"
#include "winnow/status.h"

void wn_dd_pieces_release(struct wn_dd_pieces *p)
{
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}

static int push(struct wn_dd_pieces *p, size_t off, size_t len, size_t sep)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct wn_dd_piece *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	struct wn_dd_piece *e = &p->v[p->n++];
	memset(e, 0, sizeof(*e));
	e->off = off;
	e->len = len;
	e->sep = sep;
	return WN_OK;
}

/* The end of the run of blank lines starting at s[i] (just after a "\n"),
 * or i when the next line is not blank. */
static size_t blank_lines(const char *s, size_t n, size_t i)
{
	size_t end = i;
	for (size_t j = i; j < n; j++) {
		if (s[j] == '\n')
			end = j + 1;
		else if (s[j] != ' ' && s[j] != '\t' && s[j] != '\r')
			break;
	}
	return end;
}

int wn_dd_split(const char *s, size_t n, int paragraphs, struct wn_dd_pieces *out)
{
	out->n = 0;
	size_t start = 0, i = 0;
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		if (!nl)
			break;
		size_t at = (size_t)(nl - s);
		size_t end = at + 1;
		if (paragraphs) {
			end = blank_lines(s, n, at + 1);
			if (end == at + 1) { /* a line break inside a paragraph */
				i = at + 1;
				continue;
			}
		}
		WN_TRY(push(out, start, at - start, end - at));
		start = i = end;
	}
	return push(out, start, n - start, 0);
}

/* The last piece has no separator (the text ends there), so leaving out
 * the separator of the last kept piece ends the result as the text ended. */
int wn_dd_join(const char *s, const struct wn_dd_pieces *p, struct wn_buf *out)
{
	wn_buf_reset(out);
	WN_TRY(wn_buf_add(out, "", 0));
	size_t last = p->n;
	while (last > 0 && p->v[last - 1].removed)
		last--;
	for (size_t k = 0; k < last; k++) {
		const struct wn_dd_piece *e = &p->v[k];
		if (e->removed)
			continue;
		WN_TRY(wn_buf_add(out, s + e->off, e->len));
		if (k + 1 < last)
			WN_TRY(wn_buf_add(out, s + e->off + e->len, e->sep));
	}
	return WN_OK;
}

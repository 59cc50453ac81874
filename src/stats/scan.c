/*
 * scan.c - the members of a JSON object that was already validated, and
 * the length of a validated array.
 *
 * stats needs every top-level key of every record (to count the fields
 * present) and a few values (text, token ids, metadata): one pass over the
 * members finds them all, where wn_json_get would take a pass per field.
 * The input has passed wn_json_validate, so only the structure needs
 * following: strings end at the first quote not escaped by an odd run of
 * backslashes, containers at their matching bracket.  The walk agrees with
 * wn_json_get on which value a key has (tests/unit/test_stats.c compares it
 * with jansson on generated objects).
 */
#include <string.h>

#include "stats/stats_int.h"

static inline int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *p, size_t n, size_t i)
{
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	return i;
}

/* i is just after an opening quote: the position after the closing one.
 * *escaped is set when the string has a backslash. */
static size_t skip_string(const char *p, size_t n, size_t i, int *escaped)
{
	*escaped = 0;
	for (;;) {
		const char *q = memchr(p + i, '"', n - i);
		if (!q)
			return n;
		size_t at = (size_t)(q - p);
		if (!*escaped && memchr(p + i, '\\', at - i))
			*escaped = 1;
		/* i follows a quote, which is no backslash: the run stops there */
		size_t b = at;
		while (b > i && p[b - 1] == '\\')
			b--;
		if (((at - b) & 1) == 0)
			return at + 1;
		i = at + 1;
	}
}

/* The position after the value starting at p[i] (i < n); fills v's type. */
static size_t skip_value(const char *p, size_t n, size_t i, struct wn_json_value *v)
{
	int escaped;
	v->escaped = 0;
	switch (p[i]) {
	case '"':
		v->type = WN_JSON_STRING;
		i = skip_string(p, n, i + 1, &escaped);
		v->escaped = escaped;
		return i;
	case '{':
	case '[': {
		v->type = p[i] == '{' ? WN_JSON_OBJECT : WN_JSON_ARRAY;
		size_t open = 1;
		i++;
		while (i < n) {
			char c = p[i++];
			if (c == '"')
				i = skip_string(p, n, i, &escaped);
			else if (c == '{' || c == '[')
				open++;
			else if ((c == '}' || c == ']') && --open == 0)
				return i;
		}
		return n;
	}
	case 't':
		v->type = WN_JSON_TRUE;
		return n - i < 4 ? n : i + 4;
	case 'n':
		v->type = WN_JSON_NULL;
		return n - i < 4 ? n : i + 4;
	case 'f':
		v->type = WN_JSON_FALSE;
		return n - i < 5 ? n : i + 5;
	default:
		v->type = WN_JSON_INTEGER;
		while (i < n) {
			char c = p[i];
			if (c == '.' || c == 'e' || c == 'E')
				v->type = WN_JSON_REAL;
			else if (!(c >= '0' && c <= '9') && c != '-' && c != '+')
				break;
			i++;
		}
		return i;
	}
}

/* After a value: past one NUL (jansson drops one after a number or a
 * literal, and so does the validator), white space, and a ','; returns
 * the position of the next item, or n at the end of the container. */
static size_t after_value(const char *p, size_t n, size_t i)
{
	if (i < n && p[i] == '\0')
		i++;
	i = skip_ws(p, n, i);
	if (i >= n || p[i] != ',')
		return n;
	return skip_ws(p, n, i + 1);
}

int wn_st_iter_init(struct wn_st_iter *it, const char *p, size_t n)
{
	size_t i = skip_ws(p, n, 0);
	it->p = p;
	it->n = n;
	if (i >= n || p[i] != '{') {
		it->pos = n;
		return 0;
	}
	it->pos = skip_ws(p, n, i + 1);
	return 1;
}

int wn_st_iter_next(struct wn_st_iter *it, struct wn_st_member *m)
{
	const char *p = it->p;
	size_t n = it->n, i = it->pos;
	if (i >= n || p[i] != '"') {
		it->pos = n;
		return 0;
	}
	m->key_off = i + 1;
	i = skip_string(p, n, i + 1, &m->key_escaped);
	m->key_len = i - 1 - m->key_off;
	i = skip_ws(p, n, i);
	if (i >= n || p[i] != ':') {
		it->pos = n;
		return 0;
	}
	i = skip_ws(p, n, i + 1);
	if (i >= n) {
		it->pos = n;
		return 0;
	}
	size_t v0 = i;
	i = skip_value(p, n, i, &m->val);
	m->val.offset = v0;
	m->val.len = i - v0;
	it->pos = after_value(p, n, i);
	return 1;
}

uint64_t wn_st_array_len(const char *p, size_t n)
{
	size_t i = skip_ws(p, n, 0);
	if (i >= n || p[i] != '[')
		return 0;
	i = skip_ws(p, n, i + 1);
	uint64_t count = 0;
	while (i < n && p[i] != ']') {
		struct wn_json_value v;
		count++;
		i = after_value(p, n, skip_value(p, n, i, &v));
	}
	return count;
}

/*
 * edit.c - changing one member of a record's raw JSON in place.
 *
 * The filter stage adds metadata (reject_reason, language, annotations) and
 * replaces the text (C4) by splicing bytes rather than re-serialising the
 * record through jansson, so every other byte - key order, number spelling,
 * escapes - stays as it was read.
 */
#include <string.h>

#include "filter/filter.h"
#include "winnow/json.h"

/* Replace raw[pos..pos+old) by p[0..n). */
static int splice(struct wn_buf *raw, size_t pos, size_t old, const char *p, size_t n)
{
	if (n > old)
		WN_TRY(wn_buf_grow(raw, n - old));
	memmove(raw->data + pos + n, raw->data + pos + old, raw->len - pos - old);
	memcpy(raw->data + pos, p, n);
	raw->len = raw->len - old + n;
	raw->data[raw->len] = '\0';
	return WN_OK;
}

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* {"path[d]":{"path[d+1]":...value...}} in place of raw[pos..pos+len) (a null). */
static int replace_null(struct wn_buf *raw, size_t pos, size_t len, const char *const *path,
                        size_t d, size_t depth, const char *value, size_t vlen)
{
	struct wn_buf m = WN_BUF_INIT;
	int st = WN_OK;
	for (size_t k = d; k < depth && st >= 0; k++) {
		st = wn_buf_addc(&m, '{');
		if (st >= 0)
			st = wn_json_escape(&m, path[k], strlen(path[k]));
		if (st >= 0)
			st = wn_buf_addc(&m, ':');
	}
	if (st >= 0)
		st = wn_buf_add(&m, value, vlen);
	for (size_t k = d; k < depth && st >= 0; k++)
		st = wn_buf_addc(&m, '}');
	if (st >= 0)
		st = splice(raw, pos, len, m.data, m.len);
	wn_buf_release(&m);
	return st;
}

/* Append "path[d]":{"path[d+1]":...value...} to the object at raw[off..off+len). */
static int append_member(struct wn_buf *raw, size_t off, size_t len, const char *const *path,
                         size_t d, size_t depth, const char *value, size_t vlen)
{
	size_t close = off + len;
	while (close > off && is_json_space(raw->data[close - 1]))
		close--;
	if (close <= off || raw->data[close - 1] != '}')
		return WN_EINTERNAL;
	close--;
	size_t before = close;
	while (before > off && is_json_space(raw->data[before - 1]))
		before--;
	int empty = before > off && raw->data[before - 1] == '{';
	struct wn_buf m = WN_BUF_INIT;
	int st = empty ? WN_OK : wn_buf_addc(&m, ',');
	for (size_t k = d; k < depth && st >= 0; k++) {
		st = wn_json_escape(&m, path[k], strlen(path[k]));
		if (st >= 0)
			st = wn_buf_addc(&m, ':');
		if (st >= 0 && k + 1 < depth)
			st = wn_buf_addc(&m, '{');
	}
	if (st >= 0)
		st = wn_buf_add(&m, value, vlen);
	for (size_t k = d; k + 1 < depth && st >= 0; k++)
		st = wn_buf_addc(&m, '}');
	if (st >= 0)
		st = splice(raw, close, 0, m.data, m.len);
	wn_buf_release(&m);
	return st;
}

int wn_fl_set_member(struct wn_buf *raw, const char *const *path, size_t depth,
                     const char *value, size_t vlen, size_t *bad)
{
	size_t off = 0, len = raw->len;
	for (size_t d = 0; d < depth; d++) {
		struct wn_json_value v;
		int f = wn_json_get(raw->data + off, len, path[d], strlen(path[d]), &v);
		if (f < 0) {
			*bad = d;
			return WN_EDATA;
		}
		if (f == 0)
			return append_member(raw, off, len, path, d, depth, value, vlen);
		if (d + 1 == depth)
			return splice(raw, off + v.offset, v.len, value, vlen);
		/* "metadata": null is taken for no metadata */
		if (v.type == WN_JSON_NULL)
			return replace_null(raw, off + v.offset, v.len, path, d + 1, depth, value, vlen);
		if (v.type != WN_JSON_OBJECT) {
			*bad = d + 1;
			return WN_EDATA;
		}
		off += v.offset;
		len = v.len;
	}
	return WN_EINTERNAL;
}

/*
 * record.c - records that keep their raw bytes and parse lazily.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "winnow/record.h"

struct wn_record *wn_record_new(void)
{
	struct wn_record *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	wn_buf_init(&r->raw, WN_BUF_UNLIMITED);
	wn_buf_init(&r->scratch, WN_BUF_UNLIMITED);
	return r;
}

void wn_record_free(struct wn_record *r)
{
	if (!r)
		return;
	wn_buf_release(&r->raw);
	wn_buf_release(&r->scratch);
	json_decref(r->obj);
	free(r);
}

int wn_record_set_raw(struct wn_record *r, const char *p, size_t n)
{
	json_decref(r->obj);
	r->obj = NULL;
	r->dirty = 0;
	wn_buf_reset(&r->raw);
	return wn_buf_add(&r->raw, p, n);
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
	return wn_buf_add(data, p, n) < 0 ? -1 : 0;
}

/* Bring raw up to date with a changed object. */
static int serialise(struct wn_record *r)
{
	if (!r->dirty)
		return WN_OK;
	wn_buf_reset(&r->raw);
	if (json_dump_callback(r->obj, dump_to_buf, &r->raw, JSON_COMPACT) != 0)
		return WN_ENOMEM;
	r->dirty = 0;
	return WN_OK;
}

int wn_record_bytes(struct wn_record *r, const char **p, size_t *n)
{
	WN_TRY(serialise(r));
	*p = r->raw.data ? r->raw.data : "";
	*n = r->raw.len;
	return WN_OK;
}

int wn_record_get(struct wn_record *r, const char *field, struct wn_json_value *v)
{
	WN_TRY(serialise(r));
	int found = wn_json_get(r->raw.data, r->raw.len, field, strlen(field), v);
	return found < 0 ? WN_EDATA : found;
}

int wn_record_get_string(struct wn_record *r, const char *field, const char **s,
                         size_t *n)
{
	struct wn_json_value v;
	int found = wn_record_get(r, field, &v);
	if (found <= 0)
		return found;
	if (v.type != WN_JSON_STRING)
		return WN_EDATA;
	if (!v.escaped) {
		*s = r->raw.data + v.offset + 1;
		*n = v.len - 2;
		return 1;
	}
	wn_buf_reset(&r->scratch);
	WN_TRY(wn_json_unescape(r->raw.data + v.offset, v.len, &r->scratch));
	*s = r->scratch.data;
	*n = r->scratch.len;
	return 1;
}

struct json_t *wn_record_object(struct wn_record *r, struct wn_error *err)
{
	if (r->obj)
		return r->obj;
	json_error_t jerr;
	r->obj = json_loadb(r->raw.data ? r->raw.data : "", r->raw.len, JSON_ALLOW_NUL, &jerr);
	if (!r->obj) {
		wn_error_set(err, WN_EDATA, r->file, r->line, "invalid JSON: %s", jerr.text);
		return NULL;
	}
	assert(json_is_object(r->obj));
	return r->obj;
}

void wn_record_touch(struct wn_record *r)
{
	assert(r->obj);
	r->dirty = 1;
}

int wn_record_append_string(struct wn_record *r, const char *field,
                            const char *value, size_t n)
{
	if (r->dirty) {
		json_t *s = json_stringn(value, n);
		if (!s || json_object_set_new(r->obj, field, s) != 0)
			return WN_ENOMEM;
		return WN_OK;
	}
	/* Raw records are trimmed, so the closing brace is the last byte. */
	size_t end = r->raw.len;
	if (end < 2 || r->raw.data[end - 1] != '}')
		return WN_EINTERNAL;
	size_t i = end - 1;
	while (i > 0 && strchr(" \t\r\n", r->raw.data[i - 1]))
		i--;
	int empty = i > 0 && r->raw.data[i - 1] == '{';
	struct wn_buf member = WN_BUF_INIT;
	int st = wn_buf_adds(&member, empty ? "" : ",");
	if (st >= 0)
		st = wn_json_escape(&member, field, strlen(field));
	if (st >= 0)
		st = wn_buf_addc(&member, ':');
	if (st >= 0)
		st = wn_json_escape(&member, value, n);
	if (st >= 0)
		st = wn_buf_grow(&r->raw, member.len);
	if (st >= 0) {
		memmove(r->raw.data + end - 1 + member.len, r->raw.data + end - 1, 1);
		memcpy(r->raw.data + end - 1, member.data, member.len);
		r->raw.len += member.len;
		r->raw.data[r->raw.len] = '\0';
	}
	wn_buf_release(&member);
	json_decref(r->obj);
	r->obj = NULL;
	return st < 0 ? st : WN_OK;
}

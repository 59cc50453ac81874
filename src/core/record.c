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
	wn_ids_release(&r->ids);
	json_decref(r->obj);
	free(r);
}

int wn_record_set_raw(struct wn_record *r, const char *p, size_t n)
{
	json_decref(r->obj);
	r->obj = NULL;
	r->dirty = 0;
	r->ids.n = 0;
	r->ids_field = NULL;
	r->ids_pending = 0;
	wn_buf_reset(&r->raw);
	return wn_buf_add(&r->raw, p, n);
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
	return wn_buf_add(data, p, n) < 0 ? -1 : 0;
}

static int materialise_ids(struct wn_record *r);

/* Bring raw up to date with a changed object and with carried ids. */
static int serialise(struct wn_record *r)
{
	if (r->ids_pending)
		WN_TRY(materialise_ids(r));
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
	/* Carried ids need not be written out to look at another field. */
	if (r->dirty || !r->ids_pending || strcmp(field, r->ids_field) == 0)
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
	if (r->ids_pending && materialise_ids(r) < 0) {
		wn_error_set(err, WN_ENOMEM, r->file, r->line, "out of memory");
		return NULL;
	}
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

/* Write the carried ids into the record as a JSON array: appended as text
 * to an unchanged record (its other bytes kept), or through the object when
 * the record was changed or already has the field. */
static int materialise_ids(struct wn_record *r)
{
	r->ids_pending = 0;
	int has_field = 0;
	if (!r->dirty) {
		struct wn_json_value v;
		has_field = wn_json_get(r->raw.data, r->raw.len, r->ids_field,
		                        strlen(r->ids_field), &v) == 1;
	}
	if (r->dirty || has_field) {
		json_t *o = wn_record_object(r, NULL);
		json_t *a = json_array();
		if (!o || !a) {
			json_decref(a);
			return WN_ENOMEM;
		}
		for (size_t i = 0; i < r->ids.n; i++)
			if (json_array_append_new(a, json_integer(r->ids.v[i])) != 0) {
				json_decref(a);
				return WN_ENOMEM;
			}
		if (json_object_set_new(o, r->ids_field, a) != 0)
			return WN_ENOMEM;
		r->dirty = 1;
		return WN_OK;
	}
	size_t end = r->raw.len;
	if (end < 2 || r->raw.data[end - 1] != '}')
		return WN_EINTERNAL;
	size_t i = end - 1;
	while (i > 0 && strchr(" \t\r\n", r->raw.data[i - 1]))
		i--;
	int empty = i > 0 && r->raw.data[i - 1] == '{';
	wn_buf_truncate(&r->raw, end - 1);
	size_t flen = strlen(r->ids_field);
	if (!empty)
		WN_TRY(wn_buf_addc(&r->raw, ','));
	WN_TRY(wn_json_escape(&r->raw, r->ids_field, flen));
	/* at most 10 digits and a comma per id */
	if (r->ids.n > (SIZE_MAX - 8) / 11)
		return WN_ENOMEM;
	WN_TRY(wn_buf_grow(&r->raw, r->ids.n * 11 + 8));
	char *p = r->raw.data + r->raw.len;
	*p++ = ':';
	*p++ = '[';
	for (size_t k = 0; k < r->ids.n; k++) {
		char tmp[10];
		size_t d = sizeof(tmp);
		uint32_t v = r->ids.v[k];
		do {
			tmp[--d] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		if (k)
			*p++ = ',';
		memcpy(p, tmp + d, sizeof(tmp) - d);
		p += sizeof(tmp) - d;
	}
	*p++ = ']';
	*p++ = '}';
	r->raw.len = (size_t)(p - r->raw.data);
	r->raw.data[r->raw.len] = '\0';
	return WN_OK;
}

int wn_record_take_ids(struct wn_record *r, const char *field, struct wn_ids *ids)
{
	struct wn_ids old = r->ids;
	r->ids = *ids;
	*ids = old;
	ids->n = 0;
	r->ids_field = field;
	r->ids_pending = 1;
	return WN_OK;
}

int wn_record_get_ids(struct wn_record *r, const char *field, const uint32_t **ids, size_t *n)
{
	if (r->ids_field && strcmp(r->ids_field, field) == 0 && !r->dirty) {
		*ids = r->ids.v;
		*n = r->ids.n;
		return 1;
	}
	struct wn_json_value v;
	int found = wn_record_get(r, field, &v);
	if (found <= 0)
		return found;
	if (v.type != WN_JSON_ARRAY)
		return WN_EDATA;
	/* A validated array: only integers, commas and whitespace are allowed. */
	const char *p = r->raw.data + v.offset + 1, *end = r->raw.data + v.offset + v.len - 1;
	r->ids.n = 0;
	while (p < end) {
		while (p < end && strchr(" \t\r\n,", *p))
			p++;
		if (p >= end)
			break;
		if (*p < '0' || *p > '9')
			return WN_EDATA;
		uint64_t x = 0;
		while (p < end && *p >= '0' && *p <= '9') {
			x = x * 10 + (uint64_t)(*p - '0');
			if (x > UINT32_MAX)
				return WN_EDATA;
			p++;
		}
		if (p < end && !strchr(" \t\r\n,", *p))
			return WN_EDATA;
		WN_TRY(wn_ids_push(&r->ids, (uint32_t)x));
	}
	r->ids_field = field;
	r->ids_pending = 0;
	*ids = r->ids.v;
	*n = r->ids.n;
	return 1;
}

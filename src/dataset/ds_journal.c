/*
 * ds_journal.c - the lines of the journal an unfinished dataset keeps in
 * DIR/.winnow-journal.jsonl, from which a run with --resume keeps the shards
 * already complete (docs/winnow-shard.md, docs/manifest.md).
 *
 * Every line is a compact JSON object whose last member is "check": the
 * XXH3-64 of the line's bytes before `,"check"`, as 16 hex digits.  A line
 * cut short by a crash (no newline, or fewer bytes) or damaged fails the
 * check; the reader stops there.  The lines stay JSON, so `jq` reads them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <xxhash.h>

#include "winnow/buf.h"
#include "dataset/ds_int.h"

/* `,"check":"` + 16 hex digits + `"}` */
#define CHECK_HEAD ",\"check\":\""
#define CHECK_LEN (sizeof CHECK_HEAD - 1 + 16 + 2)

int wn_ds_journal_seal(struct wn_buf *out, const struct json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n;
	int rc;

	if (!text)
		return WN_ENOMEM;
	n = strlen(text);
	/* An object with at least one member: "check" follows a comma. */
	if (n < 3 || text[0] != '{' || text[n - 1] != '}') {
		free(text);
		return WN_EINTERNAL;
	}
	rc = wn_buf_add(out, text, n - 1);
	if (rc == WN_OK)
		rc = wn_buf_printf(out, CHECK_HEAD "%016" PRIx64 "\"}\n",
		                   (uint64_t)XXH3_64bits(text, n - 1));
	free(text);
	return rc;
}

struct json_t *wn_ds_journal_unseal(const char *p, size_t n)
{
	const char *check;
	unsigned char want[8];
	XXH64_canonical_t have;
	json_t *o;

	if (n < CHECK_LEN + 2 || p[0] != '{')
		return NULL;
	check = p + n - CHECK_LEN;
	if (memcmp(check, CHECK_HEAD, sizeof CHECK_HEAD - 1) != 0 || memcmp(p + n - 2, "\"}", 2))
		return NULL;
	{
		char hex[17];

		memcpy(hex, check + sizeof CHECK_HEAD - 1, 16);
		hex[16] = '\0';
		if (wn_ds_unhex(want, sizeof want, hex) != 0)
			return NULL;
	}
	XXH64_canonicalFromHash(&have, XXH3_64bits(p, (size_t)(check - p)));
	if (memcmp(want, have.digest, sizeof want) != 0)
		return NULL;
	o = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	/* The object as it was sealed: it can be sealed again. */
	json_object_del(o, "check");
	return o;
}

/* ---- shard lines ------------------------------------------------------------- */

static json_t *jhex(const void *p, size_t n)
{
	char hex[2 * 32 + 1];

	wn_ds_hex(hex, p, n);
	return json_string(hex);
}

static int put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v);
}

static json_t *juint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

struct json_t *wn_ds_journal_shard(const struct wn_ds_jshard *j, int jsonl)
{
	json_t *o = json_object(), *files = json_array();
	int bad = !o || !files;

	bad |= !o || put(o, "type", json_string("shard"));
	bad |= !o || put(o, "split", json_string(j->split));
	bad |= !o || put(o, "index", juint(j->index));
	bad |= !o || put(o, "records", juint(j->records));
	if (!jsonl) {
		bad |= !o || put(o, "tokens", juint(j->tokens));
		bad |= !o || put(o, "content_xxh3_128", jhex(j->content, 16));
	}
	bad |= !o || put(o, "end", json_boolean(j->end));
	for (size_t i = 0; i < j->nfiles && !bad; i++) {
		const struct wn_ds_jfile *f = &j->f[i];
		json_t *e = json_object();

		bad |= !e || json_array_append_new(files, e);
		bad |= !e || put(e, "bytes", juint(f->bytes));
		if (jsonl)
			bad |= !e || put(e, "raw_bytes", juint(f->raw_bytes));
		bad |= !e || put(e, "sha256", jhex(f->sha256, 32));
		bad |= !e || put(e, "xxh3_128", jhex(f->xxh3, 16));
		if (jsonl)
			bad |= !e || put(e, "raw_xxh3_128", jhex(f->raw_xxh3, 16));
	}
	if (bad) {
		json_decref(files);
		json_decref(o);
		return NULL;
	}
	/* json_object_set_new takes the reference, even when it fails. */
	if (put(o, "files", files)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int get_uint(const json_t *o, const char *key, uint64_t *v)
{
	json_t *x = json_object_get(o, key);

	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

static int get_hex(const json_t *o, const char *key, unsigned char *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? wn_ds_unhex(out, n, s) : -1;
}

int wn_ds_journal_get_shard(const struct json_t *o, size_t nfiles, int jsonl,
                            struct wn_ds_jshard *j)
{
	const json_t *files = json_object_get(o, "files"), *end = json_object_get(o, "end");
	uint64_t index;

	memset(j, 0, sizeof *j);
	j->split = json_string_value(json_object_get(o, "split"));
	if (!j->split || !wn_ds_split_name_ok(j->split) || get_uint(o, "index", &index) ||
	    index > 99999999 || get_uint(o, "records", &j->records) || !json_is_boolean(end) ||
	    !json_is_array(files) || json_array_size(files) != nfiles || nfiles > WN_DS_MAX_FILES)
		return -1;
	j->index = (unsigned)index;
	j->end = json_is_true(end);
	if (!jsonl && (get_uint(o, "tokens", &j->tokens) ||
	               get_hex(o, "content_xxh3_128", j->content, 16)))
		return -1;
	j->nfiles = nfiles;
	for (size_t i = 0; i < nfiles; i++) {
		const json_t *e = json_array_get(files, i);
		struct wn_ds_jfile *f = &j->f[i];

		if (get_uint(e, "bytes", &f->bytes) || get_hex(e, "sha256", f->sha256, 32) ||
		    get_hex(e, "xxh3_128", f->xxh3, 16))
			return -1;
		if (!jsonl) {
			f->raw_bytes = f->bytes;
			continue;
		}
		if (get_uint(e, "raw_bytes", &f->raw_bytes) ||
		    get_hex(e, "raw_xxh3_128", f->raw_xxh3, 16))
			return -1;
	}
	/* A JSONL shard's content is its raw content. */
	if (jsonl)
		memcpy(j->content, j->f[0].raw_xxh3, 16);
	return 0;
}

/* ---- input lines ------------------------------------------------------------- */

struct json_t *wn_ds_journal_input(const char *path, uint64_t size, int64_t mtime_ns)
{
	json_t *o = json_object();

	if (!o || put(o, "type", json_string("input")) || put(o, "path", json_string(path)) ||
	    put(o, "size", juint(size)) || put(o, "mtime_ns", json_integer(mtime_ns))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int wn_ds_journal_get_input(const struct json_t *o, const char **path, uint64_t *size,
                            int64_t *mtime_ns)
{
	json_t *m = json_object_get(o, "mtime_ns");

	*path = json_string_value(json_object_get(o, "path"));
	if (!*path || get_uint(o, "size", size) || !json_is_integer(m))
		return -1;
	*mtime_ns = json_integer_value(m);
	return 0;
}

/* ---- checks ------------------------------------------------------------------ */

const char *wn_ds_journal_differs(const struct json_t *was, const struct json_t *now)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)now, key, v) {
		if (!json_equal(v, json_object_get(was, key)))
			return key;
	}
	json_object_foreach((json_t *)was, key, v) {
		if (!json_object_get(now, key))
			return key;
	}
	return NULL;
}

int wn_ds_file_matches(int dirfd, const char *name, uint64_t bytes, const unsigned char xxh3[16])
{
	enum { CHUNK = 1 << 20 };
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	XXH3_state_t *h = NULL;
	XXH128_canonical_t c;
	unsigned char *buf = NULL;
	uint64_t got = 0;
	struct stat st;
	int rc = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != bytes)
		goto out;
	buf = malloc(CHUNK);
	h = XXH3_createState();
	if (!buf || !h) {
		rc = WN_ENOMEM;
		goto out;
	}
	XXH3_128bits_reset(h);
	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		XXH3_128bits_update(h, buf, (size_t)r);
		got += (uint64_t)r;
	}
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
	rc = got == bytes && memcmp(c.digest, xxh3, 16) == 0;
out:
	XXH3_freeState(h);
	free(buf);
	close(fd);
	return rc;
}

/*
 * test_io.c - input streams, line reader, path expansion, record readers.
 *
 * Every test runs in a fresh temporary directory (the current directory
 * while it runs), so file names in messages are short and predictable.
 * Compressed inputs are made here with the zstd and zlib APIs.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>
#include <zstd.h>

#include "winnow/buf.h"
#include "winnow/io.h"
#include "winnow/status.h"

#if defined(__SANITIZE_ADDRESS__)
/* From sanitizer/allocator_interface.h, which gcc does not install. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}
#endif

/* ---- fixtures and helpers --------------------------------------------- */

static char tmpdir[PATH_MAX];
static char olddir[PATH_MAX];

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/wn-test-io-XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_ptr_nonnull(getcwd(olddir, sizeof(olddir)));
	ck_assert_int_eq(chdir(tmpdir), 0);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void teardown(void)
{
	ck_assert_int_eq(chdir(olddir), 0);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(name, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static void puts_file(const char *name, const char *s)
{
	put(name, s, strlen(s));
}

static void add(struct wn_buf *b, const void *p, size_t n)
{
	ck_assert_int_eq(wn_buf_add(b, p, n), WN_OK);
}

/* Append n copies of ch. */
static void add_rep(struct wn_buf *b, char ch, size_t n)
{
	ck_assert_int_eq(wn_buf_grow(b, n), WN_OK);
	memset(b->data + b->len, ch, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* wn_buf_printf in a loop: one assertion at the end instead of one per
 * call (each assertion costs Check a write). */
static int printf_failed;
#define BUF_PRINTF(b, ...) (printf_failed |= wn_buf_printf((b), __VA_ARGS__) != WN_OK)

/* Append one zstd frame (with a content checksum) of src. */
static void zstd_frame(struct wn_buf *out, const void *src, size_t n)
{
	size_t bound = ZSTD_compressBound(n);
	ck_assert_int_eq(wn_buf_grow(out, bound), WN_OK);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ck_assert_ptr_nonnull(cc);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	size_t r = ZSTD_compress2(cc, out->data + out->len, bound, src, n);
	ck_assert(!ZSTD_isError(r));
	out->len += r;
	ZSTD_freeCCtx(cc);
}

/* Append a skippable frame holding n bytes of payload. */
static void zstd_skippable(struct wn_buf *out, size_t n)
{
	unsigned char h[8] = { 0x53, 0x2A, 0x4D, 0x18, (unsigned char)n,
	                       (unsigned char)(n >> 8), (unsigned char)(n >> 16),
	                       (unsigned char)(n >> 24) };
	add(out, h, 8);
	add_rep(out, 'S', n);
}

/* Append one gzip member of src. */
static void gzip_member(struct wn_buf *out, const void *src, size_t n)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
	                 Z_OK);
	size_t bound = deflateBound(&zs, (uLong)n) + 32;
	ck_assert_int_eq(wn_buf_grow(out, bound), WN_OK);
	zs.next_in = (Bytef *)src;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out->data + out->len;
	zs.avail_out = (uInt)bound;
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->len += bound - zs.avail_out;
	deflateEnd(&zs);
}

static void put_buf(const char *name, const struct wn_buf *b)
{
	put(name, b->data, b->len);
}

/* Some text that compresses but is not trivial: n bytes of numbered lines. */
static void make_text(struct wn_buf *b, size_t n)
{
	unsigned x = 12345;
	printf_failed = 0;
	while (b->len < n && !printf_failed) {
		x = x * 1103515245u + 12345u;
		BUF_PRINTF(b, "{\"id\":%u,\"text\":\"line %zu w%u\"}\n", x >> 8, b->len,
		           x % 977);
	}
	ck_assert(!printf_failed);
	wn_buf_truncate(b, n);
}

/* Read a whole input with reads of at most cap bytes. */
static int slurp(const char *path, size_t cap, struct wn_buf *out, struct wn_error *err,
                 enum wn_compression *comp)
{
	struct wn_input *in;
	wn_error_clear(err);
	int st = wn_input_open(&in, path, err);
	if (st < 0)
		return st;
	if (comp)
		*comp = wn_input_compression(in);
	char *chunk = malloc(cap);
	ck_assert_ptr_nonnull(chunk);
	for (;;) {
		size_t got;
		st = wn_input_read(in, chunk, cap, &got, err);
		if (st < 0 || got == 0)
			break;
		ck_assert_uint_le(got, cap);
		add(out, chunk, got);
	}
	free(chunk);
	wn_input_close(in);
	return st;
}

/*
 * Read all records of path into a transcript: "LINE RECORD" per record and
 * "LINE !STATUS MESSAGE" per error, continuing after recoverable errors.
 * Returns 0 at the end or the status of an error that ended the input.
 */
static int collect(const char *path, const struct wn_reader_opts *opts, struct wn_buf *out)
{
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	int st = wn_reader_open(&r, path, opts, &err);
	if (st < 0) {
		ck_assert_int_eq(wn_buf_printf(out, "open !%d %s\n", st, err.msg), WN_OK);
		return st;
	}
	for (;;) {
		const char *rec;
		size_t len;
		uint64_t line = 0;
		wn_error_clear(&err);
		st = wn_reader_next(r, &rec, &len, &line, &err);
		if (st == 0)
			break;
		if (st > 0) {
			ck_assert_int_eq(wn_buf_printf(out, "%llu %.*s\n", (unsigned long long)line,
			                               (int)len, rec), WN_OK);
			continue;
		}
		ck_assert_int_eq(err.status, st);
		ck_assert_int_eq(wn_buf_printf(out, "%llu !%d %s\n", (unsigned long long)line,
		                               st, err.msg), WN_OK);
		if (!wn_reader_recoverable(r))
			break;
		st = 0;
	}
	wn_reader_close(r);
	return st;
}

/* A buffer released when it goes out of scope. */
#define AUTO_BUF __attribute__((cleanup(wn_buf_release))) struct wn_buf

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define ck_assert_buf_str(b, s) ck_assert_str_eq((b)->data ? (b)->data : "", s)

/* ---- wn_input --------------------------------------------------------- */

START_TEST(test_input_plain)
{
	AUTO_BUF text = WN_BUF_INIT, got = WN_BUF_INIT;
	make_text(&text, 3 << 20);
	put_buf("p.jsonl", &text);
	struct wn_input *in;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_input_open(&in, "p.jsonl", &err), WN_OK);
	ck_assert_str_eq(wn_input_name(in), "p.jsonl");
	ck_assert_int_eq(wn_input_compression(in), WN_COMP_NONE);
	ck_assert_uint_eq(wn_input_size(in), 3 << 20);
	char buf[65536];
	size_t n;
	do {
		ck_assert_int_eq(wn_input_read(in, buf, sizeof(buf), &n, &err), WN_OK);
		add(&got, buf, n);
	} while (n > 0);
	ck_assert_uint_eq(wn_input_consumed(in), 3 << 20);
	wn_input_close(in);
	ck_assert_uint_eq(got.len, text.len);
	ck_assert(memcmp(got.data, text.data, text.len) == 0);
	wn_buf_release(&text);
	wn_buf_release(&got);
}
END_TEST

START_TEST(test_input_empty)
{
	put("e.jsonl", "", 0);
	AUTO_BUF got = WN_BUF_INIT;
	struct wn_error err;
	enum wn_compression comp = WN_COMP_ZSTD;
	ck_assert_int_eq(slurp("e.jsonl", 100, &got, &err, &comp), WN_OK);
	ck_assert_int_eq(comp, WN_COMP_NONE);
	ck_assert_uint_eq(got.len, 0);
}
END_TEST

START_TEST(test_input_zstd_frames)
{
	/* A skippable frame first, two data frames around another one. */
	AUTO_BUF a = WN_BUF_INIT, b = WN_BUF_INIT, z = WN_BUF_INIT, got = WN_BUF_INIT;
	make_text(&a, 2 << 20);
	make_text(&b, 1000);
	zstd_skippable(&z, 17);
	zstd_frame(&z, a.data, a.len);
	zstd_skippable(&z, 0);
	zstd_frame(&z, b.data, b.len);
	put_buf("f.jsonl.zst", &z);
	struct wn_error err;
	enum wn_compression comp;
	ck_assert_int_eq(slurp("f.jsonl.zst", 1 << 20, &got, &err, &comp), WN_OK);
	ck_assert_int_eq(comp, WN_COMP_ZSTD);
	ck_assert_uint_eq(got.len, a.len + b.len);
	ck_assert(memcmp(got.data, a.data, a.len) == 0);
	ck_assert(memcmp(got.data + a.len, b.data, b.len) == 0);

	/* The compressed size is what progress counts. */
	struct wn_input *in;
	ck_assert_int_eq(wn_input_open(&in, "f.jsonl.zst", &err), WN_OK);
	ck_assert_uint_eq(wn_input_size(in), z.len);
	char buf[4096];
	size_t n;
	do
		ck_assert_int_eq(wn_input_read(in, buf, sizeof(buf), &n, &err), WN_OK);
	while (n);
	ck_assert_uint_eq(wn_input_consumed(in), z.len);
	wn_input_close(in);
}
END_TEST

START_TEST(test_input_tiny_reads)
{
	/* Output buffers of a few bytes must not lose or repeat anything. */
	AUTO_BUF t = WN_BUF_INIT, z = WN_BUF_INIT, g = WN_BUF_INIT;
	make_text(&t, 50000);
	zstd_frame(&z, t.data, t.len / 2);
	zstd_frame(&z, t.data + t.len / 2, t.len - t.len / 2);
	gzip_member(&g, t.data, t.len / 3);
	gzip_member(&g, t.data + t.len / 3, t.len - t.len / 3);
	put_buf("t.zst", &z);
	put_buf("t.gz", &g);
	for (size_t cap = 1; cap <= 7; cap += 3) {
		AUTO_BUF got1 = WN_BUF_INIT, got2 = WN_BUF_INIT;
		struct wn_error err;
		ck_assert_int_eq(slurp("t.zst", cap, &got1, &err, NULL), WN_OK);
		ck_assert_int_eq(slurp("t.gz", cap, &got2, &err, NULL), WN_OK);
		ck_assert_uint_eq(got1.len, t.len);
		ck_assert_uint_eq(got2.len, t.len);
		ck_assert(memcmp(got1.data, t.data, t.len) == 0);
		ck_assert(memcmp(got2.data, t.data, t.len) == 0);
		wn_buf_release(&got1);
		wn_buf_release(&got2);
	}
}
END_TEST

START_TEST(test_input_gzip_members)
{
	AUTO_BUF a = WN_BUF_INIT, g = WN_BUF_INIT, got = WN_BUF_INIT;
	make_text(&a, 3 << 20);
	gzip_member(&g, a.data, 1 << 20);
	gzip_member(&g, "", 0); /* an empty member in the middle */
	gzip_member(&g, a.data + (1 << 20), a.len - (1 << 20));
	put_buf("m.jsonl.gz", &g);
	struct wn_error err;
	enum wn_compression comp;
	ck_assert_int_eq(slurp("m.jsonl.gz", 300000, &got, &err, &comp), WN_OK);
	ck_assert_int_eq(comp, WN_COMP_GZIP);
	ck_assert_uint_eq(got.len, a.len);
	ck_assert(memcmp(got.data, a.data, a.len) == 0);
}
END_TEST

START_TEST(test_input_magic_not_extension)
{
	const char *text = "{\"a\":1}\n";
	AUTO_BUF z = WN_BUF_INIT, g = WN_BUF_INIT, got = WN_BUF_INIT;
	struct wn_error err;
	enum wn_compression comp;
	zstd_frame(&z, text, strlen(text));
	gzip_member(&g, text, strlen(text));
	put_buf("zstd-inside.gz", &z);
	put_buf("gzip-inside.csv", &g);
	puts_file("plain.zst", text);

	ck_assert_int_eq(slurp("zstd-inside.gz", 4096, &got, &err, &comp), WN_OK);
	ck_assert_int_eq(comp, WN_COMP_ZSTD);
	ck_assert_buf_str(&got, text);
	wn_buf_reset(&got);
	ck_assert_int_eq(slurp("gzip-inside.csv", 4096, &got, &err, &comp), WN_OK);
	ck_assert_int_eq(comp, WN_COMP_GZIP);
	ck_assert_buf_str(&got, text);
	wn_buf_reset(&got);
	ck_assert_int_eq(slurp("plain.zst", 4096, &got, &err, &comp), WN_OK);
	ck_assert_int_eq(comp, WN_COMP_NONE);
	ck_assert_buf_str(&got, text);
}
END_TEST

START_TEST(test_input_truncated_zstd)
{
	AUTO_BUF t = WN_BUF_INIT, z = WN_BUF_INIT, got = WN_BUF_INIT;
	make_text(&t, 100000);
	zstd_frame(&z, t.data, t.len);
	put("cut.zst", z.data, z.len - 5);
	struct wn_error err;
	ck_assert_int_eq(slurp("cut.zst", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_str_eq(err.msg, "cut.zst: truncated zstd data");
	/* Cut right after the magic number too. */
	put("cut2.zst", z.data, 4);
	ck_assert_int_eq(slurp("cut2.zst", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_str_eq(err.msg, "cut2.zst: truncated zstd data");
}
END_TEST

START_TEST(test_input_corrupt_zstd)
{
	AUTO_BUF t = WN_BUF_INIT, z = WN_BUF_INIT, got = WN_BUF_INIT;
	make_text(&t, 100000);
	zstd_frame(&z, t.data, t.len);
	for (size_t i = z.len / 2; i < z.len / 2 + 64; i++)
		z.data[i] ^= 0x5A;
	put_buf("bad.zst", &z);
	struct wn_error err;
	ck_assert_int_eq(slurp("bad.zst", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_msg(starts_with(err.msg, "bad.zst: corrupt zstd data: "), "%s", err.msg);

	/* Garbage after a complete frame is corrupt data as well. */
	wn_buf_reset(&z);
	zstd_frame(&z, "x\n", 2);
	add(&z, "junk", 4);
	put_buf("tail.zst", &z);
	wn_buf_reset(&got);
	ck_assert_int_eq(slurp("tail.zst", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_msg(starts_with(err.msg, "tail.zst: corrupt zstd data: "), "%s", err.msg);
}
END_TEST

START_TEST(test_input_truncated_gzip)
{
	AUTO_BUF t = WN_BUF_INIT, g = WN_BUF_INIT, got = WN_BUF_INIT;
	make_text(&t, 100000);
	gzip_member(&g, t.data, t.len);
	put("cut.gz", g.data, g.len - 4); /* inside the trailer */
	put("cut2.gz", g.data, g.len / 2);
	struct wn_error err;
	ck_assert_int_eq(slurp("cut.gz", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_str_eq(err.msg, "cut.gz: truncated gzip data");
	ck_assert_int_eq(slurp("cut2.gz", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_str_eq(err.msg, "cut2.gz: truncated gzip data");
}
END_TEST

START_TEST(test_input_gzip_garbage)
{
	AUTO_BUF g = WN_BUF_INIT, got = WN_BUF_INIT;
	struct wn_error err;
	gzip_member(&g, "a\n", 2);
	add(&g, "\0\0\0\0", 4);
	put_buf("tail.gz", &g);
	ck_assert_int_eq(slurp("tail.gz", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_str_eq(err.msg, "tail.gz: trailing garbage after gzip data");

	/* A damaged deflate stream. */
	AUTO_BUF t = WN_BUF_INIT;
	wn_buf_reset(&g);
	make_text(&t, 100000);
	gzip_member(&g, t.data, t.len);
	for (size_t i = 20; i < 60; i++)
		g.data[i] ^= 0xFF;
	put_buf("bad.gz", &g);
	wn_buf_reset(&got);
	ck_assert_int_eq(slurp("bad.gz", 65536, &got, &err, NULL), WN_EDATA);
	ck_assert_msg(starts_with(err.msg, "bad.gz: corrupt gzip data: "), "%s", err.msg);
}
END_TEST

START_TEST(test_input_errors_sticky)
{
	AUTO_BUF t = WN_BUF_INIT, z = WN_BUF_INIT;
	make_text(&t, 1000);
	zstd_frame(&z, t.data, t.len);
	put("cut.zst", z.data, z.len - 3);
	struct wn_input *in;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_input_open(&in, "cut.zst", &err), WN_OK);
	char buf[4096];
	size_t n;
	int st;
	while ((st = wn_input_read(in, buf, sizeof(buf), &n, &err)) == WN_OK && n > 0)
		;
	ck_assert_int_eq(st, WN_EDATA);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_input_read(in, buf, sizeof(buf), &n, &err), WN_EDATA);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(err.msg, "cut.zst: truncated zstd data");
	wn_input_close(in);
}
END_TEST

START_TEST(test_input_open_errors)
{
	struct wn_input *in = (struct wn_input *)&in;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_input_open(&in, "missing.jsonl", &err), WN_EIO);
	ck_assert_ptr_null(in);
	ck_assert_str_eq(err.msg, "missing.jsonl: No such file or directory");
	ck_assert_int_eq(mkdir("dir", 0755), 0);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_input_open(&in, "dir", &err), WN_EIO);
	ck_assert_str_eq(err.msg, "dir: Is a directory");
	wn_input_close(NULL);
}
END_TEST

START_TEST(test_input_stdin_name)
{
	/* "-" is standard input: feed it from a file. */
	puts_file("in.txt", "hello\n");
	ck_assert_ptr_nonnull(freopen("in.txt", "r", stdin));
	struct wn_input *in;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_input_open(&in, "-", &err), WN_OK);
	ck_assert_str_eq(wn_input_name(in), "<stdin>");
	char buf[16];
	size_t n;
	ck_assert_int_eq(wn_input_read(in, buf, sizeof(buf), &n, &err), WN_OK);
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(buf, "hello\n", 6) == 0);
	wn_input_close(in);
	/* Closing the input leaves descriptor 0 open. */
	ck_assert_int_ne(fcntl(0, F_GETFD), -1);
}
END_TEST

/* ---- wn_lines --------------------------------------------------------- */

struct lr {
	struct wn_input *in;
	struct wn_lines *lines;
	struct wn_error err;
};

static void lr_open(struct lr *l, const char *path, size_t max)
{
	wn_error_clear(&l->err);
	ck_assert_int_eq(wn_input_open(&l->in, path, &l->err), WN_OK);
	ck_assert_int_eq(wn_lines_new(&l->lines, l->in, max), WN_OK);
}

static void lr_close(struct lr *l)
{
	wn_lines_free(l->lines);
	wn_input_close(l->in);
}

/* Next line as a NUL-terminated copy (static), or NULL at the end. */
static const char *lr_next(struct lr *l)
{
	static char copy[256];
	const char *p;
	size_t n;
	wn_error_clear(&l->err);
	int st = wn_lines_next(l->lines, &p, &n, &l->err);
	ck_assert_msg(st >= 0, "unexpected error %d: %s", st, l->err.msg);
	if (st == 0)
		return NULL;
	ck_assert_uint_lt(n, sizeof(copy));
	memcpy(copy, p, n);
	copy[n] = '\0';
	return copy;
}

START_TEST(test_lines_basic)
{
	puts_file("l.txt", "a\nbb\n\nccc\r\nlast");
	struct lr l;
	lr_open(&l, "l.txt", 100);
	ck_assert_str_eq(lr_next(&l), "a");
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 1);
	ck_assert_str_eq(lr_next(&l), "bb");
	ck_assert_str_eq(lr_next(&l), "");
	ck_assert_str_eq(lr_next(&l), "ccc\r"); /* the caller trims the CR */
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 4);
	ck_assert_str_eq(lr_next(&l), "last");
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 5);
	ck_assert_ptr_null(lr_next(&l));
	ck_assert_ptr_null(lr_next(&l));
	lr_close(&l);

	puts_file("nl.txt", "x\n");
	lr_open(&l, "nl.txt", 100);
	ck_assert_str_eq(lr_next(&l), "x");
	ck_assert_ptr_null(lr_next(&l));
	lr_close(&l);
}
END_TEST

START_TEST(test_lines_long_then_continue)
{
	AUTO_BUF t = WN_BUF_INIT;
	add(&t, "short\n", 6);
	add_rep(&t, 'x', 200000);
	add(&t, "\n0123456789\n01234567890\nafter", 29);
	put_buf("long.txt", &t);
	struct lr l;
	lr_open(&l, "long.txt", 10);
	ck_assert_str_eq(lr_next(&l), "short");
	const char *p;
	size_t n;
	ck_assert_int_eq(wn_lines_next(l.lines, &p, &n, &l.err), WN_ETOOBIG);
	ck_assert_str_eq(l.err.msg, "long.txt:2: line longer than 10 bytes (--max-record-size)");
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 2);
	/* Exactly the limit is fine; one more byte is not. */
	ck_assert_str_eq(lr_next(&l), "0123456789");
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 3);
	wn_error_clear(&l.err);
	ck_assert_int_eq(wn_lines_next(l.lines, &p, &n, &l.err), WN_ETOOBIG);
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 4);
	ck_assert_str_eq(lr_next(&l), "after");
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 5);
	ck_assert_ptr_null(lr_next(&l));
	lr_close(&l);
}
END_TEST

START_TEST(test_lines_long_last_line)
{
	AUTO_BUF t = WN_BUF_INIT;
	add(&t, "ok\n", 3);
	add_rep(&t, 'y', 100000);
	put_buf("tail.txt", &t);
	struct lr l;
	lr_open(&l, "tail.txt", 1000);
	ck_assert_str_eq(lr_next(&l), "ok");
	const char *p;
	size_t n;
	ck_assert_int_eq(wn_lines_next(l.lines, &p, &n, &l.err), WN_ETOOBIG);
	ck_assert_ptr_null(lr_next(&l));
	lr_close(&l);
}
END_TEST

START_TEST(test_lines_big_lines)
{
	/* Lines larger than the initial buffer, through zstd. */
	AUTO_BUF t = WN_BUF_INIT, z = WN_BUF_INIT;
	size_t sizes[] = { 3 << 20, 5, (5 << 20) + 7, 0, 1 << 20 };
	for (size_t i = 0; i < 5; i++) {
		ck_assert_int_eq(wn_buf_grow(&t, sizes[i] + 1), WN_OK);
		for (size_t j = 0; j < sizes[i]; j++)
			t.data[t.len++] = (char)('a' + (i + j) % 26);
		t.data[t.len++] = '\n';
	}
	zstd_frame(&z, t.data, t.len);
	put_buf("big.zst", &z);
	struct lr l;
	lr_open(&l, "big.zst", 6 << 20);
	size_t off = 0;
	for (size_t i = 0; i < 5; i++) {
		const char *p;
		size_t n;
		ck_assert_int_eq(wn_lines_next(l.lines, &p, &n, &l.err), 1);
		ck_assert_uint_eq(n, sizes[i]);
		ck_assert(memcmp(p, t.data + off, n) == 0);
		off += n + 1;
	}
	ck_assert_ptr_null(lr_next(&l));
	lr_close(&l);
}
END_TEST

START_TEST(test_lines_decompression_bomb)
{
	/* 64 MB of one line, compressed to a few kilobytes, then a normal
	 * line: the reader must refuse the first without holding it. */
	const size_t total = 64 << 20, max = 1 << 20;
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 20);
	static char chunk[1 << 16], out[1 << 16];
	memset(chunk, 'A', sizeof(chunk));
	FILE *f = fopen("bomb.jsonl.zst", "wb");
	ck_assert_ptr_nonnull(f);
	for (size_t done = 0; done <= total; done += sizeof(chunk)) {
		int last = done == total;
		ZSTD_inBuffer in = { last ? "\nnext\n" : chunk, last ? 6 : sizeof(chunk), 0 };
		size_t r;
		do {
			ZSTD_outBuffer o = { out, sizeof(out), 0 };
			r = ZSTD_compressStream2(cc, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
			ck_assert(!ZSTD_isError(r));
			ck_assert_uint_eq(fwrite(out, 1, o.pos, f), o.pos);
		} while (last ? r != 0 : in.pos < in.size);
	}
	ZSTD_freeCCtx(cc);
	ck_assert_int_eq(fclose(f), 0);
	struct stat sb;
	ck_assert_int_eq(stat("bomb.jsonl.zst", &sb), 0);
	ck_assert_int_lt(sb.st_size, 1 << 20);

	size_t before = heap_in_use();
	struct lr l;
	lr_open(&l, "bomb.jsonl.zst", max);
	const char *p;
	size_t n;
	ck_assert_int_eq(wn_lines_next(l.lines, &p, &n, &l.err), WN_ETOOBIG);
	ck_assert_str_eq(l.err.msg,
	                 "bomb.jsonl.zst:1: line longer than 1048576 bytes (--max-record-size)");
	size_t during = heap_in_use();
	ck_assert_str_eq(lr_next(&l), "next");
	ck_assert_uint_eq(wn_lines_lineno(l.lines), 2);
	size_t after = heap_in_use();
	ck_assert_ptr_null(lr_next(&l));
	/* The line buffer (max + 1), the compressed-input buffer and the
	 * zstd window: a few MiB, not the 64 MB of the line. */
	ck_assert_msg((long long)during - (long long)before < 8 * (long long)max,
	              "%zu bytes in use", during - before);
	ck_assert_msg((long long)after - (long long)before < 8 * (long long)max,
	              "%zu bytes in use", after - before);
	lr_close(&l);
}
END_TEST

START_TEST(test_lines_truncated_names_line)
{
	AUTO_BUF t = WN_BUF_INIT, z = WN_BUF_INIT;
	printf_failed = 0;
	for (int i = 0; i < 10000; i++)
		BUF_PRINTF(&t, "line %d\n", i);
	ck_assert(!printf_failed);
	zstd_frame(&z, t.data, t.len);
	put("cut.jsonl.zst", z.data, z.len - 8);
	struct lr l;
	lr_open(&l, "cut.jsonl.zst", 1000);
	const char *p;
	size_t n;
	int st;
	uint64_t lines = 0;
	while ((st = wn_lines_next(l.lines, &p, &n, &l.err)) == 1)
		lines++;
	ck_assert_int_eq(st, WN_EDATA);
	char want[128];
	snprintf(want, sizeof(want), "cut.jsonl.zst:%llu: truncated zstd data",
	         (unsigned long long)lines + 1);
	ck_assert_str_eq(l.err.msg, want);
	ck_assert_uint_lt(lines, 10000);
	lr_close(&l);
}
END_TEST

/* ---- wn_paths_expand -------------------------------------------------- */

static void expand(char *const *args, size_t n, const char *want)
{
	char **paths;
	size_t np;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_msg(wn_paths_expand(args, n, &paths, &np, &err) == WN_OK, "%s", err.msg);
	AUTO_BUF got = WN_BUF_INIT;
	for (size_t i = 0; i < np; i++)
		ck_assert_int_eq(wn_buf_printf(&got, "%s%s", i ? " " : "", paths[i]), WN_OK);
	ck_assert_buf_str(&got, want);
	wn_paths_free(paths, np);
	wn_buf_release(&got);
}

START_TEST(test_paths_directory)
{
	ck_assert_int_eq(mkdir("d", 0755), 0);
	ck_assert_int_eq(mkdir("d/a", 0755), 0);
	ck_assert_int_eq(mkdir("d/a/deep", 0755), 0);
	ck_assert_int_eq(mkdir("d/.git", 0755), 0);
	ck_assert_int_eq(mkdir("d/empty", 0755), 0);
	puts_file("d/b.jsonl", "");
	puts_file("d/a.txt", "");
	puts_file("d/a/x.csv", "");
	puts_file("d/a/deep/z", "");
	puts_file("d/A", "");
	puts_file("d/.hidden", "");
	puts_file("d/a/.also-hidden", "");
	puts_file("d/.git/config", "");
	ck_assert_int_eq(symlink("b.jsonl", "d/link-to-file"), 0);
	ck_assert_int_eq(symlink("a", "d/link-to-dir"), 0);
	ck_assert_int_eq(symlink("nowhere", "d/dangling"), 0);
	char *args[] = { "d" };
	/* Bytewise by whole path: "a.txt" sorts before "a/..." ('.' < '/'). */
	expand(args, 1, "d/A d/a.txt d/a/deep/z d/a/x.csv d/b.jsonl d/link-to-file");
	char *args2[] = { "d/" };
	expand(args2, 1, "d/A d/a.txt d/a/deep/z d/a/x.csv d/b.jsonl d/link-to-file");
}
END_TEST

START_TEST(test_paths_args_and_globs)
{
	ck_assert_int_eq(mkdir("g", 0755), 0);
	ck_assert_int_eq(mkdir("g/sub", 0755), 0);
	puts_file("g/p2.jsonl", "");
	puts_file("g/p10.jsonl", "");
	puts_file("g/p1.jsonl", "");
	puts_file("g/.p0.jsonl", "");
	puts_file("g/q.csv", "");
	puts_file("g/sub/s.jsonl", "");
	puts_file("lit*eral", "");
	/* Arguments keep their order; a glob's matches are sorted. */
	char *args[] = { "g/q.csv", "g/p*.jsonl", "-" };
	expand(args, 3, "g/q.csv g/p1.jsonl g/p10.jsonl g/p2.jsonl -");
	/* A glob matching a directory expands it. */
	char *args2[] = { "g/s?b" };
	expand(args2, 1, "g/sub/s.jsonl");
	/* An existing name is taken literally even with glob characters. */
	puts_file("literal", "");
	char *args3[] = { "lit*eral" };
	expand(args3, 1, "lit*eral");
	char *args4[] = { "g/[pq]1*" };
	expand(args4, 1, "g/p1.jsonl g/p10.jsonl");
	expand(NULL, 0, "-");
}
END_TEST

START_TEST(test_paths_missing)
{
	char **paths = (char **)&paths;
	size_t np = 7;
	struct wn_error err;
	puts_file("here.jsonl", "");
	char *args[] = { "here.jsonl", "nope.jsonl" };
	wn_error_clear(&err);
	ck_assert_int_eq(wn_paths_expand(args, 2, &paths, &np, &err), WN_EIO);
	ck_assert_str_eq(err.msg, "nope.jsonl: No such file or directory");
	ck_assert_ptr_null(paths);
	ck_assert_uint_eq(np, 0);
	char *args2[] = { "*.csv" };
	wn_error_clear(&err);
	ck_assert_int_eq(wn_paths_expand(args2, 1, &paths, &np, &err), WN_EIO);
	ck_assert_str_eq(err.msg, "no file matches '*.csv'");
	wn_paths_free(NULL, 0);
}
END_TEST

/* ---- formats ---------------------------------------------------------- */

START_TEST(test_format_names)
{
	ck_assert_int_eq(wn_format_parse("jsonl"), WN_FORMAT_JSONL);
	ck_assert_int_eq(wn_format_parse("csv"), WN_FORMAT_CSV);
	ck_assert_int_eq(wn_format_parse("tsv"), WN_FORMAT_TSV);
	ck_assert_int_eq(wn_format_parse("auto"), WN_FORMAT_AUTO);
	ck_assert_int_eq(wn_format_parse("xml"), -1);
	ck_assert_str_eq(wn_format_name(WN_FORMAT_TSV), "tsv");
	ck_assert_str_eq(wn_format_name(WN_FORMAT_JSONL), "jsonl");
	ck_assert_int_eq(wn_format_guess("a/b.jsonl"), WN_FORMAT_JSONL);
	ck_assert_int_eq(wn_format_guess("b.json.gz"), WN_FORMAT_JSONL);
	ck_assert_int_eq(wn_format_guess("b.ndjson.zst"), WN_FORMAT_JSONL);
	ck_assert_int_eq(wn_format_guess("b.CSV.zstd"), WN_FORMAT_CSV);
	ck_assert_int_eq(wn_format_guess("b.tsv"), WN_FORMAT_TSV);
	ck_assert_int_eq(wn_format_guess("b.tab.gz"), WN_FORMAT_TSV);
	ck_assert_int_eq(wn_format_guess("b.txt"), WN_FORMAT_AUTO);
	ck_assert_int_eq(wn_format_guess("b.zst"), WN_FORMAT_AUTO);
	ck_assert_int_eq(wn_format_guess("-"), WN_FORMAT_AUTO);
	ck_assert_int_eq(wn_format_guess("csv"), WN_FORMAT_AUTO);
}
END_TEST

/* ---- JSONL records ---------------------------------------------------- */

START_TEST(test_jsonl_records)
{
	puts_file("r.jsonl", "\xEF\xBB\xBF{\"a\":1}\n"
	                     "  {\"b\" : [1, 2]}  \r\n"
	                     "\n"
	                     " \t \r\n"
	                     "{\"c\":\"\\u00e9\"}\r\n"
	                     "{}");
	AUTO_BUF t = WN_BUF_INIT;
	ck_assert_int_eq(collect("r.jsonl", NULL, &t), 0);
	ck_assert_buf_str(&t, "1 {\"a\":1}\n"
	                      "2 {\"b\" : [1, 2]}\n"
	                      "5 {\"c\":\"\\u00e9\"}\n"
	                      "6 {}\n");
}
END_TEST

START_TEST(test_jsonl_errors_recoverable)
{
	puts_file("e.jsonl", "{\"ok\":1}\n"
	                     "{\"a\":tru}\n"
	                     "[1,2]\n"
	                     "\"s\"\n"
	                     "{\"t\":\"\xC3\x28\"}\n"
	                     "  {\"a\":\n"
	                     "{\"ok\":2}\n");
	AUTO_BUF t = WN_BUF_INIT;
	ck_assert_int_eq(collect("e.jsonl", NULL, &t), 0);
	const char *s = t.data;
	ck_assert_msg(starts_with(s, "1 {\"ok\":1}\n2 !-1 e.jsonl:2: invalid JSON at byte "),
	              "%s", s);
	ck_assert_ptr_nonnull(strstr(s, "\n3 !-1 e.jsonl:3: record is not a JSON object "
	                                "(got array)\n"
	                                "4 !-1 e.jsonl:4: record is not a JSON object "
	                                "(got string)\n"
	                                "5 !-1 e.jsonl:5: invalid JSON at byte "));
	ck_assert_ptr_nonnull(strstr(s, "\n6 !-1 e.jsonl:6: invalid JSON at byte "));
	ck_assert_msg(strstr(s, "\n7 {\"ok\":2}\n") != NULL, "%s", s);
}
END_TEST

START_TEST(test_jsonl_error_position_and_raw)
{
	puts_file("p.jsonl", "{\"a\":1}\n   {\"a\":x}\r\n");
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_open(&r, "p.jsonl", NULL, &err), WN_OK);
	ck_assert_int_eq(wn_reader_format(r), WN_FORMAT_JSONL);
	ck_assert_str_eq(wn_reader_name(r), "p.jsonl");
	ck_assert_ptr_nonnull(wn_reader_input(r));
	const char *rec, *raw;
	size_t len, rawlen;
	uint64_t line;
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), 1);
	wn_reader_raw(r, &raw, &rawlen);
	ck_assert_uint_eq(rawlen, 7);
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), WN_EDATA);
	ck_assert_uint_eq(line, 2);
	/* The 'x' is the 9th byte of the line, counting the indentation. */
	ck_assert_msg(starts_with(err.msg, "p.jsonl:2: invalid JSON at byte 9: "), "%s", err.msg);
	ck_assert(wn_reader_recoverable(r));
	wn_reader_raw(r, &raw, &rawlen);
	ck_assert_uint_eq(rawlen, 11);
	ck_assert(memcmp(raw, "   {\"a\":x}\r", 11) == 0);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), 0);
	wn_reader_close(r);
}
END_TEST

START_TEST(test_jsonl_too_long)
{
	AUTO_BUF t = WN_BUF_INIT;
	add(&t, "{\"a\":1}\n{\"t\":\"", 14);
	add_rep(&t, 'z', 5000);
	add(&t, "\"}\n{\"b\":2}\n", 11);
	put_buf("l.jsonl", &t);
	struct wn_reader_opts o = { WN_FORMAT_AUTO, 0, 0, 100 };
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("l.jsonl", &o, &out), 0);
	ck_assert_buf_str(&out, "1 {\"a\":1}\n"
	                        "2 !-5 l.jsonl:2: line longer than 100 bytes (--max-record-size)\n"
	                        "3 {\"b\":2}\n");
}
END_TEST

START_TEST(test_jsonl_compressed_not_recoverable)
{
	AUTO_BUF t = WN_BUF_INIT, z = WN_BUF_INIT, out = WN_BUF_INIT;
	/* Several zstd blocks, so that some lines come out before the cut. */
	printf_failed = 0;
	for (int i = 1; i <= 50000; i++)
		BUF_PRINTF(&t, "{\"i\":%d}\n", i);
	ck_assert(!printf_failed);
	zstd_frame(&z, t.data, t.len);
	put("cut.jsonl.zst", z.data, z.len - 6);
	int st = collect("cut.jsonl.zst", NULL, &out);
	ck_assert_int_eq(st, WN_EDATA);
	const char *last = strrchr(out.data, '!');
	ck_assert_ptr_nonnull(last);
	ck_assert_ptr_nonnull(strstr(last, ": truncated zstd data\n"));
	/* Whatever came out before the error is intact. */
	ck_assert(starts_with(out.data, "1 {\"i\":1}\n2 {\"i\":2}\n"));

	/* Once failed, a reader keeps failing. */
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_open(&r, "cut.jsonl.zst", NULL, &err), WN_OK);
	const char *rec;
	size_t len;
	while ((st = wn_reader_next(r, &rec, &len, NULL, &err)) == 1)
		;
	ck_assert_int_eq(st, WN_EDATA);
	ck_assert(!wn_reader_recoverable(r));
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, NULL, &err), WN_EDATA);
	wn_reader_close(r);
}
END_TEST

START_TEST(test_reader_auto_detect)
{
	AUTO_BUF z = WN_BUF_INIT, out = WN_BUF_INIT;
	const char *jl = "\n  {\"x\":1}\n";
	zstd_frame(&z, jl, strlen(jl));
	put_buf("data.bin", &z);
	ck_assert_int_eq(collect("data.bin", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"x\":1}\n");

	puts_file("table.txt", "k,v\n1,2\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("table.txt", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"k\":\"1\",\"v\":\"2\"}\n");

	/* The name wins over the content. */
	puts_file("obj.csv", "{a,b}\n{1,2}\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("obj.csv", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"{a\":\"{1\",\"b}\":\"2}\"}\n");

	/* An explicit format wins over both. */
	struct wn_reader_opts o = { WN_FORMAT_CSV, 0, 0, 0 };
	puts_file("x.jsonl", "a\n\"{\"\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("x.jsonl", &o, &out), 0);
	ck_assert_buf_str(&out, "2 {\"a\":\"{\"}\n");

	puts_file("empty", "");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("empty", NULL, &out), 0);
	ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_reader_stdin)
{
	/* "-" has no name to guess from: the content decides, and messages
	 * say <stdin>. */
	puts_file("in.csv", "k,v\n1,2\n3\n");
	ck_assert_ptr_nonnull(freopen("in.csv", "r", stdin));
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("-", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"k\":\"1\",\"v\":\"2\"}\n"
	                        "3 !-1 <stdin>:3: expected 2 fields, got 1\n");
}
END_TEST

/* ---- CSV / TSV records ------------------------------------------------ */

START_TEST(test_csv_matches_jansson)
{
	/* Values with quotes, backslashes, control bytes, non-ASCII. */
	const char *vals[] = { "plain", "q\"uote", "back\\slash", "tab\there", "nl\nhere",
	                       "\x01\x1f\x7f", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "",
	                       "/slash", "cr\rlf" };
	size_t nv = sizeof(vals) / sizeof(vals[0]);
	AUTO_BUF csv = WN_BUF_INIT, out = WN_BUF_INIT;
	for (size_t i = 0; i < nv; i++)
		ck_assert_int_eq(wn_buf_printf(&csv, "%sk%zu\"", i ? ",\"" : "\"", i), WN_OK);
	add(&csv, "\n", 1);
	for (size_t i = 0; i < nv; i++) {
		add(&csv, i ? ",\"" : "\"", i ? 2 : 1);
		for (const char *p = vals[i]; *p; p++) {
			if (*p == '"')
				add(&csv, "\"", 1);
			add(&csv, p, 1);
		}
		add(&csv, "\"", 1);
	}
	add(&csv, "\n", 1);
	put_buf("j.csv", &csv);
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_open(&r, "j.csv", NULL, &err), WN_OK);
	const char *rec;
	size_t len;
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, NULL, &err), 1);
	json_t *o = json_object();
	for (size_t i = 0; i < nv; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%zu", i);
		json_object_set_new(o, k, json_string(vals[i]));
	}
	char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_msg(memcmp(rec, want, len) == 0, "%.*s\n%s", (int)len, rec, want);
	free(want);
	json_decref(o);
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, NULL, &err), 0);
	wn_reader_close(r);
	wn_buf_release(&out);
}
END_TEST

START_TEST(test_csv_quoted_newlines)
{
	puts_file("q.csv", "id,text\n"
	                   "1,\"two\nlines\"\n"
	                   "2,\"three\n\nlines, \"\"quoted\"\"\"\n"
	                   "3,plain\n");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("q.csv", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"id\":\"1\",\"text\":\"two\\nlines\"}\n"
	                        "4 {\"id\":\"2\",\"text\":\"three\\n\\nlines, \\\"quoted\\\"\"}\n"
	                        "7 {\"id\":\"3\",\"text\":\"plain\"}\n");
}
END_TEST

START_TEST(test_csv_crlf_bom_blank_lines)
{
	puts_file("c.csv", "\xEF\xBB\xBF" "a,b\r\n"
	                   "\r\n"
	                   "1,\"x\r\ny\"\r\n"
	                   "\n"
	                   "3, spaced \r\n"
	                   "4,last");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("c.csv", NULL, &out), 0);
	/* The CRLF inside quotes is data; spaces around fields are kept. */
	ck_assert_buf_str(&out, "3 {\"a\":\"1\",\"b\":\"x\\r\\ny\"}\n"
	                        "6 {\"a\":\"3\",\"b\":\" spaced \"}\n"
	                        "7 {\"a\":\"4\",\"b\":\"last\"}\n");
}
END_TEST

START_TEST(test_csv_header_names)
{
	puts_file("h.csv", "x,,\"\",y\n1,2,3,4\n");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("h.csv", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"x\":\"1\",\"c2\":\"2\",\"c3\":\"3\",\"y\":\"4\"}\n");

	puts_file("dup.csv", "\n\na,b,a\n1,2,3\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("dup.csv", NULL, &out), WN_EDATA);
	ck_assert_buf_str(&out, "open !-1 dup.csv:3: duplicate column name 'a'\n");

	/* A header name needing escapes. */
	puts_file("esc.csv", "\"say \"\"hi\"\"\",\"new\nline\"\nv,w\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("esc.csv", NULL, &out), 0);
	ck_assert_buf_str(&out, "3 {\"say \\\"hi\\\"\":\"v\",\"new\\nline\":\"w\"}\n");

	puts_file("bad.csv", "a,\"b\"x\n1,2\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("bad.csv", NULL, &out), WN_EDATA);
	ck_assert_buf_str(&out, "open !-1 bad.csv:1: invalid CSV at byte 6: "
	                        "unexpected character after closing quote\n");

	puts_file("u.csv", "a,\xFF\n1,2\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("u.csv", NULL, &out), WN_EDATA);
	ck_assert_buf_str(&out, "open !-1 u.csv:1: invalid UTF-8 in the name of column 2\n");

	/* Only a header: no records. */
	puts_file("only.csv", "a,b\n");
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("only.csv", NULL, &out), 0);
	ck_assert_uint_eq(out.len, 0);
	puts_file("none.csv", "");
	ck_assert_int_eq(collect("none.csv", NULL, &out), 0);
	ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_csv_no_header)
{
	puts_file("n.csv", "a,b,c\n1,2,3\n4,5\n");
	struct wn_reader_opts o = { WN_FORMAT_AUTO, 0, 1, 0 };
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("n.csv", &o, &out), 0);
	ck_assert_buf_str(&out, "1 {\"c1\":\"a\",\"c2\":\"b\",\"c3\":\"c\"}\n"
	                        "2 {\"c1\":\"1\",\"c2\":\"2\",\"c3\":\"3\"}\n"
	                        "3 !-1 n.csv:3: expected 3 fields, got 2\n");
}
END_TEST

START_TEST(test_csv_field_count)
{
	puts_file("f.csv", "a,b,c\n1,2,3\n4,5\n6,7,8,9\n\"x\ny\",z\n10,11,12\n");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("f.csv", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}\n"
	                        "3 !-1 f.csv:3: expected 3 fields, got 2\n"
	                        "4 !-1 f.csv:4: expected 3 fields, got 4\n"
	                        "5 !-1 f.csv:5: expected 3 fields, got 2\n"
	                        "7 {\"a\":\"10\",\"b\":\"11\",\"c\":\"12\"}\n");
}
END_TEST

START_TEST(test_csv_bad_quoting)
{
	puts_file("b.csv", "a,b\n"
	                   "1,x\"y\n"
	                   "2,\"ok\"\n"
	                   "3,\"multi\nline\"z\n"
	                   "4,fine\n"
	                   "5,\"never closed\n"
	                   "6,eaten\n");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("b.csv", NULL, &out), WN_EDATA);
	ck_assert_buf_str(&out,
	                  "2 !-1 b.csv:2: invalid CSV at byte 4: quote in unquoted field\n"
	                  "3 {\"a\":\"2\",\"b\":\"ok\"}\n"
	                  "4 !-1 b.csv:5: invalid CSV at byte 6: unexpected character after "
	                  "closing quote (in the row starting at line 4)\n"
	                  "6 {\"a\":\"4\",\"b\":\"fine\"}\n"
	                  "7 !-1 b.csv:7: unterminated quoted field\n");
}
END_TEST

START_TEST(test_csv_raw_rows)
{
	puts_file("r.csv", "a,b\r\n1,\"p\r\nq\"r\r\n2,3,4\r\n5,6\r\n");
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_open(&r, "r.csv", NULL, &err), WN_OK);
	const char *rec, *raw;
	size_t len, rawlen;
	uint64_t line;
	/* A row with a bad quote spanning two lines: both are its raw text. */
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), WN_EDATA);
	ck_assert_uint_eq(line, 2);
	ck_assert(wn_reader_recoverable(r));
	wn_reader_raw(r, &raw, &rawlen);
	ck_assert_str_eq(err.msg, "r.csv:3: invalid CSV at byte 3: unexpected character "
	                          "after closing quote (in the row starting at line 2)");
	ck_assert_uint_eq(rawlen, 10);
	ck_assert(memcmp(raw, "1,\"p\r\nq\"r\r", 10) == 0);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), WN_EDATA);
	ck_assert_str_eq(err.msg, "r.csv:4: expected 2 fields, got 3");
	wn_reader_raw(r, &raw, &rawlen);
	ck_assert_uint_eq(rawlen, 6);
	ck_assert(memcmp(raw, "2,3,4\r", 6) == 0);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), 1);
	ck_assert_uint_eq(line, 5);
	wn_reader_raw(r, &raw, &rawlen);
	ck_assert_uint_eq(rawlen, 4);
	ck_assert(memcmp(raw, "5,6\r", 4) == 0);
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), 0);
	wn_reader_close(r);
}
END_TEST

START_TEST(test_csv_invalid_utf8)
{
	puts_file("u.csv", "name,text\nok,fine\nbad,caf\xE9\n\xED\xA0\x80,x\nlast,one\n");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("u.csv", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"name\":\"ok\",\"text\":\"fine\"}\n"
	                        "3 !-1 u.csv:3: invalid UTF-8 in column 'text'\n"
	                        "4 !-1 u.csv:4: invalid UTF-8 in column 'name'\n"
	                        "5 {\"name\":\"last\",\"text\":\"one\"}\n");
}
END_TEST

START_TEST(test_tsv)
{
	puts_file("t.tsv", "a\tb\n1\t\"x\ty\"\n\"2\"\tcomma,here\n");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("t.tsv", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"a\":\"1\",\"b\":\"x\\ty\"}\n"
	                        "3 {\"a\":\"2\",\"b\":\"comma,here\"}\n");
	/* A custom delimiter. */
	puts_file("s.txt", "a;b\n1;2\n");
	struct wn_reader_opts o = { WN_FORMAT_CSV, ';', 0, 0 };
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("s.txt", &o, &out), 0);
	ck_assert_buf_str(&out, "2 {\"a\":\"1\",\"b\":\"2\"}\n");
	o.delimiter = '"';
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("s.txt", &o, &out), WN_EUSAGE);
}
END_TEST

START_TEST(test_csv_row_too_long)
{
	AUTO_BUF t = WN_BUF_INIT, out = WN_BUF_INIT;
	add(&t, "a,b\n1,\"", 7);
	/* 40 lines of 10 bytes in one quoted field, one of them with quotes. */
	for (int i = 0; i < 40; i++)
		add(&t, i == 20 ? "x\"\"yzzzzz\n" : "zzzzzzzzz\n", 10);
	add(&t, "end\"\n2,\"x\"\n3,y\n", 15);
	put_buf("big.csv", &t);
	struct wn_reader_opts o = { WN_FORMAT_AUTO, 0, 0, 100 };
	ck_assert_int_eq(collect("big.csv", &o, &out), 0);
	ck_assert_buf_str(&out, "2 !-5 big.csv:2: row longer than 100 bytes (--max-record-size)\n"
	                        "43 {\"a\":\"2\",\"b\":\"x\"}\n"
	                        "44 {\"a\":\"3\",\"b\":\"y\"}\n");

	/* One line over the limit inside a row. */
	wn_buf_reset(&t);
	add(&t, "a,b\n1,2\n3,", 10);
	add_rep(&t, 'w', 300);
	add(&t, "\n4,5\n", 5);
	put_buf("line.csv", &t);
	wn_buf_reset(&out);
	ck_assert_int_eq(collect("line.csv", &o, &out), 0);
	ck_assert_buf_str(&out, "2 {\"a\":\"1\",\"b\":\"2\"}\n"
	                        "3 !-5 line.csv:3: line longer than 100 bytes (--max-record-size)\n"
	                        "4 {\"a\":\"4\",\"b\":\"5\"}\n");
}
END_TEST

START_TEST(test_csv_gzip_many_rows)
{
	/* Enough rows to cross several read buffers. */
	AUTO_BUF t = WN_BUF_INIT, g = WN_BUF_INIT, out = WN_BUF_INIT;
	add(&t, "n,s\n", 4);
	printf_failed = 0;
	for (int i = 0; i < 200000; i++)
		BUF_PRINTF(&t, "%d,\"v,%d\"\n", i, i * 7);
	ck_assert(!printf_failed);
	gzip_member(&g, t.data, t.len);
	put_buf("many.csv.gz", &g);
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_open(&r, "many.csv.gz", NULL, &err), WN_OK);
	ck_assert_int_eq(wn_reader_format(r), WN_FORMAT_CSV);
	const char *rec;
	size_t len;
	uint64_t line;
	int n = 0, bad = -1, st;
	char want[64];
	while ((st = wn_reader_next(r, &rec, &len, &line, &err)) == 1) {
		int w = snprintf(want, sizeof(want), "{\"n\":\"%d\",\"s\":\"v,%d\"}", n, n * 7);
		if (bad < 0 && (len != (size_t)w || memcmp(rec, want, len) != 0 ||
		                line != (uint64_t)n + 2))
			bad = n;
		n++;
	}
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(bad, -1);
	ck_assert_int_eq(n, 200000);
	wn_reader_close(r);
	wn_buf_release(&out);
}
END_TEST

START_TEST(test_csv_lone_cr)
{
	/* A lone CR ends a row, as in Python's csv: two rows on one line. */
	puts_file("cr.csv", "a,b\n1,2\r3,4\n5,6\n");
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect("cr.csv", NULL, &out), 0);
	ck_assert_buf_str(&out, "2 {\"a\":\"1\",\"b\":\"2\"}\n"
	                        "2 {\"a\":\"3\",\"b\":\"4\"}\n"
	                        "3 {\"a\":\"5\",\"b\":\"6\"}\n");
}
END_TEST

/* Write random rows (quotes, delimiters, CR, LF, non-ASCII in fields,
 * quoted only when needed or at random, CRLF or LF endings), read them back
 * and compare each record, line and raw text with what jansson makes of the
 * same fields.  Rows on one line and rows over several lines take different
 * paths through the reader: both must agree with the encoding. */
static void csv_round_trip(char delim, const char *name)
{
	static const char *const atoms[] = { "a", "b", " ", ",", "\t", "\"", "\n", "\r",
	                                     "\r\n", "\xC3\xA9", "\\", "\"\"", "x y" };
	const size_t natoms = sizeof(atoms) / sizeof(atoms[0]);
	const int ncols = 3, nrows = 3000;
	AUTO_BUF csv = WN_BUF_INIT;
	AUTO_BUF field = WN_BUF_INIT;
	char **want = calloc(nrows, sizeof(*want));
	char **raw = calloc(nrows, sizeof(*raw));
	uint64_t *lines = calloc(nrows, sizeof(*lines));
	ck_assert(want && raw && lines);
	unsigned x = 2463534242u;
	uint64_t line = 2;
	ck_assert_int_eq(wn_buf_printf(&csv, "h1%ch2%ch3\n", delim, delim), WN_OK);
	for (int r = 0; r < nrows; r++) {
		json_t *o = json_object();
		size_t row_start = csv.len;
		lines[r] = line;
		for (int k = 0; k < ncols; k++) {
			wn_buf_reset(&field);
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			int len = (int)(x % 5);
			for (int i = 0; i < len; i++) {
				x ^= x << 13, x ^= x >> 17, x ^= x << 5;
				/* Mostly plain atoms, so most rows fit on a line. */
				size_t a = x % 8 < 6 ? x % 3 : x % natoms;
				add(&field, atoms[a], strlen(atoms[a]));
			}
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			const char *f = field.data ? field.data : "";
			int quote = strpbrk(f, "\"\r\n") || strchr(f, delim) || x % 4 == 0 ||
			            (len == 0 && k == 0 && ncols == 1);
			if (k)
				add(&csv, &delim, 1);
			if (quote)
				add(&csv, "\"", 1);
			for (const char *p = f; *p; p++) {
				if (*p == '"')
					add(&csv, "\"", 1);
				if (*p == '\n')
					line++;
				add(&csv, p, 1);
			}
			if (quote)
				add(&csv, "\"", 1);
			char key[8];
			snprintf(key, sizeof(key), "h%d", k + 1);
			json_object_set_new(o, key, json_string(f));
		}
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		if (x % 3 == 0)
			add(&csv, "\r", 1);
		raw[r] = strndup(csv.data + row_start, csv.len - row_start);
		add(&csv, "\n", 1);
		line++;
		want[r] = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	put_buf(name, &csv);

	struct wn_reader *rd;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_open(&rd, name, NULL, &err), WN_OK);
	int bad = -1;
	for (int r = 0; r < nrows; r++) {
		const char *rec, *rw;
		size_t len, rwlen;
		uint64_t ln;
		int st = wn_reader_next(rd, &rec, &len, &ln, &err);
		ck_assert_msg(st == 1, "row %d: %d %s", r, st, err.msg);
		wn_reader_raw(rd, &rw, &rwlen);
		if (bad < 0 && (len != strlen(want[r]) || memcmp(rec, want[r], len) != 0 ||
		                ln != lines[r] || rwlen != strlen(raw[r]) ||
		                memcmp(rw, raw[r], rwlen) != 0))
			bad = r;
		ck_assert_msg(bad < 0, "row %d at line %llu: got %.*s (line %llu), want %s",
		              r, (unsigned long long)lines[r], (int)len, rec,
		              (unsigned long long)ln, want[r]);
	}
	const char *rec;
	size_t len;
	ck_assert_int_eq(wn_reader_next(rd, &rec, &len, NULL, &err), 0);
	wn_reader_close(rd);
	for (int r = 0; r < nrows; r++) {
		free(want[r]);
		free(raw[r]);
	}
	free(want);
	free(raw);
	free(lines);
}

START_TEST(test_csv_round_trip)
{
	csv_round_trip(',', "rt.csv");
	csv_round_trip('\t', "rt.tsv");
}
END_TEST

/* ---- byte ranges and the split plan ----------------------------------- */

/*
 * Like collect, for the records of [start, end), each with the index
 * --add-id would give it ("LINE #INDEX RECORD"), so that transcripts of
 * ranges, one after the other, can be compared with a whole read.
 */
static int collect_range(const char *path, const struct wn_reader_opts *opts,
                         uint64_t start, uint64_t end, struct wn_buf *out)
{
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	int st = wn_reader_open_range(&r, path, opts, start, end, &err);
	if (st < 0) {
		BUF_PRINTF(out, "open !%d %s\n", st, err.msg);
		return st;
	}
	int jsonl = wn_reader_format(r) == WN_FORMAT_JSONL;
	uint64_t index = wn_reader_records_before(r);
	for (;;) {
		const char *rec;
		size_t len;
		uint64_t line = 0;
		wn_error_clear(&err);
		st = wn_reader_next(r, &rec, &len, &line, &err);
		if (st == 0)
			break;
		uint64_t idx = jsonl ? line - 1 : index;
		index++;
		if (st > 0) {
			BUF_PRINTF(out, "%llu #%llu %.*s\n", (unsigned long long)line,
			           (unsigned long long)idx, (int)len, rec);
			continue;
		}
		BUF_PRINTF(out, "%llu #%llu !%d %s\n", (unsigned long long)line,
		           (unsigned long long)idx, st, err.msg);
		if (!wn_reader_recoverable(r))
			break;
		st = 0;
	}
	wn_reader_close(r);
	return st;
}

/* The transcripts of [0, cuts[0]), [cuts[0], cuts[1]), ..., [cuts[n-1], 0)
 * one after the other. */
static void collect_split(const char *path, const struct wn_reader_opts *opts,
                          const uint64_t *cuts, size_t n, struct wn_buf *out)
{
	uint64_t a = 0;
	for (size_t i = 0; i <= n; i++) {
		uint64_t b = i < n ? cuts[i] : 0;
		collect_range(path, opts, a, b, out);
		a = b;
	}
}

/* Every way to cut path once, and with pairs set every way to cut it twice
 * within a few bytes (farther cuts are two single cuts), gives the
 * transcript of a whole read. */
static void check_all_cuts(const char *path, const struct wn_reader_opts *opts,
                           size_t size, int pairs)
{
	AUTO_BUF whole = WN_BUF_INIT;
	collect_range(path, opts, 0, 0, &whole);
	ck_assert(!printf_failed);
	ck_assert_ptr_null(strstr(whole.data ? whole.data : "", "!-8 "));
	for (uint64_t a = 1; a <= size; a++) {
		AUTO_BUF got = WN_BUF_INIT;
		collect_split(path, opts, &a, 1, &got);
		ck_assert(!printf_failed);
		if (strcmp(got.data ? got.data : "", whole.data ? whole.data : "") != 0)
			ck_abort_msg("%s cut at %llu:\n%s\nwhole:\n%s", path, (unsigned long long)a,
			             got.data, whole.data);
		for (uint64_t b = a + 1; pairs && b <= size && b <= a + 24; b++) {
			uint64_t cuts[2] = { a, b };
			wn_buf_reset(&got);
			collect_split(path, opts, cuts, 2, &got);
			ck_assert(!printf_failed);
			if (strcmp(got.data ? got.data : "", whole.data ? whole.data : "") != 0)
				ck_abort_msg("%s cut at %llu, %llu:\n%s\nwhole:\n%s", path,
				             (unsigned long long)a, (unsigned long long)b, got.data,
				             whole.data);
		}
	}
}

START_TEST(test_range_jsonl)
{
	/* A BOM, blank lines, CRLF, a bad line, a non-object, a too-long line
	 * and a last line without a newline. */
	static const char text[] =
		"\xEF\xBB\xBF{\"a\":1}\n\n{\"a\":2}\r\n  \n{\"a\":3,}\n[4]\n"
		"{\"a\":\"a very long line indeed\"}\n{\"a\":5}\n{\"a\":6}";
	put("r.jsonl", text, sizeof(text) - 1);
	struct wn_reader_opts o = { WN_FORMAT_AUTO, 0, 0, 20 };
	check_all_cuts("r.jsonl", &o, sizeof(text) - 1, 1);
	/* Found by content, not by name: the sniffed line is not lost. */
	put("r.txt", text + 3, sizeof(text) - 4);
	check_all_cuts("r.txt", &o, sizeof(text) - 4, 0);
}
END_TEST

START_TEST(test_range_jsonl_numbers)
{
	/* Line numbers after a skip over many buffers of short lines. */
	AUTO_BUF b = WN_BUF_INIT;
	for (int i = 0; i < 300000; i++)
		BUF_PRINTF(&b, i % 7 == 3 ? "\n" : "{\"n\":%d}\n", i);
	ck_assert(!printf_failed);
	put("n.jsonl", b.data, b.len);
	uint64_t mid = b.len / 2;
	struct wn_reader *r;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_reader_open_range(&r, "n.jsonl", NULL, mid, 0, &err), WN_OK);
	const char *rec;
	size_t len;
	uint64_t line;
	ck_assert_int_eq(wn_reader_next(r, &rec, &len, &line, &err), 1);
	/* The first line that starts at or after mid, then the first that
	 * is not blank. */
	uint64_t want = 1;
	size_t pos = 0;
	while (pos < mid) {
		const char *nl = memchr(b.data + pos, '\n', b.len - pos);
		pos = (size_t)(nl - b.data) + 1;
		want++;
	}
	ck_assert_uint_eq(wn_reader_records_before(r), want - 1);
	while (b.data[pos] == '\n') {
		pos++;
		want++;
	}
	ck_assert_uint_eq(line, want);
	const char *nl = memchr(b.data + pos, '\n', b.len - pos);
	ck_assert_uint_eq(len, (size_t)(nl - b.data) - pos);
	ck_assert(memcmp(rec, b.data + pos, len) == 0);
	wn_reader_close(r);
}
END_TEST

START_TEST(test_range_csv)
{
	/* Quoted line breaks (LF and CRLF) across every cut, doubled quotes,
	 * a lone CR (two rows on one line), blank lines, a bad row, a row
	 * with the wrong number of fields, a BOM, and no final newline. */
	static const char text[] =
		"\xEF\xBB\xBFid,text\r\n1,\"one\r\ntwo\"\r\n\r\n2,\"a \"\"q\"\"\n\nb\"\n"
		"3,x\r4,y\n5,\"bad\"x\n6,a,b\n\n7,\"\n,\n\"\n8,last";
	put("r.csv", text, sizeof(text) - 1);
	check_all_cuts("r.csv", NULL, sizeof(text) - 1, 1);
	struct wn_reader_opts o = { WN_FORMAT_CSV, 0, 1, 0 };
	check_all_cuts("r.csv", &o, sizeof(text) - 1, 1);
	/* Rows and lines over the limit, inside and outside quotes. */
	struct wn_reader_opts small = { WN_FORMAT_CSV, 0, 0, 12 };
	static const char longer[] =
		"h,i\n1,\"ab\ncdefghij\nklm\"\n2,abcdefghijklmnop\n3,\"x\ny\"\n"
		"4,\"abcdefghijkl\"\"\n\"\n5,z\n";
	put("l.csv", longer, sizeof(longer) - 1);
	check_all_cuts("l.csv", &small, sizeof(longer) - 1, 1);
	/* CSV found by content, after blank lines. */
	static const char sniffed[] = "\n \n\"id\",x\n1,\"a\nb\"\n2,c\n";
	put("c.txt", sniffed, sizeof(sniffed) - 1);
	check_all_cuts("c.txt", NULL, sizeof(sniffed) - 1, 1);
}
END_TEST

/*
 * Random CSV-like text of quotes, delimiters, line breaks and letters,
 * well-formed or not: wherever it is cut, the rows read on either side are
 * those of a whole read, with the same line numbers, ids and errors.  This
 * holds the row scanner to the reader's rules, bad rows included.
 */
START_TEST(test_range_csv_random)
{
	static const char *const atoms[] = { "a", "b", ",", ",", "\"", "\"", "\"\"", "\n",
	                                     "\n", "\r\n", "\r", " ", "\n\n" };
	const size_t natoms = sizeof(atoms) / sizeof(atoms[0]);
	unsigned seed = 12345;
	for (int t = 0; t < 200; t++) {
		AUTO_BUF b = WN_BUF_INIT;
		add(&b, "h,i\n", t % 3 ? 4 : 0);
		size_t want = 20 + (size_t)(rand_r(&seed) % 40);
		while (b.len < want) {
			const char *a = atoms[(size_t)rand_r(&seed) % natoms];
			add(&b, a, strlen(a));
		}
		put("x.csv", b.data, b.len);
		struct wn_reader_opts o = { WN_FORMAT_CSV, 0, t % 3 == 0, t % 4 == 1 ? 6 : 0 };
		AUTO_BUF whole = WN_BUF_INIT;
		if (collect_range("x.csv", &o, 0, 0, &whole) < 0 && starts_with(whole.data, "open"))
			continue; /* a bad header fails every rank alike */
		check_all_cuts("x.csv", &o, b.len, t < 12);
	}
}
END_TEST

START_TEST(test_range_empty_and_short)
{
	put("e.jsonl", "", 0);
	check_all_cuts("e.jsonl", NULL, 0, 0);
	puts_file("h.csv", "a,b\n");
	check_all_cuts("h.csv", NULL, 4, 1);
	puts_file("one.jsonl", "{\"a\":1}");
	check_all_cuts("one.jsonl", NULL, 7, 1);
	/* A range past the end reads nothing. */
	AUTO_BUF out = WN_BUF_INIT;
	ck_assert_int_eq(collect_range("one.jsonl", NULL, 100, 200, &out), 0);
	ck_assert_uint_eq(out.len, 0);
	/* A compressed input: offsets count decompressed bytes. */
	AUTO_BUF z = WN_BUF_INIT;
	static const char text[] = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
	zstd_frame(&z, text, sizeof(text) - 1);
	put("z.jsonl.zst", z.data, z.len);
	check_all_cuts("z.jsonl.zst", NULL, sizeof(text) - 1, 0);
}
END_TEST

/* Every rank's parts, in rank order, must read each input once, in order:
 * whole, or in pieces [0, a), [a, b), ..., [z, end). */
static void check_plan(char **paths, size_t n, uint64_t world, const int *whole)
{
	size_t next = 0;     /* the input expected next */
	uint64_t at = 0;     /* where its next piece starts (0: not begun) */
	for (uint64_t r = 0; r < world; r++) {
		struct wn_split_part *parts;
		size_t np;
		struct wn_error err;
		wn_error_clear(&err);
		ck_assert_int_eq(wn_split_plan(paths, n, r, world, &parts, &np, &err), WN_OK);
		for (size_t k = 0; k < np; k++) {
			struct wn_split_part *p = &parts[k];
			if (at == 0) {
				ck_assert_uint_eq(p->input, next);
				ck_assert_uint_eq(p->start, 0);
			} else {
				/* Only a piece of the same input may follow a piece. */
				ck_assert_uint_eq(p->input, next);
				ck_assert_uint_eq(p->start, at);
			}
			if (whole && whole[p->input])
				ck_assert(p->start == 0 && p->end == 0);
			if (p->end == 0) {
				next++;
				at = 0;
			} else {
				ck_assert_uint_gt(p->end, p->start);
				at = p->end;
			}
		}
		free(parts);
	}
	ck_assert_uint_eq(next, n);
	ck_assert_uint_eq(at, 0);
}

START_TEST(test_split_plan)
{
	/* Sizes 1000, 10, 0, 5000 (compressed), 3, 20000, 0. */
	AUTO_BUF b = WN_BUF_INIT;
	add_rep(&b, 'x', 20000);
	put("p0", b.data, 1000);
	put("p1", b.data, 10);
	put("p2", b.data, 0);
	AUTO_BUF z = WN_BUF_INIT;
	zstd_frame(&z, b.data, 20000);
	add_rep(&z, 'x', 5000 - z.len); /* only the size and magic matter */
	put("p3", z.data, 5000);
	put("p4", b.data, 3);
	put("p5", b.data, 20000);
	put("p6", b.data, 0);
	char *paths[] = { "p0", "p1", "p2", "p3", "p4", "p5", "p6" };
	const int whole[] = { 0, 1, 1, 1, 1, 0, 1 };
	for (uint64_t w = 1; w <= 40; w++)
		check_plan(paths, 7, w, whole);
	check_plan(paths, 0, 3, NULL);

	/* Two ranks: the cut at 13006 lies in p5, which is split there. */
	struct wn_split_part *parts;
	size_t np;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_split_plan(paths, 7, 1, 2, &parts, &np, &err), WN_OK);
	ck_assert_uint_eq(np, 2);
	ck_assert_uint_eq(parts[0].input, 5);
	ck_assert_uint_eq(parts[0].start, 13006 - 6013);
	ck_assert_uint_eq(parts[0].end, 0);
	ck_assert_uint_eq(parts[1].input, 6);
	free(parts);
	/* Many small files go whole, in runs balanced by bytes. */
	char *many[64];
	char names[64][8];
	for (int i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "m%02d", i);
		put(names[i], b.data, 100 + (size_t)i);
		many[i] = names[i];
	}
	int all_whole[64];
	for (int i = 0; i < 64; i++)
		all_whole[i] = 1;
	for (uint64_t w = 1; w <= 8; w++)
		check_plan(many, 64, w, all_whole);
	ck_assert_int_eq(wn_split_plan(many, 64, 0, 4, &parts, &np, &err), WN_OK);
	/* 8416 bytes: the cut at 2104 falls 33 bytes into m19 (2071-2190),
	 * which goes whole to rank 1. */
	ck_assert_uint_eq(np, 19);
	free(parts);

	char *with_stdin[] = { "p0", "-" };
	ck_assert_int_eq(wn_split_plan(with_stdin, 2, 0, 2, &parts, &np, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "standard input"));
	ck_assert_int_eq(wn_split_plan(with_stdin, 2, 0, 1, &parts, &np, &err), WN_OK);
	ck_assert_uint_eq(np, 2);
	free(parts);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_split_plan(paths, 7, 2, 2, &parts, &np, &err), WN_EUSAGE);
	ck_assert_int_eq(wn_split_plan(paths, 7, 0, 0, &parts, &np, &err), WN_EUSAGE);
}
END_TEST

static Suite *io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("input");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_input_plain);
	tcase_add_test(tc, test_input_empty);
	tcase_add_test(tc, test_input_zstd_frames);
	tcase_add_test(tc, test_input_tiny_reads);
	tcase_add_test(tc, test_input_gzip_members);
	tcase_add_test(tc, test_input_magic_not_extension);
	tcase_add_test(tc, test_input_truncated_zstd);
	tcase_add_test(tc, test_input_corrupt_zstd);
	tcase_add_test(tc, test_input_truncated_gzip);
	tcase_add_test(tc, test_input_gzip_garbage);
	tcase_add_test(tc, test_input_errors_sticky);
	tcase_add_test(tc, test_input_open_errors);
	tcase_add_test(tc, test_input_stdin_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_lines_basic);
	tcase_add_test(tc, test_lines_long_then_continue);
	tcase_add_test(tc, test_lines_long_last_line);
	tcase_add_test(tc, test_lines_big_lines);
	tcase_add_test(tc, test_lines_decompression_bomb);
	tcase_add_test(tc, test_lines_truncated_names_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("paths");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_paths_directory);
	tcase_add_test(tc, test_paths_args_and_globs);
	tcase_add_test(tc, test_paths_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("jsonl");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_format_names);
	tcase_add_test(tc, test_jsonl_records);
	tcase_add_test(tc, test_jsonl_errors_recoverable);
	tcase_add_test(tc, test_jsonl_error_position_and_raw);
	tcase_add_test(tc, test_jsonl_too_long);
	tcase_add_test(tc, test_jsonl_compressed_not_recoverable);
	tcase_add_test(tc, test_reader_auto_detect);
	tcase_add_test(tc, test_reader_stdin);
	suite_add_tcase(s, tc);

	tc = tcase_create("csv");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_csv_matches_jansson);
	tcase_add_test(tc, test_csv_quoted_newlines);
	tcase_add_test(tc, test_csv_crlf_bom_blank_lines);
	tcase_add_test(tc, test_csv_header_names);
	tcase_add_test(tc, test_csv_no_header);
	tcase_add_test(tc, test_csv_field_count);
	tcase_add_test(tc, test_csv_bad_quoting);
	tcase_add_test(tc, test_csv_raw_rows);
	tcase_add_test(tc, test_csv_invalid_utf8);
	tcase_add_test(tc, test_tsv);
	tcase_add_test(tc, test_csv_row_too_long);
	tcase_add_test(tc, test_csv_gzip_many_rows);
	tcase_add_test(tc, test_csv_lone_cr);
	tcase_add_test(tc, test_csv_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("range");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_range_jsonl);
	tcase_add_test(tc, test_range_jsonl_numbers);
	tcase_add_test(tc, test_range_csv);
	tcase_add_test(tc, test_range_csv_random);
	tcase_add_test(tc, test_range_empty_and_short);
	tcase_add_test(tc, test_split_plan);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(io_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

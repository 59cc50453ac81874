/*
 * input.c - byte streams from files or standard input, decompressed on the
 * fly when they start with zstd or gzip magic bytes.
 *
 * Plain input is read straight into the caller's buffer (after the bytes
 * used for sniffing), so the only copy is the kernel's.  Compressed input is
 * read in large chunks into a private buffer and decoded into the caller's.
 * Any failure is sticky: later reads report the same problem again.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "io/iopriv.h"
#include "winnow/io.h"

/* Compressed bytes read per read(2). */
#define WN_INPUT_CHUNK ((size_t)1 << 20)
/* Enough to recognise any magic number. */
#define WN_INPUT_SNIFF 4

struct wn_input {
	int fd;
	int own_fd;
	char *name;
	enum wn_compression comp;
	uint64_t size;
	uint64_t consumed;

	/* Compressed bytes (or, for plain input, the sniffed prefix). */
	unsigned char *ibuf;
	size_t icap, ipos, ilen;
	int ieof;

	ZSTD_DCtx *zd;
	size_t zret;    /* last ZSTD_decompressStream result: 0 = frame done */
	int zflush;     /* output was full: the decoder may hold more */

	z_stream zs;
	int zs_ready;
	int gz_member_done;

	/* Sticky failure: status, what happened, errno for WN_EIO. */
	int fail;
	const char *fail_what;
	const char *fail_detail;
	int fail_errno;
};

static int input_fail(struct wn_input *in, int status, const char *what,
                      const char *detail, int errnum)
{
	in->fail = status;
	in->fail_what = what;
	in->fail_detail = detail;
	in->fail_errno = errnum;
	return status;
}

static int input_report(const struct wn_input *in, uint64_t line,
                        struct wn_error *err)
{
	if (in->fail == WN_EIO || in->fail == WN_ENOMEM) {
		if (in->fail_errno)
			return wn_error_set(err, in->fail, in->name, line, "%s: %s",
			                    in->fail_what, strerror(in->fail_errno));
		return wn_error_set(err, in->fail, in->name, line, "%s", in->fail_what);
	}
	if (in->fail_detail)
		return wn_error_set(err, in->fail, in->name, line, "%s: %s",
		                    in->fail_what, in->fail_detail);
	return wn_error_set(err, in->fail, in->name, line, "%s", in->fail_what);
}

/* read(2) that retries on EINTR; returns bytes read, 0 at end, -1 on error
 * (recorded in the input). */
static ssize_t input_sysread(struct wn_input *in, void *buf, size_t cap)
{
	ssize_t n;
	do
		n = read(in->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		input_fail(in, WN_EIO, "read error", NULL, errno);
		return -1;
	}
	if (n == 0)
		in->ieof = 1;
	in->consumed += (uint64_t)n;
	return n;
}

/* Refill ibuf after it was used up.  Returns bytes added, 0 at the end,
 * -1 on error. */
static ssize_t input_refill(struct wn_input *in)
{
	assert(in->ipos == in->ilen);
	in->ipos = in->ilen = 0;
	if (in->ieof)
		return 0;
	ssize_t n = input_sysread(in, in->ibuf, in->icap);
	if (n > 0)
		in->ilen = (size_t)n;
	return n;
}

static int is_zstd_magic(const unsigned char *b, size_t n)
{
	if (n < 4)
		return 0;
	if (b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD)
		return 1;
	/* A skippable frame (0x184D2A50..5F) can start a zstd stream too. */
	return (b[0] & 0xF0) == 0x50 && b[1] == 0x2A && b[2] == 0x4D && b[3] == 0x18;
}

static int input_sniff(struct wn_input *in)
{
	/* A pipe may deliver the first bytes in pieces. */
	while (in->ilen < WN_INPUT_SNIFF && !in->ieof) {
		ssize_t n = input_sysread(in, in->ibuf + in->ilen, in->icap - in->ilen);
		if (n < 0)
			return in->fail;
		in->ilen += (size_t)n;
	}
	if (is_zstd_magic(in->ibuf, in->ilen)) {
		in->zd = ZSTD_createDCtx();
		if (!in->zd)
			return input_fail(in, WN_ENOMEM, "out of memory", NULL, 0);
		in->comp = WN_COMP_ZSTD;
		in->zret = 1;
	} else if (in->ilen >= 2 && in->ibuf[0] == 0x1F && in->ibuf[1] == 0x8B) {
		/* 15 + 16: the largest window, with a gzip header and trailer. */
		if (inflateInit2(&in->zs, 15 + 16) != Z_OK)
			return input_fail(in, WN_ENOMEM, "out of memory", NULL, 0);
		in->zs_ready = 1;
		in->comp = WN_COMP_GZIP;
	} else {
		in->comp = WN_COMP_NONE;
	}
	return WN_OK;
}

int wn_input_open(struct wn_input **inp, const char *path, struct wn_error *err)
{
	*inp = NULL;
	struct wn_input *in = calloc(1, sizeof(*in));
	if (!in)
		return wn_error_set(err, WN_ENOMEM, path, 0, "out of memory");
	int is_stdin = strcmp(path, "-") == 0;
	in->name = strdup(is_stdin ? "<stdin>" : path);
	in->icap = WN_INPUT_CHUNK;
	in->ibuf = malloc(in->icap);
	in->fd = -1;
	if (!in->name || !in->ibuf) {
		wn_input_close(in);
		return wn_error_set(err, WN_ENOMEM, path, 0, "out of memory");
	}
	if (is_stdin) {
		in->fd = 0;
	} else {
		do
			in->fd = open(path, O_RDONLY | O_CLOEXEC);
		while (in->fd < 0 && errno == EINTR);
		if (in->fd < 0) {
			int e = errno;
			wn_input_close(in);
			return wn_error_set(err, e == ENOMEM ? WN_ENOMEM : WN_EIO, path, 0,
			                    "%s", strerror(e));
		}
		in->own_fd = 1;
	}
	struct stat st;
	if (fstat(in->fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			wn_error_set(err, WN_EIO, in->name, 0, "%s", strerror(EISDIR));
			wn_input_close(in);
			return WN_EIO;
		}
		if (S_ISREG(st.st_mode)) {
			in->size = (uint64_t)st.st_size;
			posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		}
	}
	int st_sniff = input_sniff(in);
	if (st_sniff < 0) {
		input_report(in, 0, err);
		wn_input_close(in);
		return st_sniff;
	}
	*inp = in;
	return WN_OK;
}

void wn_input_close(struct wn_input *in)
{
	if (!in)
		return;
	if (in->own_fd && in->fd >= 0)
		close(in->fd);
	ZSTD_freeDCtx(in->zd);
	if (in->zs_ready)
		inflateEnd(&in->zs);
	free(in->ibuf);
	free(in->name);
	free(in);
}

static int read_plain(struct wn_input *in, unsigned char *buf, size_t cap, size_t *got)
{
	if (in->ipos < in->ilen) {
		size_t n = in->ilen - in->ipos;
		if (n > cap)
			n = cap;
		memcpy(buf, in->ibuf + in->ipos, n);
		in->ipos += n;
		*got = n;
		if (in->ipos == in->ilen) {
			/* Plain input reads into the caller's buffer from now on. */
			free(in->ibuf);
			in->ibuf = NULL;
			in->icap = in->ipos = in->ilen = 0;
		}
		return WN_OK;
	}
	if (in->ieof)
		return WN_OK;
	ssize_t n = input_sysread(in, buf, cap);
	if (n < 0)
		return in->fail;
	*got = (size_t)n;
	return WN_OK;
}

static int read_zstd(struct wn_input *in, unsigned char *buf, size_t cap, size_t *got)
{
	ZSTD_outBuffer out = { buf, cap, 0 };
	for (;;) {
		if (in->ipos == in->ilen && !in->zflush) {
			ssize_t n = input_refill(in);
			if (n < 0)
				return in->fail;
			if (n == 0) {
				/* zret != 0: the decoder still expects input. */
				if (in->zret != 0)
					return input_fail(in, WN_EDATA, "truncated zstd data",
					                  NULL, 0);
				break;
			}
		}
		ZSTD_inBuffer zin = { in->ibuf, in->ilen, in->ipos };
		size_t out0 = out.pos;
		size_t r = ZSTD_decompressStream(in->zd, &out, &zin);
		int progress = zin.pos > in->ipos || out.pos > out0;
		in->ipos = zin.pos;
		if (ZSTD_isError(r)) {
			if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
				return input_fail(in, WN_ENOMEM, "out of memory", NULL, 0);
			return input_fail(in, WN_EDATA, "corrupt zstd data",
			                  ZSTD_getErrorName(r), 0);
		}
		/* Between frames, a call without input returns the size of the
		 * next frame header: that is no frame in progress. */
		if (r == 0 || progress)
			in->zret = r;
		in->zflush = r != 0 && out.pos == out.size;
		if (out.pos > 0)
			break;
	}
	*got = out.pos;
	return WN_OK;
}

static int read_gzip(struct wn_input *in, unsigned char *buf, size_t cap, size_t *got)
{
	z_stream *zs = &in->zs;
	/* zlib counts in uInt. */
	if (cap > (size_t)1 << 30)
		cap = (size_t)1 << 30;
	zs->next_out = buf;
	zs->avail_out = (uInt)cap;
	while (zs->avail_out == cap) {
		if (in->ipos == in->ilen) {
			ssize_t n = input_refill(in);
			if (n < 0)
				return in->fail;
			if (n == 0) {
				if (!in->gz_member_done)
					return input_fail(in, WN_EDATA, "truncated gzip data",
					                  NULL, 0);
				break;
			}
		}
		if (in->gz_member_done) {
			/* Another member may follow; anything else is an error. */
			const unsigned char *p = in->ibuf + in->ipos;
			if (p[0] != 0x1F || (in->ilen - in->ipos >= 2 && p[1] != 0x8B))
				return input_fail(in, WN_EDATA, "trailing garbage after gzip data",
				                  NULL, 0);
			if (inflateReset(zs) != Z_OK)
				return input_fail(in, WN_EINTERNAL, "inflateReset failed",
				                  NULL, 0);
			in->gz_member_done = 0;
		}
		zs->next_in = in->ibuf + in->ipos;
		zs->avail_in = (uInt)(in->ilen - in->ipos);
		int r = inflate(zs, Z_NO_FLUSH);
		in->ipos = in->ilen - zs->avail_in;
		switch (r) {
		case Z_STREAM_END:
			in->gz_member_done = 1;
			break;
		case Z_OK:
		case Z_BUF_ERROR: /* needs more input */
			break;
		case Z_MEM_ERROR:
			return input_fail(in, WN_ENOMEM, "out of memory", NULL, 0);
		default:
			return input_fail(in, WN_EDATA, "corrupt gzip data",
			                  zs->msg ? zs->msg : "invalid data", 0);
		}
	}
	*got = cap - zs->avail_out;
	return WN_OK;
}

int wn_input_read_at(struct wn_input *in, void *buf, size_t cap, size_t *got,
                     uint64_t line, struct wn_error *err)
{
	assert(cap > 0);
	*got = 0;
	if (in->fail)
		return input_report(in, line, err);
	int st;
	switch (in->comp) {
	case WN_COMP_ZSTD:
		st = read_zstd(in, buf, cap, got);
		break;
	case WN_COMP_GZIP:
		st = read_gzip(in, buf, cap, got);
		break;
	default:
		st = read_plain(in, buf, cap, got);
		break;
	}
	if (st < 0) {
		*got = 0;
		return input_report(in, line, err);
	}
	return WN_OK;
}

int wn_input_read(struct wn_input *in, void *buf, size_t cap, size_t *got,
                  struct wn_error *err)
{
	return wn_input_read_at(in, buf, cap, got, 0, err);
}

const char *wn_input_name(const struct wn_input *in)
{
	return in->name;
}

enum wn_compression wn_input_compression(const struct wn_input *in)
{
	return in->comp;
}

uint64_t wn_input_size(const struct wn_input *in)
{
	return in->size;
}

uint64_t wn_input_consumed(const struct wn_input *in)
{
	return in->consumed;
}

/*
 * ds_util.c - small pieces of the dataset module: hex, names, formats and
 * token types, split assignment, whole writes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "winnow/dataset.h"
#include "dataset/ds_int.h"

void wn_ds_hex(char *out, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int wn_ds_unhex(unsigned char *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Length of the run of split-name characters at s. */
static size_t name_span(const char *s)
{
	size_t n = 0;

	while (is_name_char(s[n]))
		n++;
	return n;
}

int wn_ds_split_name_ok(const char *s)
{
	size_t n = name_span(s);

	return n > 0 && n <= WN_DS_SPLIT_MAX && s[n] == '\0';
}

/* Skip 5 or more digits; NULL when there are fewer. */
static const char *skip_index(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n >= 5 ? s + n : NULL;
}

/* ---- formats ------------------------------------------------------------ */

static const struct wn_ds_format formats[] = {
	[WN_SHARD_JSONL] = { WN_DS_SHARD_FORMAT, 1, { { WN_DS_SHARD_EXT, NULL } } },
	[WN_SHARD_MEGATRON] = { "megatron", 2, { { ".bin", "tokens" }, { ".idx", "index" } } },
	[WN_SHARD_DATATROVE] = { "datatrove", 3, { { ".ds", "tokens" },
	                                           { ".ds.index", "index" },
	                                           { ".ds.metadata", "metadata" } } },
	[WN_SHARD_NANOGPT] = { "nanogpt", 1, { { ".bin", "tokens" } } },
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const struct wn_ds_format *wn_ds_format_of(enum wn_shard_format f)
{
	return (unsigned)f < NFORMATS ? &formats[f] : NULL;
}

int wn_ds_format_named(const char *name, enum wn_shard_format *f)
{
	for (size_t i = 0; i < NFORMATS; i++) {
		if (strcmp(formats[i].name, name) == 0) {
			*f = (enum wn_shard_format)i;
			return 0;
		}
	}
	return -1;
}

/* A file extension of some format ends the name exactly at p. */
static int known_ext(const char *p, const char *suffix)
{
	size_t n = strlen(p), sl = strlen(suffix);

	if (n < sl || strcmp(p + n - sl, suffix) != 0)
		return 0;
	n -= sl;
	for (size_t i = 0; i < NFORMATS; i++)
		for (size_t j = 0; j < formats[i].nfiles; j++)
			if (strlen(formats[i].files[j].ext) == n &&
			    strncmp(p, formats[i].files[j].ext, n) == 0)
				return 1;
	return 0;
}

int wn_ds_is_shard_name(const char *base)
{
	int tmp = base[0] == '.';
	const char *p = base + tmp;
	size_t n = name_span(p);

	if (n == 0 || n > WN_DS_SPLIT_MAX || p[n] != '-')
		return 0;
	p = skip_index(p + n + 1);
	if (!p)
		return 0;
	if (tmp)
		return known_ext(p, WN_DS_TMP_EXT);
	if (strncmp(p, "-of-", 4) != 0)
		return 0;
	p = skip_index(p + 4);
	return p && known_ext(p, "");
}

/* ---- token types ----------------------------------------------------------- */

enum wn_ds_dtype wn_ds_dtype_for(enum wn_shard_format f, uint32_t vocab_size)
{
	if (f == WN_SHARD_MEGATRON)
		return vocab_size < 65500 ? WN_DS_UINT16 : WN_DS_INT32;
	return vocab_size > 65536 ? WN_DS_UINT32 : WN_DS_UINT16;
}

const char *wn_ds_dtype_name(enum wn_ds_dtype d)
{
	return d == WN_DS_UINT16 ? "uint16" : d == WN_DS_UINT32 ? "uint32" : "int32";
}

unsigned wn_ds_dtype_size(enum wn_ds_dtype d)
{
	return d == WN_DS_UINT16 ? 2 : 4;
}

int wn_ds_dtype_named(enum wn_shard_format f, const char *name, enum wn_ds_dtype *d)
{
	if (f == WN_SHARD_JSONL)
		return -1;
	if (strcmp(name, "uint16") == 0)
		*d = WN_DS_UINT16;
	else if (strcmp(name, f == WN_SHARD_MEGATRON ? "int32" : "uint32") == 0)
		*d = f == WN_SHARD_MEGATRON ? WN_DS_INT32 : WN_DS_UINT32;
	else
		return -1;
	return 0;
}

unsigned wn_ds_idx_code(enum wn_ds_dtype d)
{
	/* Megatron's DType enum: int32 = 4, uint16 = 8. */
	return d == WN_DS_UINT16 ? 8 : 4;
}

uint64_t wn_ds_idx_size(uint64_t sequences)
{
	/* lengths (4), offsets (8) and document indices (8, one more) */
	return WN_DS_IDX_HEADER + 20 * sequences + 8;
}

/*
 * humanize.metric(count, unit="T") as datatrove calls it: three significant
 * digits and an SI prefix, "0.00 T", "12.3 kT", "1.50 GT".  The division is
 * exact in binary or correctly rounded, and printf rounds like Python's
 * format, so the digits agree for any count below 2^53.
 */
static int add_metric(struct wn_buf *out, uint64_t n)
{
	static const char prefixes[] = "kMGTPE";
	unsigned exp = 0, group;
	double scale = 1, v;

	for (uint64_t x = n; x >= 10; x /= 10)
		exp++;
	group = exp / 3;
	for (unsigned i = 0; i < group; i++)
		scale *= 1000;
	v = (double)n / scale;
	if (group == 0)
		return wn_buf_printf(out, "%.*f T", (int)(2 - exp % 3), v);
	return wn_buf_printf(out, "%.*f %cT", (int)(2 - exp % 3), v, prefixes[group - 1]);
}

int wn_ds_datatrove_metadata(struct wn_buf *out, const char *tokenizer, unsigned token_size,
                             uint64_t tokens)
{
	/* The merger splits the first line at '|' and datatrove writes
	 * "Unknown Tokenizer" for want of a name. */
	if (!tokenizer[0])
		tokenizer = "Unknown Tokenizer";
	for (const unsigned char *p = (const unsigned char *)tokenizer; *p; p++)
		WN_TRY(wn_buf_addc(out, (char)(*p == '|' || *p < 0x20 ? '_' : *p)));
	WN_TRY(wn_buf_printf(out, "|%u\n%" PRIu64 "\n", token_size, tokens));
	return add_metric(out, tokens);
}

int wn_ds_shard_cmp(const void *a, const void *b)
{
	const struct wn_ds_shard *x = *(const struct wn_ds_shard *const *)a;
	const struct wn_ds_shard *y = *(const struct wn_ds_shard *const *)b;

	return strcmp(x->path, y->path);
}

int wn_split_pick(const void *key, size_t len, uint64_t seed, double fraction)
{
	uint64_t h = XXH3_64bits_withSeed(key, len, seed);

	/* The top 53 bits are exactly representable: u is uniform in [0, 1). */
	double u = (double)(h >> 11) * 0x1.0p-53;

	return u < fraction;
}

int wn_ds_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * ds_util.c - small pieces of the dataset module: hex, names, split
 * assignment.
 */
#include <stdint.h>
#include <string.h>

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
		return strcmp(p, WN_DS_SHARD_EXT WN_DS_TMP_EXT) == 0;
	if (strncmp(p, "-of-", 4) != 0)
		return 0;
	p = skip_index(p + 4);
	return p && strcmp(p, WN_DS_SHARD_EXT) == 0;
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

/*
 * test_json_diff.c - differential test of the JSON scanner against jansson.
 *
 * Generates random JSON texts (nested structures, strings full of escapes
 * and raw UTF-8, numbers at the int64 and double limits, nesting around
 * jansson's depth limit), then mutates them (byte flips, insertions,
 * deletions, truncations, invalid UTF-8, stray NUL bytes), all from a fixed
 * seed, and checks for every text that:
 *   - wn_json_validate accepts it exactly when jansson's json_loadb with
 *     JSON_DECODE_ANY | JSON_ALLOW_NUL does, with the same top-level type;
 *   - for an object, wn_json_get finds every key jansson has, with the
 *     value jansson kept (the last duplicate), and wn_json_unescape of a
 *     string value gives jansson's bytes;
 *   - wn_json_escape of that string gives json_dumpb's bytes.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winnow/buf.h"
#include "winnow/json.h"
#include "winnow/status.h"

#define JSON_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* Check writes a record of every passing ck_assert to a file, which would
 * dominate the run time of this test; here only failures go through Check. */
#define EXPECT(cond, ...)                                                  \
	do {                                                               \
		if (!(cond))                                               \
			ck_abort_msg(__VA_ARGS__);                         \
	} while (0)
#define EXPECT_OK(expr) EXPECT((expr) == WN_OK, "%s failed", #expr)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static size_t below(size_t n)
{
	return (size_t)(((unsigned __int128)rnd() * n) >> 64);
}

static int chance(unsigned percent)
{
	return below(100) < percent;
}

/* A growable byte string; aborts the test on allocation failure. */
struct text {
	struct wn_buf b;
};

static void put(struct text *t, const void *p, size_t n)
{
	EXPECT_OK(wn_buf_add(&t->b, p, n));
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void putc_(struct text *t, int c)
{
	EXPECT_OK(wn_buf_addc(&t->b, (char)c));
}

static void gen_ws(struct text *t)
{
	static const char ws[] = " \t\n\r";
	if (!chance(25))
		return;
	size_t k = 1 + below(3);
	for (size_t i = 0; i < k; i++)
		putc_(t, ws[below(4)]);
	/* Occasionally whitespace jansson does not accept. */
	if (chance(1))
		putc_(t, chance(50) ? '\f' : '\v');
}

static void put_utf8(struct text *t, uint32_t c)
{
	unsigned char u[4];
	size_t n;
	if (c < 0x80) {
		u[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (unsigned char)(0xC0 | c >> 6);
		u[1] = (unsigned char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (unsigned char)(0xE0 | c >> 12);
		u[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		u[2] = (unsigned char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | (c >> 18 & 0x07));
		u[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
		u[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		u[3] = (unsigned char)(0x80 | (c & 0x3F));
		n = 4;
	}
	put(t, u, n);
}

/* Byte sequences at the edges of UTF-8 validity. */
static const char *const utf8_edges[] = {
	"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xEF\xBF\xBF", "\xED\x9F\xBF",
	"\xEE\x80\x80", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "\xEF\xBB\xBF",
	/* invalid: */
	"\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xED\xBF\xBF",
	"\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF",
	"\xFE", "\x80", "\xBF", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "\xC3\x28",
	"\xF8\x88\x80\x80\x80",
};

#define UTF8_EDGES_VALID 9

static void gen_string_body(struct text *t, size_t maxlen)
{
	size_t len = below(maxlen + 1);
	/* Most strings are valid, so that mutations and the structure around
	 * them decide; a few carry invalid content. */
	int dirty = chance(10);
	for (size_t i = 0; i < len; i++) {
		size_t r = below(dirty ? 100 : 93);
		if (r < 55) {
			putc_(t, "abcdefghij klmnop QRSTUV 0123456789.,;:!?'"[below(42)]);
		} else if (r < 65) {
			static const char *const esc[] = { "\\\"", "\\\\", "\\/", "\\b",
				"\\f", "\\n", "\\r", "\\t" };
			puts_(t, esc[below(8)]);
		} else if (r < 75) {
			/* \u escapes, surrogate pairs among them */
			char e[16];
			uint32_t c;
			switch (below(6)) {
			case 0: c = (uint32_t)below(0x80); break;
			case 1: c = (uint32_t)below(0x10000); break;
			case 2: c = 0; break;
			case 3: c = 0xD800 + (uint32_t)below(0x400); break;
			case 4: c = dirty ? 0xDC00 + (uint32_t)below(0x400) : 0xE000; break;
			default: c = 0xFFFF - (uint32_t)below(3); break;
			}
			snprintf(e, sizeof(e), chance(50) ? "\\u%04x" : "\\u%04X", c);
			puts_(t, e);
			if (c >= 0xD800 && c <= 0xDBFF && (!dirty || chance(70))) {
				uint32_t lo = (uint32_t)below(0x10000);
				if (!dirty || chance(70))
					lo = 0xDC00 + (uint32_t)below(0x400);
				snprintf(e, sizeof(e), "\\u%04X", lo);
				puts_(t, e);
			}
		} else if (r < 90) {
			switch (below(4)) {
			case 0: put_utf8(t, 0x80 + (uint32_t)below(0x780)); break;
			case 1: {
				uint32_t c = 0x800 + (uint32_t)below(0xF800);
				if (c >= 0xD800 && c <= 0xDFFF)
					c -= 0x800;
				put_utf8(t, c);
				break;
			}
			case 2: put_utf8(t, 0x10000 + (uint32_t)below(0x100000)); break;
			default: puts_(t, "\xE2\x80\x99"); break;
			}
		} else if (r < 90 + (dirty ? 3 : 1)) {
			size_t k = dirty ? sizeof(utf8_edges) / sizeof(utf8_edges[0]) :
				UTF8_EDGES_VALID;
			puts_(t, utf8_edges[below(k)]);
		} else if (r < 93) {
			/* a long run of plain ASCII, to exercise the vector path */
			static const char run[] = "The quick brown fox jumps over the lazy "
				"dog; pack my box with five dozen liquor jugs. 0123456789";
			put(t, run, 16 + below(sizeof(run) - 17));
		} else if (r < 95) {
			/* a raw control character or DEL */
			putc_(t, chance(20) ? 0x7F : (int)below(0x20));
		} else if (r < 97) {
			/* broken escapes */
			static const char *const bad[] = { "\\x", "\\u12", "\\uZZZZ",
				"\\U0041", "\\", "\\u00G0", "\\'" };
			puts_(t, bad[below(7)]);
		} else {
			size_t k = sizeof(utf8_edges) / sizeof(utf8_edges[0]) - UTF8_EDGES_VALID;
			puts_(t, utf8_edges[UTF8_EDGES_VALID + below(k)]);
		}
	}
}

static void gen_string(struct text *t, size_t maxlen)
{
	putc_(t, '"');
	gen_string_body(t, maxlen);
	putc_(t, '"');
}

static const char *const special_numbers[] = {
	"0", "-0", "1", "-1", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "9223372036854775806",
	"18446744073709551615", "99999999999999999999", "-99999999999999999999",
	"1000000000000000000", "-1000000000000000000", "10000000000000000000",
	"1e308", "1e309", "-1e309", "1.7976931348623157e308", "1.7976931348623158e308",
	"1.7976931348623159e308", "1.797693134862315807937289714053e308",
	"1.797693134862315807937289714054e308", "17976931348623158e292",
	"17976931348623157e292", "0.17976931348623158e309", "0.0000017976931348623158e315",
	"179769313486231580793728971405303415079934132710037826936173778980444968292764750946"
	"649017977587207096330286416692887910946555547851940402630657488671505820681908902000"
	"708383676273854845817711531764475730270069855571366959622842914819860834936475292719"
	"074168444365510704342711559699508093042880177904174497792.0",
	"179769313486231580793728971405303415079934132710037826936173778980444968292764750946"
	"649017977587207096330286416692887910946555547851940402630657488671505820681908902000"
	"708383676273854845817711531764475730270069855571366959622842914819860834936475292719"
	"074168444365510704342711559699508093042880177904174497791.9999999999999999999999",
	"179769313486231580793728971405303415079934132710037826936173778980444968292764750946"
	"649017977587207096330286416692887910946555547851940402630657488671505820681908902000"
	"708383676273854845817711531764475730270069855571366959622842914819860834936475292719"
	"074168444365510704342711559699508093042880177904174497792000e-3",
	"1e-400", "-1e-400", "4.9e-324", "2e-324", "2.5e-324", "1e-9999999999999999999",
	"1e9999999999999999999", "0e99999999", "0.0e400", "0.000e-5", "1E+2", "1e-2",
	"1.5", "-0.0", "123.456e78", "1e00000000000000000308", "1e00000000000000000309",
	"00", "01", "-", "-01", "1.", ".5", "1e", "1e+", "+1", "1.e5", "0x10", "1.5.5",
	"--1", "1e5e5", "Infinity", "NaN", "-Infinity",
};

static void gen_number(struct text *t)
{
	char b[64];
	switch (below(6)) {
	case 0:
		puts_(t, special_numbers[below(sizeof(special_numbers) /
					       sizeof(special_numbers[0]))]);
		break;
	case 1: {
		/* sequenced: the order of two rnd() calls in one expression
		 * would be up to the compiler */
		unsigned shift = (unsigned)below(64);
		long long v = (long long)(rnd() >> shift);
		snprintf(b, sizeof(b), "%lld", chance(50) ? v : -v);
		puts_(t, b);
		break;
	}
	case 2: {
		/* 17 to 21 digits around the int64 limits */
		const char *base = chance(50) ? "922337203685477580" : "-922337203685477580";
		puts_(t, base);
		size_t k = below(4);
		for (size_t i = 0; i < k; i++)
			putc_(t, '0' + (int)below(10));
		break;
	}
	case 3: {
		int prec = 1 + (int)below(17);
		double num = (double)(int64_t)rnd();
		unsigned shift = (unsigned)below(64);
		double den = (double)(1 + (rnd() >> shift));
		snprintf(b, sizeof(b), "%.*g", prec, num / den);
		puts_(t, b);
		break;
	}
	case 4: {
		/* mantissa and exponent near the limits of double */
		const char *sign = chance(30) ? "-" : "";
		unsigned ip = (unsigned)below(20);
		unsigned fp = (unsigned)below(1000000);
		const char *esign = chance(50) ? "" : "+";
		int e = (int)below(40);
		e += chance(50) ? 290 : -345;
		snprintf(b, sizeof(b), "%s%u.%ue%s%d", sign, ip, fp, esign, e);
		puts_(t, b);
		break;
	}
	default:
		snprintf(b, sizeof(b), "%u", (unsigned)below(100000));
		puts_(t, b);
		break;
	}
}

static const char *const key_pool[] = {
	"text", "id", "metadata", "a", "", "t\\u0065xt", "\\u0074ext", "te\\\"xt",
	"\\ud83d\\ude00", "\xF0\x9F\x98\x80", "caf\xC3\xA9", "caf\\u00e9", "\\n",
	"\\/", "/", "k\\u0000", "url",
};

static void gen_value(struct text *t, int depth);

static void gen_key(struct text *t)
{
	if (chance(80)) {
		putc_(t, '"');
		puts_(t, key_pool[below(sizeof(key_pool) / sizeof(key_pool[0]))]);
		putc_(t, '"');
	} else {
		gen_string(t, 6);
	}
}

static void gen_value(struct text *t, int depth)
{
	size_t r = below(100);
	if (depth > 5 && r < 40)
		r += 40;
	gen_ws(t);
	if (r < 20) {
		putc_(t, '{');
		gen_ws(t);
		size_t k = below(6);
		for (size_t i = 0; i < k; i++) {
			if (i) {
				putc_(t, ',');
				gen_ws(t);
			}
			gen_key(t);
			gen_ws(t);
			putc_(t, ':');
			gen_value(t, depth + 1);
		}
		putc_(t, '}');
	} else if (r < 35) {
		putc_(t, '[');
		size_t k = below(6);
		for (size_t i = 0; i < k; i++) {
			if (i)
				putc_(t, ',');
			gen_value(t, depth + 1);
		}
		gen_ws(t);
		putc_(t, ']');
	} else if (r < 65) {
		gen_string(t, chance(10) ? 150 : 20);
	} else if (r < 88) {
		gen_number(t);
		if (chance(3))
			putc_(t, '\0');
	} else {
		static const char *const lit[] = { "true", "false", "null" };
		puts_(t, lit[below(3)]);
		if (chance(5))
			putc_(t, '\0');
	}
	gen_ws(t);
}

/* A JSONL-like record: an object with a long text field and metadata. */
static void gen_record(struct text *t)
{
	puts_(t, "{\"text\": ");
	gen_string(t, 200);
	if (chance(50)) {
		puts_(t, ", \"id\": ");
		if (chance(50))
			gen_string(t, 10);
		else
			gen_number(t);
	}
	if (chance(40)) {
		puts_(t, ", \"metadata\": ");
		gen_value(t, 3);
	}
	if (chance(20)) {
		puts_(t, ", ");
		gen_key(t);
		putc_(t, ':');
		gen_value(t, 4);
	}
	putc_(t, '}');
}

static const unsigned char interesting[] = {
	'"', '\\', '{', '}', '[', ']', ',', ':', '\0', ' ', '\n', '0', '1', '9', 'e',
	'E', '.', '-', '+', 'u', 't', 'n', 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED,
	0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x1F,
};

static unsigned char some_byte(void)
{
	if (chance(70))
		return interesting[below(sizeof(interesting))];
	return (unsigned char)below(256);
}

static void mutate(struct text *t)
{
	struct wn_buf *b = &t->b;
	size_t rounds = 1 + below(3);
	for (size_t r = 0; r < rounds; r++) {
		size_t n = b->len;
		size_t at = n ? below(n) : 0;
		switch (below(7)) {
		case 0: /* flip */
			if (n)
				b->data[at] = (char)some_byte();
			break;
		case 1: { /* insert */
			unsigned char c = some_byte();
			EXPECT_OK(wn_buf_grow(b, 1));
			memmove(b->data + at + 1, b->data + at, n - at);
			b->data[at] = (char)c;
			b->len++;
			b->data[b->len] = '\0';
			break;
		}
		case 2: /* delete */
			if (n) {
				memmove(b->data + at, b->data + at + 1, n - at - 1);
				wn_buf_truncate(b, n - 1);
			}
			break;
		case 3: /* truncate */
			wn_buf_truncate(b, at);
			break;
		case 4: { /* insert an edge UTF-8 sequence */
			const char *e = utf8_edges[below(sizeof(utf8_edges) /
							 sizeof(utf8_edges[0]))];
			size_t k = strlen(e);
			EXPECT_OK(wn_buf_grow(b, k));
			memmove(b->data + at + k, b->data + at, n - at);
			memcpy(b->data + at, e, k);
			b->len += k;
			b->data[b->len] = '\0';
			break;
		}
		case 5: /* append NUL or whitespace */
			putc_(t, chance(50) ? '\0' : " \t\r\n"[below(4)]);
			break;
		default: /* flip one bit */
			if (n)
				b->data[at] ^= (char)(1 << below(8));
			break;
		}
	}
}

static enum wn_json_type jansson_type(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return WN_JSON_OBJECT;
	case JSON_ARRAY: return WN_JSON_ARRAY;
	case JSON_STRING: return WN_JSON_STRING;
	case JSON_INTEGER: return WN_JSON_INTEGER;
	case JSON_REAL: return WN_JSON_REAL;
	case JSON_TRUE: return WN_JSON_TRUE;
	case JSON_FALSE: return WN_JSON_FALSE;
	case JSON_NULL: return WN_JSON_NULL;
	}
	return WN_JSON_NONE;
}

/* A printable rendering of p[0..n) for failure messages. */
static const char *show(const char *p, size_t n)
{
	static char bufs[2][4096];
	static int which;
	char *out = bufs[which ^= 1];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < sizeof(bufs[0]); i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7F && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(bufs[0]) - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

/* How many texts were valid or not, and how many string fields were
 * compared: each test checks that its generator exercised both sides. */
static unsigned long n_valid, n_invalid, n_fields;

static void expect_mix(unsigned long total, int want_fields)
{
	ck_assert_uint_eq(n_valid + n_invalid, total);
	ck_assert_uint_ge(n_valid, total / 20);
	ck_assert_uint_ge(n_invalid, total / 20);
	if (want_fields)
		ck_assert_uint_ge(n_fields, total / 50);
	n_valid = n_invalid = n_fields = 0;
}

/* Buffers reused from one check to the next: allocation is most of the
 * cost of this test under a sanitizer. */
static struct wn_buf want_buf = WN_BUF_INIT, got_buf = WN_BUF_INIT;

static void check_escape(const char *s, size_t n)
{
	json_t *js = json_stringn(s, n);
	EXPECT(js != NULL, "json_stringn failed on %s", show(s, n));
	size_t need = json_dumpb(js, NULL, 0, JSON_ENCODE_ANY);
	wn_buf_reset(&want_buf);
	EXPECT_OK(wn_buf_grow(&want_buf, need));
	EXPECT(json_dumpb(js, want_buf.data, need, JSON_ENCODE_ANY) == need, "json_dumpb");
	wn_buf_reset(&got_buf);
	EXPECT_OK(wn_json_escape(&got_buf, s, n));
	EXPECT(got_buf.len == need && memcmp(got_buf.data, want_buf.data, need) == 0,
	       "escape differs for %s", show(s, n));
	json_decref(js);
}

static void check_text(const char *p, size_t n);

/* Texts are checked at the very end of a heap block, so that a sanitizer
 * build catches any read past their end. */
#define TEXT_MAX (1 << 20)
static char *text_block;

static void check_one(const char *text, size_t n)
{
	if (!text_block) {
		text_block = malloc(TEXT_MAX);
		EXPECT(text_block != NULL, "out of memory");
	}
	EXPECT(n <= TEXT_MAX, "text of %zu bytes", n);
	char *p = text_block + TEXT_MAX - n;
	memmove(p, text, n);
	check_text(p, n);
}

static void check_text(const char *p, size_t n)
{
	json_error_t jerr;
	json_t *j = json_loadb(p, n, JSON_FLAGS, &jerr);
	enum wn_json_type type = WN_JSON_NONE;
	struct wn_json_error err = { 0, NULL };
	int rc = wn_json_validate(p, n, &type, &err);

	if (!j) {
		EXPECT(rc == -1, "accepted what jansson rejects (%s): %s", jerr.text,
		       show(p, n));
		EXPECT(err.reason && err.offset <= n, "bad error position %zu of %zu",
		       err.offset, n);
		/* lookups in invalid text: unspecified, but within bounds */
		struct wn_json_value iv;
		if (wn_json_get(p, n, "text", 4, &iv) == 1)
			EXPECT(iv.offset + iv.len <= n, "span out of bounds: %s", show(p, n));
		n_invalid++;
		return;
	}
	EXPECT(rc == 0, "rejected what jansson accepts (%s at %zu): %s", err.reason,
	       err.offset, show(p, n));
	EXPECT(type == jansson_type(j), "type %d, jansson %d: %s", type, jansson_type(j),
	       show(p, n));
	n_valid++;

	struct wn_json_value v;
	if (!json_is_object(j)) {
		EXPECT(wn_json_get(p, n, "text", 4, &v) == -1, "lookup in a non-object: %s",
		       show(p, n));
		if (json_is_string(j))
			check_escape(json_string_value(j), json_string_length(j));
		json_decref(j);
		return;
	}
	const char *key;
	json_t *jv;
	struct wn_buf *s = &got_buf;
	json_object_foreach(j, key, jv) {
		size_t klen = strlen(key);
		EXPECT(wn_json_get(p, n, key, klen, &v) == 1, "key '%s' not found in %s",
		       show(key, klen), show(p, n));
		EXPECT(v.type == jansson_type(jv) && v.offset + v.len <= n,
		       "value of '%s' has type %d, jansson %d: %s", show(key, klen), v.type,
		       jansson_type(jv), show(p, n));
		if (!json_is_string(jv))
			continue;
		wn_buf_reset(s);
		EXPECT_OK(wn_json_unescape(p + v.offset, v.len, s));
		EXPECT(s->len == json_string_length(jv) &&
		       memcmp(s->data, json_string_value(jv), s->len) == 0,
		       "value of '%s' differs in %s", show(key, klen), show(p, n));
		EXPECT(v.escaped == (memchr(p + v.offset, '\\', v.len) != NULL),
		       "escaped flag of '%s' in %s", show(key, klen), show(p, n));
		check_escape(json_string_value(jv), json_string_length(jv));
		n_fields++;
	}
	if (!json_object_get(j, "absent"))
		EXPECT(wn_json_get(p, n, "absent", 6, &v) == 0, "absent key found: %s",
		       show(p, n));
	json_decref(j);
}

START_TEST(test_diff_random_values)
{
	struct text t = { WN_BUF_INIT };
	rng_state = 20240601;
	for (int i = 0; i < 60000; i++) {
		wn_buf_reset(&t.b);
		gen_value(&t, 0);
		check_one(t.b.data, t.b.len);
	}
	wn_buf_release(&t.b);
	expect_mix(60000, 1);
}
END_TEST

START_TEST(test_diff_records)
{
	struct text t = { WN_BUF_INIT };
	rng_state = 7;
	for (int i = 0; i < 50000; i++) {
		wn_buf_reset(&t.b);
		gen_record(&t);
		check_one(t.b.data, t.b.len);
	}
	wn_buf_release(&t.b);
	expect_mix(50000, 1);
}
END_TEST

START_TEST(test_diff_mutated)
{
	struct text t = { WN_BUF_INIT };
	rng_state = 99;
	for (int i = 0; i < 100000; i++) {
		wn_buf_reset(&t.b);
		if (chance(50))
			gen_record(&t);
		else
			gen_value(&t, 0);
		mutate(&t);
		check_one(t.b.data, t.b.len);
	}
	wn_buf_release(&t.b);
	expect_mix(100000, 1);
}
END_TEST

START_TEST(test_diff_numbers)
{
	struct text t = { WN_BUF_INIT };
	rng_state = 3;
	for (int i = 0; i < 20000; i++) {
		wn_buf_reset(&t.b);
		gen_number(&t);
		if (chance(20))
			mutate(&t);
		check_one(t.b.data, t.b.len);
	}
	wn_buf_release(&t.b);
	expect_mix(20000, 0);
}
END_TEST

/* Nesting within a few levels of jansson's limit, with empty, scalar and
 * object innermost values and mutations. */
START_TEST(test_diff_deep)
{
	struct text t = { WN_BUF_INIT };
	rng_state = 2048;
	for (int i = 0; i < 600; i++) {
		wn_buf_reset(&t.b);
		size_t depth = 2040 + below(16);
		size_t inner = below(4);
		char kinds[2064];
		for (size_t d = 0; d < depth; d++) {
			kinds[d] = chance(70) ? '[' : '{';
			if (kinds[d] == '[' || (d == depth - 1 && inner == 0))
				putc_(&t, kinds[d]);
			else
				puts_(&t, "{\"k\":");
		}
		switch (inner) {
		case 0: break;
		case 1: putc_(&t, '1'); break;
		case 2: puts_(&t, "{}"); break;
		default: puts_(&t, "\"s\""); break;
		}
		for (size_t d = depth; d-- > 0;)
			putc_(&t, kinds[d] == '[' ? ']' : '}');
		if (chance(20))
			mutate(&t);
		check_one(t.b.data, t.b.len);
	}
	wn_buf_release(&t.b);
	expect_mix(600, 0);
}
END_TEST

static Suite *json_diff_suite(void)
{
	Suite *s = suite_create("json-diff");
	TCase *tc = tcase_create("jansson");
	/* Generous for sanitizer builds; a normal build takes seconds. */
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_diff_random_values);
	tcase_add_test(tc, test_diff_records);
	tcase_add_test(tc, test_diff_mutated);
	tcase_add_test(tc, test_diff_numbers);
	tcase_add_test(tc, test_diff_deep);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(json_diff_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(text_block);
	wn_buf_release(&want_buf);
	wn_buf_release(&got_buf);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

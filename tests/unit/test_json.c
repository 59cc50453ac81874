/*
 * test_json.c - the JSON scanner, field lookup, unescaping, escaping and
 * UTF-8 validation (include/winnow/json.h).  The expected results are
 * jansson 2.14's: json_loadb(JSON_DECODE_ANY | JSON_ALLOW_NUL) for
 * validity, json_dumpb(JSON_ENCODE_ANY) for escaping.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "winnow/buf.h"
#include "winnow/json.h"
#include "winnow/status.h"

/* One validation case: input bytes (NULs allowed) and the expected
 * top-level type, WN_JSON_NONE for "invalid". */
struct vcase {
	const char *in;
	size_t len;
	enum wn_json_type type;
};

#define OK(s, t) { s, sizeof(s) - 1, WN_JSON_##t }
#define BAD(s) { s, sizeof(s) - 1, WN_JSON_NONE }

/* The smallest decimal that strtod() rounds to infinity (2^1024 - 2^970),
 * and the largest integer below it. */
#define REAL_LIMIT                                                          \
	"1797693134862315807937289714053034150799341327100378269361737789804"  \
	"4496829276475094664901797758720709633028641669288791094655554785194" \
	"0402630657488671505820681908902000708383676273854845817711531764475" \
	"7302700698555713669596228429148198608349364752927190741684443655107" \
	"04342711559699508093042880177904174497792"
#define REAL_BELOW_LIMIT                                                    \
	"1797693134862315807937289714053034150799341327100378269361737789804"  \
	"4496829276475094664901797758720709633028641669288791094655554785194" \
	"0402630657488671505820681908902000708383676273854845817711531764475" \
	"7302700698555713669596228429148198608349364752927190741684443655107" \
	"04342711559699508093042880177904174497791"

static const struct vcase validate_cases[] = {
	/* scalars and empty containers */
	OK("{}", OBJECT),
	OK("[]", ARRAY),
	OK("\"\"", STRING),
	OK("\"abc\"", STRING),
	OK("0", INTEGER),
	OK("-0", INTEGER),
	OK("42", INTEGER),
	OK("1.5", REAL),
	OK("-0.0", REAL),
	OK("-1e5", REAL),
	OK("1E+2", REAL),
	OK("1e-2", REAL),
	OK("true", TRUE),
	OK("false", FALSE),
	OK("null", NULL),
	/* whitespace: only space, tab, newline and carriage return */
	OK(" \t\n\r{} \r\n\t", OBJECT),
	OK("\n1\n", INTEGER),
	BAD(""),
	BAD(" "),
	BAD("\n\t "),
	BAD("\f1"),
	BAD("1\v"),
	BAD("\xC2\xA0" "1"),
	/* a UTF-8 byte order mark is not whitespace */
	BAD("\xEF\xBB\xBF{}"),
	/* integers must fit in int64 */
	OK("9223372036854775807", INTEGER),
	OK("-9223372036854775808", INTEGER),
	BAD("9223372036854775808"),
	BAD("-9223372036854775809"),
	BAD("10000000000000000000"),
	BAD("99999999999999999999"),
	OK("999999999999999999", INTEGER),
	/* reals may underflow but not overflow */
	OK("1e-400", REAL),
	OK("-1e-400", REAL),
	OK("4.9e-324", REAL),
	OK("1e308", REAL),
	OK("1.7976931348623157e308", REAL),
	OK("1.7976931348623158e308", REAL),
	BAD("1.797693134862315808e308"),
	BAD("1.7976931348623159e308"),
	BAD("1e309"),
	BAD("-1e309"),
	BAD("1e9999999999999999999999"),
	OK("1e-9999999999999999999999", REAL),
	OK("0e9999999999999999999999", REAL),
	OK("0.000e400", REAL),
	OK("0.00001e313", REAL),
	BAD("0.00001e314"),
	OK("1e000000000000000000308", REAL),
	OK(REAL_BELOW_LIMIT ".0", REAL),
	OK(REAL_BELOW_LIMIT ".999999999999999999999", REAL),
	BAD(REAL_LIMIT ".0"),
	BAD(REAL_LIMIT "e0"),
	BAD("-" REAL_LIMIT ".0"),
	BAD(REAL_LIMIT "0000.0e-1"),
	OK(REAL_LIMIT "e-1", REAL),
	/* number grammar */
	BAD("01"),
	BAD("-01"),
	BAD("00"),
	BAD("-"),
	BAD("1."),
	BAD(".5"),
	BAD("1e"),
	BAD("1e+"),
	BAD("1E-"),
	BAD("+1"),
	BAD("0x10"),
	BAD("1.5.5"),
	BAD("1e5e5"),
	BAD("--1"),
	BAD("1.e5"),
	BAD("Infinity"),
	BAD("-Infinity"),
	BAD("NaN"),
	BAD("1 2"),
	/* literals */
	BAD("tru"),
	BAD("truex"),
	BAD("True"),
	BAD("nul"),
	BAD("nulll"),
	BAD("falsee"),
	BAD("undefined"),
	/* jansson drops one NUL byte right after a number or literal */
	OK("1\0", INTEGER),
	OK("-1.5e3\0", REAL),
	OK("true\0", TRUE),
	OK("null\0 ", NULL),
	OK("[1\0,false\0]", ARRAY),
	OK("{\"a\":0\0}", OBJECT),
	BAD("1\0\0"),
	BAD("1 \0"),
	BAD("\0"),
	BAD("\0" "1"),
	BAD("\"a\"\0"),
	BAD("{}\0"),
	BAD("[]\0"),
	BAD("{\"a\":\"b\"\0}"),
	/* strings: escapes */
	OK("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", STRING),
	OK("\"\\u0041\\u00e9\\u20AC\"", STRING),
	OK("\"\\u0000\"", STRING),
	OK("\"\\ud83d\\ude00\"", STRING),
	OK("\"\\uD83D\\uDE00\"", STRING),
	OK("\"\\uDBFF\\uDFFF\"", STRING),
	OK("\"\\uFFFF\"", STRING),
	BAD("\"\\ud83d\""),
	BAD("\"\\ud83dx\""),
	BAD("\"\\ud83d\\n\""),
	BAD("\"\\ud83d\\u0041\""),
	BAD("\"\\ud83d\\ud83d\""),
	BAD("\"\\ude00\""),
	BAD("\"\\ude00\\ud83d\""),
	BAD("\"\\u12\""),
	BAD("\"\\u12G4\""),
	BAD("\"\\U0041\""),
	BAD("\"\\x41\""),
	BAD("\"\\'\""),
	BAD("\"\\a\""),
	BAD("\"\\\""),
	BAD("\"\\"),
	/* strings: raw bytes */
	OK("\"\x7F\"", STRING),
	OK("\" ~\"", STRING),
	BAD("\"\t\""),
	BAD("\"\n\""),
	BAD("\"\x01\""),
	BAD("\"\x1F\""),
	BAD("\"a\0b\""),
	BAD("\"abc"),
	BAD("\""),
	BAD("'a'"),
	/* strings: UTF-8 */
	OK("\"\xC2\x80\xDF\xBF\"", STRING),
	OK("\"\xE0\xA0\x80\xEF\xBF\xBF\"", STRING),
	OK("\"\xED\x9F\xBF\xEE\x80\x80\"", STRING),
	OK("\"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"", STRING),
	OK("\"\xEF\xBB\xBF\"", STRING),
	BAD("\"\xC0\x80\""),
	BAD("\"\xC1\xBF\""),
	BAD("\"\xE0\x9F\xBF\""),
	BAD("\"\xED\xA0\x80\""),
	BAD("\"\xED\xBF\xBF\""),
	BAD("\"\xF0\x8F\xBF\xBF\""),
	BAD("\"\xF4\x90\x80\x80\""),
	BAD("\"\xF5\x80\x80\x80\""),
	BAD("\"\xF8\x88\x80\x80\x80\""),
	BAD("\"\xFF\""),
	BAD("\"\x80\""),
	BAD("\"\xC3\""),
	BAD("\"\xC3\x28\""),
	BAD("\"\xE2\x82\""),
	BAD("\"\xF0\x9F\x98\""),
	BAD("\xC3\xA9"),
	BAD("[\xC3\xA9]"),
	/* structure */
	OK("[[[]]]", ARRAY),
	OK("[1,\"a\",[],{},true,null,-2.5]", ARRAY),
	OK("{\"a\":{\"b\":[1,{\"c\":null}]}}", OBJECT),
	OK("{ \"a\" : 1 , \"b\" : [ ] }", OBJECT),
	OK("{\"a\":1,\"a\":2}", OBJECT),
	OK("{\"\":0}", OBJECT),
	OK("{\"\\u0041\":0}", OBJECT),
	OK("{\"a\":\"\\u0000\"}", OBJECT),
	/* jansson cannot store a key containing U+0000 */
	BAD("{\"\\u0000\":1}"),
	BAD("{\"a\\u0000b\":1}"),
	BAD("[1,]"),
	BAD("[,1]"),
	BAD("[,]"),
	BAD("{\"a\":1,}"),
	BAD("{,}"),
	BAD("{\"a\"}"),
	BAD("{\"a\" 1}"),
	BAD("{\"a\":}"),
	BAD("{1:2}"),
	BAD("{a:2}"),
	BAD("{'a':2}"),
	BAD("[1 2]"),
	BAD("[1}"),
	BAD("{\"a\":1]"),
	BAD("]"),
	BAD("}"),
	BAD(":"),
	BAD(","),
	BAD("[[]"),
	BAD("[]]"),
	BAD("{"),
	BAD("["),
	BAD("{\"a\":1"),
	BAD("{\"a\":1,"),
	BAD("{} {}"),
	BAD("{}x"),
	BAD("[]/**/"),
	BAD("// c\n1"),
};

START_TEST(test_validate_table)
{
	const struct vcase *c = &validate_cases[_i];
	enum wn_json_type type = WN_JSON_NONE;
	struct wn_json_error err = { 0, NULL };
	int rc = wn_json_validate(c->in, c->len, &type, &err);

	if (c->type == WN_JSON_NONE) {
		ck_assert_msg(rc == -1, "case %d accepted", _i);
		ck_assert_ptr_nonnull(err.reason);
		ck_assert_uint_le(err.offset, c->len);
	} else {
		ck_assert_msg(rc == 0, "case %d rejected: %s at %zu", _i, err.reason,
			      err.offset);
		ck_assert_int_eq(type, c->type);
	}
}
END_TEST

static enum wn_json_type type_of(const json_t *j)
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

/* The table itself is checked against jansson, so it cannot drift from the
 * reference it claims to describe. */
START_TEST(test_validate_table_matches_jansson)
{
	const struct vcase *c = &validate_cases[_i];
	json_error_t jerr;
	json_t *j = json_loadb(c->in, c->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (c->type == WN_JSON_NONE) {
		ck_assert_msg(j == NULL, "case %d: jansson accepts it", _i);
	} else {
		ck_assert_msg(j != NULL, "case %d: jansson rejects it: %s", _i, jerr.text);
		ck_assert_int_eq(type_of(j), c->type);
	}
	json_decref(j);
}
END_TEST

START_TEST(test_validate_optional_outputs)
{
	ck_assert_int_eq(wn_json_validate("[1]", 3, NULL, NULL), 0);
	ck_assert_int_eq(wn_json_validate("[1", 2, NULL, NULL), -1);
	/* only n bytes are read: what follows does not matter */
	ck_assert_int_eq(wn_json_validate("12345", 2, NULL, NULL), 0);
	ck_assert_int_eq(wn_json_validate("\"ab\"cd", 4, NULL, NULL), 0);
	ck_assert_int_eq(wn_json_validate("\"abcd\"", 4, NULL, NULL), -1);
}
END_TEST

static void expect_error(const char *in, size_t len, size_t offset, const char *reason)
{
	struct wn_json_error err = { 0, NULL };
	ck_assert_int_eq(wn_json_validate(in, len, NULL, &err), -1);
	ck_assert_uint_eq(err.offset, offset);
	ck_assert_str_eq(err.reason, reason);
}

START_TEST(test_validate_error_positions)
{
	expect_error("[1,]", 4, 3, "invalid value");
	expect_error("", 0, 0, "empty input");
	expect_error("  ", 2, 2, "empty input");
	expect_error("{\"a\":1", 6, 6, "unexpected end of input");
	expect_error("\"ab\xC0\x80\"", 6, 3, "invalid UTF-8");
	expect_error("[\"ab", 4, 4, "unterminated string");
	expect_error("\"a\tb\"", 5, 2, "control character in string");
	expect_error("\"\\q\"", 4, 1, "invalid escape");
	expect_error("\"\\ud800\"", 8, 1, "invalid \\u escape");
	expect_error("{\"\\u0000\":1}", 12, 2, "NUL byte in object key");
	expect_error("9223372036854775808", 19, 0, "integer out of range");
	expect_error("[1e400]", 7, 1, "real number overflow");
	expect_error("01", 2, 0, "leading zero in number");
	expect_error("{\"a\" 1}", 7, 5, "expected ':'");
	expect_error("{1:1}", 5, 1, "expected string key");
	expect_error("{\"a\":1 2}", 9, 7, "expected ',' or '}'");
	expect_error("[1 2]", 5, 3, "expected ',' or ']'");
	expect_error("1 2", 3, 2, "trailing characters after value");
	expect_error("nul", 3, 0, "invalid literal");
	expect_error("\xEF\xBB\xBF" "1", 4, 0, "UTF-8 byte order mark");
	expect_error("\xC3\xA9", 2, 0, "invalid value");
	expect_error("\xC0", 1, 0, "invalid UTF-8");
}
END_TEST

/* `open` containers (array or object, chosen by `objects`) around the
 * innermost value `inner`. */
static char *nest(size_t open, int objects, const char *inner, size_t *len)
{
	size_t il = strlen(inner);
	char *p = malloc(open * 6 + il + 1);
	size_t n = 0;
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < open; i++) {
		if (objects && (i + 1 < open || il)) {
			memcpy(p + n, "{\"k\":", 5);
			n += 5;
		} else {
			p[n++] = objects ? '{' : '[';
		}
	}
	memcpy(p + n, inner, il);
	n += il;
	for (size_t i = 0; i < open; i++)
		p[n++] = objects ? '}' : ']';
	*len = n;
	return p;
}

static int nest_valid(size_t open, int objects, const char *inner)
{
	size_t len;
	char *p = nest(open, objects, inner, &len);
	int rc = wn_json_validate(p, len, NULL, NULL);
	json_t *j = json_loadb(p, len, JSON_DECODE_ANY, NULL);
	ck_assert_int_eq(rc == 0, j != NULL);
	json_decref(j);
	free(p);
	return rc == 0;
}

/* jansson counts every value, scalars included, against its limit of
 * 2048: 2048 nested empty containers load, 2048 around a scalar do not. */
START_TEST(test_validate_depth_limit)
{
	for (int objects = 0; objects <= 1; objects++) {
		ck_assert(nest_valid(2047, objects, ""));
		ck_assert(nest_valid(2048, objects, ""));
		ck_assert(!nest_valid(2049, objects, ""));
		ck_assert(nest_valid(2047, objects, "1"));
		ck_assert(!nest_valid(2048, objects, "1"));
		ck_assert(nest_valid(2047, objects, "\"s\""));
		ck_assert(!nest_valid(2048, objects, "\"s\""));
		ck_assert(!nest_valid(100000, objects, ""));
	}
	/* a deep array that ends early is reported as unterminated, not as
	 * too deep, and does not overrun anything */
	char open[4096];
	memset(open, '[', sizeof(open));
	struct wn_json_error err;
	ck_assert_int_eq(wn_json_validate(open, 2048, NULL, &err), -1);
	ck_assert_str_eq(err.reason, "unexpected end of input");
	ck_assert_int_eq(wn_json_validate(open, sizeof(open), NULL, &err), -1);
	ck_assert_str_eq(err.reason, "nesting too deep");
	ck_assert_uint_eq(err.offset, 2048);
}
END_TEST

/* Long strings go through the vector loop: put every kind of special byte
 * at every position across several 16-byte blocks. */
START_TEST(test_validate_long_strings)
{
	static const char *const inserts[] = {
		"\\n", "\\u00e9", "\\ud83d\\ude00", "\xC3\xA9", "\xE2\x80\x99",
		"\xF0\x9F\x98\x80", "\x1F", "\xC0\x80", "\\x", "\xED\xA0\x80", "\x7F", "\\\"",
	};
	char buf[128];
	for (size_t k = 0; k < sizeof(inserts) / sizeof(inserts[0]); k++) {
		size_t il = strlen(inserts[k]);
		for (size_t pos = 0; pos < 70; pos++) {
			size_t n = 0;
			buf[n++] = '"';
			for (size_t i = 0; i < pos; i++)
				buf[n++] = (char)('a' + i % 26);
			memcpy(buf + n, inserts[k], il);
			n += il;
			for (size_t i = 0; i < 70 - pos; i++)
				buf[n++] = 'z';
			buf[n++] = '"';
			json_t *j = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
			int rc = wn_json_validate(buf, n, NULL, NULL);
			if ((rc == 0) != (j != NULL))
				ck_abort_msg("insert %zu at %zu: jansson %d", k, pos, j != NULL);
			json_decref(j);
			/* and unterminated, at every length */
			for (size_t cut = 1; cut < n; cut += 7)
				if (wn_json_validate(buf, cut, NULL, NULL) != -1)
					ck_abort_msg("insert %zu at %zu cut at %zu accepted",
						     k, pos, cut);
		}
	}
}
END_TEST

/*** lookup ***/

static void expect_field(const char *json, const char *key, size_t keylen,
                         enum wn_json_type type, const char *raw, int escaped)
{
	struct wn_json_value v;
	size_t n = strlen(json);
	ck_assert_int_eq(wn_json_validate(json, n, NULL, NULL), 0);
	ck_assert_int_eq(wn_json_get(json, n, key, keylen, &v), 1);
	ck_assert_int_eq(v.type, type);
	ck_assert_uint_eq(v.len, strlen(raw));
	ck_assert_msg(memcmp(json + v.offset, raw, v.len) == 0, "got %.*s", (int)v.len,
		      json + v.offset);
	ck_assert_int_eq(v.escaped, escaped);
}

static int get(const char *json, const char *key)
{
	struct wn_json_value v;
	return wn_json_get(json, strlen(json), key, strlen(key), &v);
}

START_TEST(test_get_types_and_spans)
{
	const char *j = "{\"text\":\"hello\",\"id\":3,\"r\":-1.5e3,\"t\":true,"
		"\"f\":false,\"n\":null,\"a\":[1,[2],\"]\"],\"o\":{\"x\":{\"}\":1}},"
		"\"e\":\"a\\\"b\"}";
	expect_field(j, "text", 4, WN_JSON_STRING, "\"hello\"", 0);
	expect_field(j, "id", 2, WN_JSON_INTEGER, "3", 0);
	expect_field(j, "r", 1, WN_JSON_REAL, "-1.5e3", 0);
	expect_field(j, "t", 1, WN_JSON_TRUE, "true", 0);
	expect_field(j, "f", 1, WN_JSON_FALSE, "false", 0);
	expect_field(j, "n", 1, WN_JSON_NULL, "null", 0);
	expect_field(j, "a", 1, WN_JSON_ARRAY, "[1,[2],\"]\"]", 0);
	expect_field(j, "o", 1, WN_JSON_OBJECT, "{\"x\":{\"}\":1}}", 0);
	expect_field(j, "e", 1, WN_JSON_STRING, "\"a\\\"b\"", 1);
	expect_field(" { \"a\" : [ 1 , 2 ] , \"b\" : 0 } ", "a", 1, WN_JSON_ARRAY,
		     "[ 1 , 2 ]", 0);
	expect_field("{\"a\":1e5,\"b\":0}", "a", 1, WN_JSON_REAL, "1e5", 0);
}
END_TEST

START_TEST(test_get_absent_and_not_object)
{
	ck_assert_int_eq(get("{}", "text"), 0);
	ck_assert_int_eq(get("{\"tex\":1}", "text"), 0);
	ck_assert_int_eq(get("{\"texts\":1}", "text"), 0);
	ck_assert_int_eq(get("{\"Text\":1}", "text"), 0);
	/* keys of nested objects and strings that look like keys are not
	 * top-level keys */
	ck_assert_int_eq(get("{\"m\":{\"text\":\"inner\"},\"x\":1}", "text"), 0);
	ck_assert_int_eq(get("{\"m\":[\"text\",{\"text\":1}]}", "text"), 0);
	ck_assert_int_eq(get("{\"m\":\"\\\"text\\\":1\"}", "text"), 0);
	ck_assert_int_eq(get("[1]", "text"), -1);
	ck_assert_int_eq(get("\"text\"", "text"), -1);
	ck_assert_int_eq(get("  1", "text"), -1);
	ck_assert_int_eq(get("", "text"), -1);
	/* the empty key is a key like any other */
	ck_assert_int_eq(get("{\"\":1}", ""), 1);
	ck_assert_int_eq(get("{\"a\":1}", ""), 0);
}
END_TEST

START_TEST(test_get_last_duplicate_wins)
{
	expect_field("{\"a\":1,\"a\":2}", "a", 1, WN_JSON_INTEGER, "2", 0);
	expect_field("{\"a\":1,\"b\":2,\"a\":\"x\"}", "a", 1, WN_JSON_STRING, "\"x\"", 0);
	expect_field("{\"a\":[1],\"\\u0061\":{}}", "a", 1, WN_JSON_OBJECT, "{}", 0);
	expect_field("{\"\\u0061\":{},\"a\":[1]}", "a", 1, WN_JSON_ARRAY, "[1]", 0);
}
END_TEST

START_TEST(test_get_escaped_keys)
{
	expect_field("{\"t\\u0065xt\":\"x\"}", "text", 4, WN_JSON_STRING, "\"x\"", 0);
	expect_field("{\"\\u0074\\u0065\\u0078\\u0074\":0}", "text", 4, WN_JSON_INTEGER,
		     "0", 0);
	expect_field("{\"a\\\"b\":1}", "a\"b", 3, WN_JSON_INTEGER, "1", 0);
	expect_field("{\"a\\\\b\":1}", "a\\b", 3, WN_JSON_INTEGER, "1", 0);
	expect_field("{\"a\\/b\":1}", "a/b", 3, WN_JSON_INTEGER, "1", 0);
	expect_field("{\"\\n\\t\":1}", "\n\t", 2, WN_JSON_INTEGER, "1", 0);
	expect_field("{\"caf\\u00e9\":1}", "caf\xC3\xA9", 5, WN_JSON_INTEGER, "1", 0);
	expect_field("{\"caf\xC3\xA9\":1}", "caf\xC3\xA9", 5, WN_JSON_INTEGER, "1", 0);
	expect_field("{\"\\ud83d\\ude00\":1}", "\xF0\x9F\x98\x80", 4, WN_JSON_INTEGER,
		     "1", 0);
	expect_field("{\"\\u20AC\":1}", "\xE2\x82\xAC", 3, WN_JSON_INTEGER, "1", 0);
	ck_assert_int_eq(get("{\"t\\u0065xt\":1}", "tet"), 0);
	ck_assert_int_eq(get("{\"t\\u0065xt\":1}", "texts"), 0);
	ck_assert_int_eq(get("{\"t\\u0065xt\":1}", "tExt"), 0);
	ck_assert_int_eq(get("{\"a\\\"b\":1}", "a\\\"b"), 0);
}
END_TEST

START_TEST(test_get_after_nul_byte)
{
	const char j[] = "{\"a\":1\0,\"b\":true\0,\"c\":2}";
	struct wn_json_value v;
	ck_assert_int_eq(wn_json_validate(j, sizeof(j) - 1, NULL, NULL), 0);
	ck_assert_int_eq(wn_json_get(j, sizeof(j) - 1, "a", 1, &v), 1);
	ck_assert_uint_eq(v.len, 1);
	ck_assert_int_eq(wn_json_get(j, sizeof(j) - 1, "b", 1, &v), 1);
	ck_assert_int_eq(v.type, WN_JSON_TRUE);
	ck_assert_int_eq(wn_json_get(j, sizeof(j) - 1, "c", 1, &v), 1);
	ck_assert_int_eq(v.type, WN_JSON_INTEGER);
}
END_TEST

/* On invalid input the result is unspecified but every span stays inside
 * the input (run under ASan this also checks no byte outside is read). */
START_TEST(test_get_invalid_input_is_safe)
{
	static const char *const inputs[] = {
		"{", "{\"", "{\"a", "{\"a\"", "{\"a\":", "{\"a\":\"", "{\"a\":\"\\",
		"{\"a\":[", "{\"a\":{\"b\":", "{\"a\":t", "{\"a\":fals", "{\"a\":1",
		"{\"a\\", "{\"a\\u12", "{\"a\\ud83d\":1}", "{\"a\":1,", "{\"a\" 1}",
		"{\"a\":1 \"a\":2}", "{]", "{\"a\":-",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t n = strlen(inputs[i]);
		/* a private copy so that ASan catches any read past n */
		char *p = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, inputs[i], n);
		struct wn_json_value v;
		int rc = wn_json_get(p, n, "a", 1, &v);
		ck_assert(rc >= -1 && rc <= 1);
		if (rc == 1)
			ck_assert_uint_le(v.offset + v.len, n);
		free(p);
	}
}
END_TEST

/*** unescape ***/

static void expect_unescape(const char *lit, const char *want, size_t wantlen)
{
	struct wn_buf b = WN_BUF_INIT;
	ck_assert_int_eq(wn_json_unescape(lit, strlen(lit), &b), WN_OK);
	ck_assert_uint_eq(b.len, wantlen);
	ck_assert(memcmp(b.data, want, wantlen) == 0);
	ck_assert_int_eq(b.data[b.len], '\0');
	wn_buf_release(&b);
}

START_TEST(test_unescape)
{
	expect_unescape("\"\"", "", 0);
	expect_unescape("\"plain text\"", "plain text", 10);
	expect_unescape("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
	expect_unescape("\"\\u0041\\u00e9\\u20AC\"", "A\xC3\xA9\xE2\x82\xAC", 6);
	expect_unescape("\"x\\u0000y\"", "x\0y", 3);
	expect_unescape("\"\\u007f\\u0080\\u07FF\\u0800\\uFFFF\"",
			"\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF", 11);
	expect_unescape("\"caf\xC3\xA9 \\ud83d\\ude00!\"", "caf\xC3\xA9 \xF0\x9F\x98\x80!", 11);
	expect_unescape("\"\\uD800\\uDC00\\uDBFF\\uDFFF\"",
			"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", 8);
	expect_unescape("\"\\\\u0041\"", "\\u0041", 6);
}
END_TEST

START_TEST(test_unescape_appends_and_limits)
{
	struct wn_buf b;
	wn_buf_init(&b, 8);
	ck_assert_int_eq(wn_buf_add(&b, "ab", 2), WN_OK);
	ck_assert_int_eq(wn_json_unescape("\"c\\nd\"", 6, &b), WN_OK);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_str_eq(b.data, "abc\nd");
	/* the raw body (9 bytes) does not fit: the buffer is left as it was */
	ck_assert_int_eq(wn_json_unescape("\"123456789\"", 11, &b), WN_ETOOBIG);
	ck_assert_str_eq(b.data, "abc\nd");
	ck_assert_int_eq(wn_json_unescape("x", 1, &b), WN_EDATA);
	ck_assert_int_eq(wn_json_unescape("\"abc", 4, &b), WN_EDATA);
	wn_buf_release(&b);
}
END_TEST

/* Unescaping the string values jansson loads gives jansson's bytes. */
START_TEST(test_unescape_matches_jansson)
{
	static const char *const lits[] = {
		"\"\\u0000\\u0001\\u001f\"", "\"\\ud834\\udd1e clef\"",
		"\"mixed \\\"quotes\\\" and \\\\ slashes \\/\"",
		"\"\xE4\xB8\xAD\xE6\x96\x87\\n\\u4e2d\\u6587\"",
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\tbbbbbbbbbbbbbbbbbbbbbbbbb\"",
	};
	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		json_t *j = json_loads(lits[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		ck_assert_ptr_nonnull(j);
		struct wn_buf b = WN_BUF_INIT;
		ck_assert_int_eq(wn_json_unescape(lits[i], strlen(lits[i]), &b), WN_OK);
		ck_assert_uint_eq(b.len, json_string_length(j));
		ck_assert(memcmp(b.data, json_string_value(j), b.len) == 0);
		wn_buf_release(&b);
		json_decref(j);
	}
}
END_TEST

/*** escape ***/

static void expect_escape_like_jansson(const char *s, size_t n)
{
	json_t *js = json_stringn(s, n);
	ck_assert_ptr_nonnull(js);
	char *want = json_dumps(js, JSON_ENCODE_ANY);
	ck_assert_ptr_nonnull(want);
	struct wn_buf b = WN_BUF_INIT;
	ck_assert_int_eq(wn_json_escape(&b, s, n), WN_OK);
	ck_assert_str_eq(b.data, want);
	wn_buf_release(&b);
	free(want);
	json_decref(js);
}

START_TEST(test_escape_exact_bytes)
{
	struct wn_buf b = WN_BUF_INIT;
	ck_assert_int_eq(wn_json_escape(&b, "", 0), WN_OK);
	ck_assert_str_eq(b.data, "\"\"");
	wn_buf_reset(&b);
	ck_assert_int_eq(wn_json_escape(&b, "a\"b\\c/d\x7F", 8), WN_OK);
	ck_assert_str_eq(b.data, "\"a\\\"b\\\\c/d\x7F\"");
	wn_buf_reset(&b);
	ck_assert_int_eq(wn_json_escape(&b, "\b\f\n\r\t\x01\x1F\x0B", 8), WN_OK);
	ck_assert_str_eq(b.data, "\"\\b\\f\\n\\r\\t\\u0001\\u001F\\u000B\"");
	wn_buf_reset(&b);
	ck_assert_int_eq(wn_json_escape(&b, "\0x", 2), WN_OK);
	ck_assert_str_eq(b.data, "\"\\u0000x\"");
	wn_buf_reset(&b);
	ck_assert_int_eq(wn_json_escape(&b, "caf\xC3\xA9 \xF0\x9F\x98\x80", 10), WN_OK);
	ck_assert_str_eq(b.data, "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
	wn_buf_release(&b);
}
END_TEST

START_TEST(test_escape_matches_jansson)
{
	char s[256];
	/* every ASCII byte alone, and all of them together */
	for (int c = 0; c < 0x80; c++) {
		s[0] = (char)c;
		expect_escape_like_jansson(s, 1);
		s[c] = (char)c;
	}
	expect_escape_like_jansson(s, 0x80);
	/* escapes at every position of a string longer than a vector */
	for (size_t pos = 0; pos < 80; pos++) {
		for (size_t i = 0; i < 80; i++)
			s[i] = (char)('a' + i % 26);
		s[pos] = "\n\"\\\x01"[pos % 4];
		expect_escape_like_jansson(s, 80);
	}
	/* nothing but escapes: the output is six times the input */
	memset(s, 0x01, 200);
	expect_escape_like_jansson(s, 200);
	const char *text = "Zo\xC3\xAB said \xE2\x80\x9Chi\xE2\x80\x9D\n\tand left.\r\n";
	expect_escape_like_jansson(text, strlen(text));
}
END_TEST

START_TEST(test_escape_appends_and_limits)
{
	struct wn_buf b;
	wn_buf_init(&b, 13);
	ck_assert_int_eq(wn_buf_add(&b, "k:", 2), WN_OK);
	ck_assert_int_eq(wn_json_escape(&b, "a\nb", 3), WN_OK);
	ck_assert_str_eq(b.data, "k:\"a\\nb\"");
	/* fits before escaping, not after: the buffer is left as it was */
	ck_assert_int_eq(wn_json_escape(&b, "\x01", 1), WN_ETOOBIG);
	ck_assert_str_eq(b.data, "k:\"a\\nb\"");
	ck_assert_uint_eq(b.len, 8);
	ck_assert_int_eq(wn_json_escape(&b, "\n", 1), WN_OK);
	ck_assert_str_eq(b.data, "k:\"a\\nb\"\"\\n\"");
	wn_buf_release(&b);
}
END_TEST

/*** UTF-8 ***/

struct ucase {
	const char *in;
	size_t len;
	size_t valid;
};

#define U(s, v) { s, sizeof(s) - 1, v }

static const struct ucase utf8_cases[] = {
	U("", 0),
	U("ascii only", 10),
	U("\0\x7F", 2),
	U("\xC2\x80\xDF\xBF", 4),
	U("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF", 12),
	U("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", 8),
	U("ab\x80", 2),
	U("ab\xC0\x80", 2),
	U("ab\xC1\xBF", 2),
	U("ab\xC2", 2),
	U("ab\xC2 ", 2),
	U("ab\xE0\x9F\xBF", 2),
	U("ab\xE0\xA0", 2),
	U("ab\xED\xA0\x80", 2),
	U("ab\xED\xBF\xBF", 2),
	U("ab\xF0\x8F\xBF\xBF", 2),
	U("ab\xF4\x90\x80\x80", 2),
	U("ab\xF5\x80\x80\x80", 2),
	U("ab\xF0\x90\x80", 2),
	U("ab\xFF", 2),
	U("\xC3\xA9\xC3\xA9\xC3", 4),
	U("0123456789abcdef0123456789abcdef\xC3\xA9 0123456789abcdef\xFE", 51),
	U("0123456789abcde\xC3\xA9", 17),
	U("0123456789abcdef\xE2\x82", 16),
};

START_TEST(test_utf8_valid_prefix)
{
	const struct ucase *c = &utf8_cases[_i];
	ck_assert_uint_eq(wn_utf8_valid_prefix(c->in, c->len), c->valid);
}
END_TEST

/* A plain decoder written from the definition, as the reference. */
static size_t ref_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			k = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			k = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (n - i < k)
			return i;
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += k;
	}
	return n;
}

static uint64_t test_rng = 12345;

static uint32_t rnd32(void)
{
	test_rng = test_rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t)(test_rng >> 33);
}

/* Random text long enough for the vector paths (several 32-byte blocks),
 * mostly valid, with errors of every kind at every position. */
START_TEST(test_utf8_random_against_reference)
{
	unsigned char s[600];
	for (int iter = 0; iter < 30000; iter++) {
		size_t n = 0, target = rnd32() % 500;
		int errors = iter % 3 == 0 ? 0 : 1 + (int)(rnd32() % 2);
		while (n < target) {
			uint32_t r = rnd32() % 100, cp;
			if (r < 40) {
				size_t run = 1 + rnd32() % 40;
				for (size_t j = 0; j < run && n < target; j++)
					s[n++] = (unsigned char)(' ' + rnd32() % 95);
				continue;
			}
			if (r < 55)
				cp = 0x80 + rnd32() % 0x780;
			else if (r < 85)
				cp = 0x800 + rnd32() % 0xF800;
			else
				cp = 0x10000 + rnd32() % 0x100000;
			if (cp >= 0xD800 && cp <= 0xDFFF)
				cp = 0xE000;
			if (cp < 0x800) {
				s[n++] = (unsigned char)(0xC0 | cp >> 6);
			} else if (cp < 0x10000) {
				s[n++] = (unsigned char)(0xE0 | cp >> 12);
				s[n++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
			} else {
				s[n++] = (unsigned char)(0xF0 | cp >> 18);
				s[n++] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
				s[n++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
			}
			s[n++] = (unsigned char)(0x80 | (cp & 0x3F));
		}
		for (int e = 0; e < errors && n; e++) {
			static const unsigned char bad[] = { 0x80, 0xBF, 0xC0, 0xC1, 0xC2,
				0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 'a' };
			s[rnd32() % n] = bad[rnd32() % sizeof(bad)];
		}
		size_t want = ref_valid_prefix(s, n);
		size_t got = wn_utf8_valid_prefix((const char *)s, n);
		if (got != want)
			ck_abort_msg("iteration %d: prefix %zu, reference %zu of %zu", iter,
				     got, want, n);
		/* and a cut anywhere, which may split a sequence */
		size_t cut = n ? rnd32() % n : 0;
		want = ref_valid_prefix(s, cut);
		got = wn_utf8_valid_prefix((const char *)s, cut);
		if (got != want)
			ck_abort_msg("iteration %d: prefix %zu, reference %zu of cut %zu", iter,
				     got, want, cut);
	}
}
END_TEST

/* A sequence cut short, at every offset of the first blocks, followed by
 * ASCII (which the vector code skips as a whole block) or by another lead. */
START_TEST(test_utf8_truncated_at_every_position)
{
	static const char *const cut[] = { "\xC3", "\xE2", "\xE2\x82", "\xF0",
		"\xF0\x9F", "\xF0\x9F\x98" };
	static const char *const after[] = { "a", "\xC3\xA9", "\xE2\x82\xAC" };
	unsigned char s[256];
	for (size_t c = 0; c < sizeof(cut) / sizeof(cut[0]); c++) {
		for (size_t a = 0; a < sizeof(after) / sizeof(after[0]); a++) {
			for (size_t pos = 0; pos < 100; pos++) {
				/* valid text of pos bytes, some of it multi-byte */
				size_t n = 0;
				while (n < pos) {
					if (n % 7 == 6 && n + 2 <= pos) {
						s[n++] = 0xC3;
						s[n++] = 0xA9;
					} else {
						s[n++] = 'x';
					}
				}
				size_t at = n;
				memcpy(s + n, cut[c], strlen(cut[c]));
				n += strlen(cut[c]);
				while (n < at + 100) {
					memcpy(s + n, after[a], strlen(after[a]));
					n += strlen(after[a]);
				}
				size_t got = wn_utf8_valid_prefix((const char *)s, n);
				if (got != at)
					ck_abort_msg("cut %zu then %zu at %zu: prefix %zu", c, a,
						     at, got);
			}
		}
	}
}
END_TEST

/* Every 1-, 2-, 3- and 4-byte sequence is accepted exactly when jansson
 * accepts it inside a string. */
START_TEST(test_utf8_exhaustive_against_jansson)
{
	static const unsigned char tails[] = { 0xBF, 0x80, 0x90 };
	unsigned char s[8];
	for (unsigned lead = 0x80; lead < 0x100; lead++) {
		for (unsigned b1 = 0x70; b1 < 0xD0; b1++) {
			for (size_t len = 1; len <= 4; len++) {
				s[0] = '"';
				s[1] = (unsigned char)lead;
				s[2] = (unsigned char)b1;
				s[3] = tails[b1 % 3];
				s[4] = tails[lead % 3];
				s[len + 1] = '"';
				json_t *j = json_loadb((const char *)s, len + 2,
						       JSON_DECODE_ANY, NULL);
				size_t v = wn_utf8_valid_prefix((const char *)s + 1, len);
				int rc = wn_json_validate((const char *)s, len + 2, NULL, NULL);
				/* no ck_assert on the passing path: Check logs each
				 * one to a file, which would dominate this loop */
				if ((j != NULL) != (v == len) || (rc == 0) != (j != NULL))
					ck_abort_msg("%02x %02x len %zu: jansson %d, "
						     "prefix %zu, validate %d", lead, b1, len,
						     j != NULL, v, rc);
				json_decref(j);
			}
		}
	}
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("validate");
	tcase_add_loop_test(tc, test_validate_table, 0,
			    (int)(sizeof(validate_cases) / sizeof(validate_cases[0])));
	tcase_add_loop_test(tc, test_validate_table_matches_jansson, 0,
			    (int)(sizeof(validate_cases) / sizeof(validate_cases[0])));
	tcase_add_test(tc, test_validate_optional_outputs);
	tcase_add_test(tc, test_validate_error_positions);
	tcase_add_test(tc, test_validate_depth_limit);
	tcase_add_test(tc, test_validate_long_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("get");
	tcase_add_test(tc, test_get_types_and_spans);
	tcase_add_test(tc, test_get_absent_and_not_object);
	tcase_add_test(tc, test_get_last_duplicate_wins);
	tcase_add_test(tc, test_get_escaped_keys);
	tcase_add_test(tc, test_get_after_nul_byte);
	tcase_add_test(tc, test_get_invalid_input_is_safe);
	suite_add_tcase(s, tc);

	tc = tcase_create("unescape");
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_unescape_appends_and_limits);
	tcase_add_test(tc, test_unescape_matches_jansson);
	suite_add_tcase(s, tc);

	tc = tcase_create("escape");
	tcase_add_test(tc, test_escape_exact_bytes);
	tcase_add_test(tc, test_escape_matches_jansson);
	tcase_add_test(tc, test_escape_appends_and_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, test_utf8_valid_prefix, 0,
			    (int)(sizeof(utf8_cases) / sizeof(utf8_cases[0])));
	tcase_add_test(tc, test_utf8_exhaustive_against_jansson);
	tcase_add_test(tc, test_utf8_random_against_reference);
	tcase_add_test(tc, test_utf8_truncated_at_every_position);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(json_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

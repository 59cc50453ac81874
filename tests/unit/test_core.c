/*
 * test_core.c - buffers, status, options, pipeline parsing, records.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "winnow/winnow.h"

/* ---- buffer ------------------------------------------------------------- */

START_TEST(buf_grows_and_terminates)
{
	struct wn_buf b = WN_BUF_INIT;
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(wn_buf_addc(&b, (char)('a' + i % 26)), WN_OK);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_int_eq(b.data[1000], '\0');
	ck_assert_int_eq(wn_buf_printf(&b, "%d-%s", 42, "x"), WN_OK);
	ck_assert_str_eq(b.data + 1000, "42-x");
	wn_buf_consume(&b, 1000);
	ck_assert_str_eq(b.data, "42-x");
	wn_buf_truncate(&b, 2);
	ck_assert_str_eq(b.data, "42");
	size_t n;
	char *p = wn_buf_detach(&b, &n);
	ck_assert_str_eq(p, "42");
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_null(b.data);
	free(p);
	wn_buf_release(&b);
}
END_TEST

START_TEST(buf_respects_its_maximum)
{
	struct wn_buf b;
	wn_buf_init(&b, 10);
	ck_assert_int_eq(wn_buf_add(&b, "0123456789", 10), WN_OK);
	ck_assert_int_eq(wn_buf_addc(&b, 'x'), WN_ETOOBIG);
	ck_assert_int_eq(wn_buf_add(&b, "yz", 2), WN_ETOOBIG);
	/* a failed add leaves the content as it was */
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.data, "0123456789");
	/* memory is bounded by the maximum, not by what was asked */
	ck_assert_uint_le(b.cap, 11);
	ck_assert_int_eq(wn_buf_grow(&b, (size_t)-1), WN_ETOOBIG);
	wn_buf_release(&b);
}
END_TEST

START_TEST(buf_long_printf)
{
	struct wn_buf b = WN_BUF_INIT;
	char big[1000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(wn_buf_printf(&b, "<%s>", big), WN_OK);
	ck_assert_uint_eq(b.len, 1001);
	ck_assert_int_eq(b.data[0], '<');
	ck_assert_int_eq(b.data[1000], '>');
	wn_buf_release(&b);
}
END_TEST

/* ---- status ------------------------------------------------------------- */

START_TEST(error_messages_name_position)
{
	struct wn_error e;
	wn_error_clear(&e);
	ck_assert_int_eq(wn_error_set(&e, WN_EDATA, "a.jsonl", 12, "bad %s", "thing"), WN_EDATA);
	ck_assert_str_eq(e.msg, "a.jsonl:12: bad thing");
	/* the first error is kept */
	wn_error_set(&e, WN_EIO, "b", 1, "later");
	ck_assert_str_eq(e.msg, "a.jsonl:12: bad thing");
	ck_assert_int_eq(e.status, WN_EDATA);
	wn_error_clear(&e);
	wn_error_set(&e, WN_EIO, "f", 0, "x");
	ck_assert_str_eq(e.msg, "f: x");
	ck_assert_int_eq(wn_status_exit(WN_EDATA), 1);
	ck_assert_int_eq(wn_status_exit(WN_EUSAGE), 2);
	ck_assert_int_eq(wn_status_exit(WN_EIO), 3);
	ck_assert_int_eq(wn_status_exit(WN_EPIPE), 0);
	ck_assert_int_eq(wn_status_exit(WN_EVERIFY), 1);
}
END_TEST

/* ---- sizes and options ---------------------------------------------------- */

START_TEST(sizes_parse_with_units)
{
	uint64_t v;
	ck_assert_int_eq(wn_parse_size("4096", &v), WN_OK);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(wn_parse_size("256MiB", &v), WN_OK);
	ck_assert_uint_eq(v, 256ull << 20);
	ck_assert_int_eq(wn_parse_size("1G", &v), WN_OK);
	ck_assert_uint_eq(v, 1ull << 30);
	ck_assert_int_eq(wn_parse_size("500MB", &v), WN_OK);
	ck_assert_uint_eq(v, 500000000ull);
	ck_assert_int_eq(wn_parse_size("1.5KiB", &v), WN_OK);
	ck_assert_uint_eq(v, 1536);
	ck_assert_int_eq(wn_parse_size("64kib", &v), WN_OK);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(wn_parse_size("", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("-1", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("12 MB", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("3XB", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("1.5", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("99999999999TiB", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("nan", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("1e3", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("+5", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("5.", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("18446744073709551615", &v), WN_OK);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(wn_parse_size("18446744073709551616", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("16777216TiB", &v), WN_EUSAGE);
	ck_assert_int_eq(wn_parse_size("0.5MB", &v), WN_OK);
	ck_assert_uint_eq(v, 500000);
}
END_TEST

struct topts {
	const char *out;
	uint64_t n;
	uint64_t size;
	double frac;
	int flag;
	int mode;
	char delim;
};

static const struct wn_option ttable[] = {
	{ "output", 'o', WN_OPT_STRING, offsetof(struct topts, out), "DIR", NULL, NULL, "out",
	  WN_OPTF_UNRECORDED },
	{ "count", 'n', WN_OPT_UINT, offsetof(struct topts, n), "N", "7", NULL, "count", 0 },
	{ "size", 0, WN_OPT_SIZE, offsetof(struct topts, size), "SIZE", "1KiB", NULL, "size", 0 },
	{ "frac", 0, WN_OPT_DOUBLE, offsetof(struct topts, frac), "F", NULL, NULL, "fraction", 0 },
	{ "flag", 0, WN_OPT_FLAG, offsetof(struct topts, flag), NULL, NULL, NULL, "flag", 0 },
	{ "mode", 0, WN_OPT_CHOICE, offsetof(struct topts, mode), "M", "b", "a|b|c", "mode", 0 },
	{ "delim", 'd', WN_OPT_CHAR, offsetof(struct topts, delim), "C", ",", NULL, "delim", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

static int parse(struct topts *o, struct wn_common_opts *c, struct wn_buf *rec,
                 struct wn_error *e, char **argv, int *used, char ***pos, size_t *npos)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	memset(o, 0, sizeof(*o));
	memset(c, 0, sizeof(*c));
	wn_error_clear(e);
	return wn_options_parse("t", ttable, o, c, argc, argv, used, pos, npos, rec, e);
}

START_TEST(options_defaults_values_and_positionals)
{
	struct topts o;
	struct wn_common_opts c;
	struct wn_error e;
	struct wn_buf rec = WN_BUF_INIT;
	char **pos;
	size_t npos;
	int used;
	char *argv[] = { "a.jsonl", "-o", "out", "--size=2MiB", "--flag", "-", "--mode", "c",
	                 "-d", "tab", "--text-field", "body", "--frac", "0.25", "then", "x",
	                 NULL };
	ck_assert_int_eq(parse(&o, &c, &rec, &e, argv, &used, &pos, &npos), WN_OK);
	ck_assert_int_eq(used, 14);
	ck_assert_str_eq(o.out, "out");
	ck_assert_uint_eq(o.n, 7);
	ck_assert_uint_eq(o.size, 2u << 20);
	ck_assert_int_eq(o.flag, 1);
	ck_assert_int_eq(o.mode, 2);
	ck_assert_int_eq(o.delim, '\t');
	ck_assert(o.frac == 0.25);
	ck_assert_str_eq(c.text_field, "body");
	ck_assert_str_eq(c.id_field, "id");
	ck_assert_uint_eq(npos, 2);
	ck_assert_str_eq(pos[0], "a.jsonl");
	ck_assert_str_eq(pos[1], "-");
	/* the output directory is not recorded; everything else is */
	ck_assert_str_eq(rec.data,
	                 "a.jsonl --size 2MiB --flag - --mode c --delim tab --text-field body --frac 0.25");
	free(pos);
	wn_buf_release(&rec);
}
END_TEST

START_TEST(options_errors_are_usage_errors)
{
	struct topts o;
	struct wn_common_opts c;
	struct wn_error e;
	char **pos;
	size_t npos;
	int used;
	char *a1[] = { "--nope", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, a1, &used, &pos, &npos), WN_EUSAGE);
	ck_assert_str_eq(e.msg, "t: unknown option '--nope' (see 'winnow t --help')");
	char *a2[] = { "--count", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, a2, &used, &pos, &npos), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "needs a value"));
	char *a3[] = { "--count", "x1", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, a3, &used, &pos, &npos), WN_EUSAGE);
	char *a4[] = { "--mode", "z", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, a4, &used, &pos, &npos), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "a|b|c"));
	char *a5[] = { "--size", "lots", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, a5, &used, &pos, &npos), WN_EUSAGE);
	char *a6[] = { "--flag=1", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, a6, &used, &pos, &npos), WN_EUSAGE);
	char *a7[] = { "-d", "ab", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, a7, &used, &pos, &npos), WN_EUSAGE);
}
END_TEST

START_TEST(options_double_dash_and_then_as_value)
{
	struct topts o;
	struct wn_common_opts c;
	struct wn_error e;
	char **pos;
	size_t npos;
	int used;
	char *argv[] = { "-o", "then", "--", "--flag", NULL };
	ck_assert_int_eq(parse(&o, &c, NULL, &e, argv, &used, &pos, &npos), WN_OK);
	ck_assert_str_eq(o.out, "then");
	ck_assert_int_eq(o.flag, 0);
	ck_assert_uint_eq(npos, 1);
	ck_assert_str_eq(pos[0], "--flag");
	free(pos);
}
END_TEST

START_TEST(help_lists_every_option)
{
	struct wn_buf b = WN_BUF_INIT;
	ck_assert_int_eq(wn_options_help("t [options]", "a test", NULL, ttable, 1, &b), WN_OK);
	for (const struct wn_option *o = ttable; o->name; o++)
		ck_assert_ptr_nonnull(strstr(b.data, o->name));
	ck_assert_ptr_nonnull(strstr(b.data, "usage: winnow t [options]"));
	ck_assert_ptr_nonnull(strstr(b.data, "[default: 1KiB]"));
	ck_assert_ptr_nonnull(strstr(b.data, "--text-field NAME"));
	wn_buf_release(&b);
}
END_TEST

/* ---- pipelines ------------------------------------------------------------ */

START_TEST(pipeline_parse_records_the_pipeline)
{
	struct wn_run run;
	wn_run_init(&run);
	struct wn_pipeline *p;
	char *argv[] = { "read", "a.csv", "--delimiter", ";", "then", "shard", "-o", "out",
	                 "--max-size", "1MiB", "--force" };
	ck_assert_int_eq(wn_pipeline_parse(&p, &run, 11, argv), WN_OK);
	ck_assert_str_eq(run.pipeline, "read a.csv --delimiter ';' then shard --max-size 1MiB");
	ck_assert_ptr_null(wn_pipeline_help(p));
	wn_pipeline_free(p);
	wn_run_release(&run);
}
END_TEST

START_TEST(pipeline_parse_errors)
{
	struct wn_run run;
	struct wn_pipeline *p;
	char *a1[] = { "read", "then", "bogus" };
	wn_run_init(&run);
	ck_assert_int_eq(wn_pipeline_parse(&p, &run, 3, a1), WN_EUSAGE);
	ck_assert_str_eq(run.err.msg, "unknown stage 'bogus' (see 'winnow help')");
	wn_pipeline_free(p);
	wn_run_release(&run);

	char *a2[] = { "shard", "-o", "x", "then", "read" };
	wn_run_init(&run);
	ck_assert_int_eq(wn_pipeline_parse(&p, &run, 5, a2), WN_EUSAGE);
	wn_pipeline_free(p);
	wn_run_release(&run);

	char *a3[] = { "read", "then" };
	wn_run_init(&run);
	ck_assert_int_eq(wn_pipeline_parse(&p, &run, 2, a3), WN_EUSAGE);
	wn_pipeline_free(p);
	wn_run_release(&run);

	char *a4[] = { "read", "a", "then", "shard", "b.jsonl", "-o", "x" };
	wn_run_init(&run);
	ck_assert_int_eq(wn_pipeline_parse(&p, &run, 7, a4), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(run.err.msg, "only the first stage reads files"));
	wn_pipeline_free(p);
	wn_run_release(&run);
}
END_TEST

static char *write_temp(const char *content)
{
	char *path = strdup("/tmp/wn-test-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

START_TEST(pipeline_file_words_quotes_comments)
{
	char *path = write_temp("# a comment\n"
	                        "\n"
	                        "read 'my file.csv' \"x\\\"y\" --delimiter ';'  # trailing\n"
	                        "shard -o out \\\n"
	                        "  --max-size 2MiB\n");
	struct wn_run run;
	wn_run_init(&run);
	struct wn_pipeline *p;
	ck_assert_int_eq(wn_pipeline_load(&p, &run, path), WN_OK);
	ck_assert_str_eq(run.pipeline,
	                 "read 'my file.csv' 'x\"y' --delimiter ';' then shard --max-size 2MiB");
	wn_pipeline_free(p);
	wn_run_release(&run);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(pipeline_file_errors_name_the_line)
{
	char *path = write_temp("read a.csv\nshard -o out --bogus\n");
	struct wn_run run;
	wn_run_init(&run);
	struct wn_pipeline *p;
	ck_assert_int_eq(wn_pipeline_load(&p, &run, path), WN_EUSAGE);
	char want[256];
	snprintf(want, sizeof(want), "%s:2: shard: unknown option '--bogus'", path);
	ck_assert_ptr_nonnull(strstr(run.err.msg, want));
	wn_pipeline_free(p);
	wn_run_release(&run);
	unlink(path);
	free(path);

	path = write_temp("read 'unterminated\n");
	wn_run_init(&run);
	ck_assert_int_eq(wn_pipeline_load(&p, &run, path), WN_EUSAGE);
	snprintf(want, sizeof(want), "%s:1: unterminated single quote", path);
	ck_assert_str_eq(run.err.msg, want);
	wn_pipeline_free(p);
	wn_run_release(&run);
	unlink(path);
	free(path);
}
END_TEST

/* ---- records -------------------------------------------------------------- */

START_TEST(record_passes_raw_bytes_through)
{
	const char *raw = "{\"text\": \"caf\\u00e9 1.50\", \"n\": 1.50, \"id\":\"a\"}";
	struct wn_record *r = wn_record_new();
	ck_assert_int_eq(wn_record_set_raw(r, raw, strlen(raw)), WN_OK);
	const char *s;
	size_t n;
	ck_assert_int_eq(wn_record_get_string(r, "text", &s, &n), 1);
	ck_assert_uint_eq(n, strlen("café 1.50"));
	ck_assert(memcmp(s, "café 1.50", n) == 0);
	ck_assert_int_eq(wn_record_get_string(r, "id", &s, &n), 1);
	ck_assert(n == 1 && s[0] == 'a');
	ck_assert_int_eq(wn_record_get_string(r, "missing", &s, &n), 0);
	ck_assert_int_eq(wn_record_get_string(r, "n", &s, &n), WN_EDATA);
	ck_assert_int_eq(wn_record_bytes(r, &s, &n), WN_OK);
	ck_assert_uint_eq(n, strlen(raw));
	ck_assert(memcmp(s, raw, n) == 0);
	wn_record_free(r);
}
END_TEST

START_TEST(record_changed_is_reserialised)
{
	const char *raw = "{\"text\": \"a\", \"n\": 1}";
	struct wn_record *r = wn_record_new();
	wn_record_set_raw(r, raw, strlen(raw));
	json_t *o = wn_record_object(r, NULL);
	ck_assert_ptr_nonnull(o);
	json_object_set_new(o, "n", json_integer(2));
	wn_record_touch(r);
	const char *s;
	size_t n;
	ck_assert_int_eq(wn_record_bytes(r, &s, &n), WN_OK);
	ck_assert_str_eq(s, "{\"text\":\"a\",\"n\":2}");
	wn_record_free(r);
}
END_TEST

START_TEST(record_append_keeps_other_bytes)
{
	struct wn_record *r = wn_record_new();
	const char *raw = "{\"text\": \"x\" ,\"v\":1.0 }";
	wn_record_set_raw(r, raw, strlen(raw));
	ck_assert_int_eq(wn_record_append_string(r, "id", "a/b\"0", 5), WN_OK);
	const char *s;
	size_t n;
	wn_record_bytes(r, &s, &n);
	ck_assert_str_eq(s, "{\"text\": \"x\" ,\"v\":1.0 ,\"id\":\"a/b\\\"0\"}");
	wn_record_set_raw(r, "{ }", 3);
	ck_assert_int_eq(wn_record_append_string(r, "id", "z", 1), WN_OK);
	wn_record_bytes(r, &s, &n);
	ck_assert_str_eq(s, "{ \"id\":\"z\"}");
	wn_record_free(r);
}
END_TEST

START_TEST(record_carries_ids_without_json)
{
	struct wn_record *r = wn_record_new();
	const char *raw = "{\"text\": \"ab\", \"n\": 1.50}";
	wn_record_set_raw(r, raw, strlen(raw));
	struct wn_ids ids;
	wn_ids_init(&ids);
	uint32_t want[] = { 0, 7, 4294967295u, 10 };
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(wn_ids_push(&ids, want[i]), WN_OK);
	ck_assert_int_eq(wn_record_take_ids(r, "input_ids", &ids), WN_OK);
	ck_assert_uint_eq(ids.n, 0);
	/* other fields are read without writing the ids out */
	const char *s;
	size_t n;
	ck_assert_int_eq(wn_record_get_string(r, "text", &s, &n), 1);
	ck_assert(n == 2 && memcmp(s, "ab", 2) == 0);
	const uint32_t *got;
	ck_assert_int_eq(wn_record_get_ids(r, "input_ids", &got, &n), 1);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(got, want, sizeof(want)) == 0);
	/* written out: appended, every other byte kept */
	ck_assert_int_eq(wn_record_bytes(r, &s, &n), WN_OK);
	ck_assert_str_eq(s, "{\"text\": \"ab\", \"n\": 1.50,\"input_ids\":[0,7,4294967295,10]}");
	ck_assert_int_eq(wn_record_get_ids(r, "input_ids", &got, &n), 1);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(got[2], 4294967295u);
	wn_ids_release(&ids);
	wn_record_free(r);
}
END_TEST

START_TEST(record_ids_replace_an_existing_field)
{
	struct wn_record *r = wn_record_new();
	const char *raw = "{\"input_ids\":[1],\"text\":\"x\"}";
	wn_record_set_raw(r, raw, strlen(raw));
	struct wn_ids ids;
	wn_ids_init(&ids);
	wn_ids_push(&ids, 5);
	wn_record_take_ids(r, "input_ids", &ids);
	const char *s;
	size_t n;
	ck_assert_int_eq(wn_record_bytes(r, &s, &n), WN_OK);
	ck_assert_str_eq(s, "{\"input_ids\":[5],\"text\":\"x\"}");
	wn_ids_release(&ids);
	wn_record_free(r);
}
END_TEST

START_TEST(record_ids_parsed_from_json)
{
	static const struct { const char *raw; int want; size_t n; } cases[] = {
		{ "{\"input_ids\":[]}", 1, 0 },
		{ "{\"input_ids\": [ 1 , 22,333 ]}", 1, 3 },
		{ "{\"input_ids\":[4294967295]}", 1, 1 },
		{ "{\"input_ids\":[4294967296]}", WN_EDATA, 0 },
		{ "{\"input_ids\":[-1]}", WN_EDATA, 0 },
		{ "{\"input_ids\":[1.0]}", WN_EDATA, 0 },
		{ "{\"input_ids\":[\"1\"]}", WN_EDATA, 0 },
		{ "{\"input_ids\":[[1]]}", WN_EDATA, 0 },
		{ "{\"input_ids\":7}", WN_EDATA, 0 },
		{ "{\"text\":\"a\"}", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wn_record *r = wn_record_new();
		wn_record_set_raw(r, cases[i].raw, strlen(cases[i].raw));
		const uint32_t *ids;
		size_t n = 0;
		int got = wn_record_get_ids(r, "input_ids", &ids, &n);
		ck_assert_msg(got == cases[i].want, "%s: got %d", cases[i].raw, got);
		if (got == 1)
			ck_assert_uint_eq(n, cases[i].n);
		wn_record_free(r);
	}
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *t = tcase_create("buf");
	tcase_add_test(t, buf_grows_and_terminates);
	tcase_add_test(t, buf_respects_its_maximum);
	tcase_add_test(t, buf_long_printf);
	suite_add_tcase(s, t);
	t = tcase_create("status");
	tcase_add_test(t, error_messages_name_position);
	suite_add_tcase(s, t);
	t = tcase_create("options");
	tcase_add_test(t, sizes_parse_with_units);
	tcase_add_test(t, options_defaults_values_and_positionals);
	tcase_add_test(t, options_errors_are_usage_errors);
	tcase_add_test(t, options_double_dash_and_then_as_value);
	tcase_add_test(t, help_lists_every_option);
	suite_add_tcase(s, t);
	t = tcase_create("pipeline");
	tcase_add_test(t, pipeline_parse_records_the_pipeline);
	tcase_add_test(t, pipeline_parse_errors);
	tcase_add_test(t, pipeline_file_words_quotes_comments);
	tcase_add_test(t, pipeline_file_errors_name_the_line);
	suite_add_tcase(s, t);
	t = tcase_create("record");
	tcase_add_test(t, record_passes_raw_bytes_through);
	tcase_add_test(t, record_changed_is_reserialised);
	tcase_add_test(t, record_append_keeps_other_bytes);
	tcase_add_test(t, record_carries_ids_without_json);
	tcase_add_test(t, record_ids_replace_an_existing_field);
	tcase_add_test(t, record_ids_parsed_from_json);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(core_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

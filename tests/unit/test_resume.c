/*
 * test_resume.c - the journal of an unfinished dataset and resuming through
 * the library: sealed lines that no cut or changed byte gets past, a writer
 * freed after wn_dataset_keep leaving what a resume needs, a resumed writer
 * that gives the bytes of an uninterrupted one, and the records of kept
 * shards checked as they come again.  Crashes at exact points, a full disk
 * and the command line are tested in tests/cli/resume.sh.
 */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "winnow/buf.h"
#include "winnow/dataset.h"
#include "dataset/ds_int.h"

/* ---- helpers ----------------------------------------------------------------- */

static char *tmp_root(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	ck_assert_int_ge(asprintf(&path, "%s/wn-resume-XXXXXX", base && *base ? base : "/tmp"), 0);
	ck_assert_ptr_nonnull(mkdtemp(path));
	return path;
}

static char *join(const char *a, const char *b)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", a, b), 0);
	return p;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Every file below a and b, by name: the same names, the same bytes. */
static void assert_same_tree(const char *a, const char *b)
{
	struct dirent **ea, **eb;
	int na = scandir(a, &ea, NULL, alphasort), nb = scandir(b, &eb, NULL, alphasort);

	ck_assert_int_ge(na, 0);
	ck_assert_int_eq(na, nb);
	for (int i = 0; i < na; i++) {
		char *pa = join(a, ea[i]->d_name), *pb = join(b, eb[i]->d_name);
		struct stat st;

		ck_assert_str_eq(ea[i]->d_name, eb[i]->d_name);
		ck_assert_int_eq(lstat(pa, &st), 0);
		if (ea[i]->d_name[0] == '.' &&
		    (ea[i]->d_name[1] == '\0' || strcmp(ea[i]->d_name, "..") == 0)) {
			/* . and .. */
		} else if (S_ISDIR(st.st_mode)) {
			assert_same_tree(pa, pb);
		} else {
			size_t la, lb;
			char *ca = slurp(pa, &la), *cb = slurp(pb, &lb);

			ck_assert_msg(la == lb && memcmp(ca, cb, la) == 0, "%s differs", pa);
			free(ca);
			free(cb);
		}
		free(pa);
		free(pb);
		free(ea[i]);
		free(eb[i]);
	}
	free(ea);
	free(eb);
}

static struct wn_dataset_opts opts_for(const char *dir)
{
	struct wn_dataset_opts o = { .dir = dir, .max_size = 4096, .threads = 2,
	                             .pipeline = "read x.jsonl then shard --max-size 4KiB",
	                             .name = "t" };

	return o;
}

/* Record i: deterministic, of 20 to 219 letters that compress little. */
static size_t record(char *buf, size_t cap, unsigned i)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
	int n = snprintf(buf, cap, "{\"id\":%u,\"text\":\"", i);

	for (unsigned k = 0; k < 20 + (i * 7919) % 200 && (size_t)n + 8 < cap; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[n++] = (char)('a' + x % 26);
	}
	n += snprintf(buf + n, cap - (size_t)n, "\"}");
	return (size_t)n;
}

/* Add records [from, to) of which every third goes to "validation". */
static int add_range(struct wn_dataset *ds, unsigned from, unsigned to, struct wn_error *err)
{
	char buf[512];
	int rc = WN_OK;

	for (unsigned i = from; i < to && rc == WN_OK; i++) {
		size_t len = record(buf, sizeof buf, i);

		rc = wn_dataset_add(ds, i % 3 ? "train" : "validation", buf, len, err);
	}
	return rc;
}

static void build(const char *dir, unsigned n)
{
	struct wn_dataset_opts o = opts_for(dir);
	struct wn_dataset *ds;
	struct wn_error err;

	wn_error_clear(&err);
	ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
	ck_assert_msg(add_range(ds, 0, n, &err) == WN_OK, "%s", err.msg);
	ck_assert_msg(wn_dataset_finish(ds, &err) == WN_OK, "%s", err.msg);
	wn_dataset_free(ds);
}

/* A run of the first `stop` of n records, freed unfinished but kept. */
static void interrupted(const char *dir, unsigned stop)
{
	struct wn_dataset_opts o = opts_for(dir);
	struct wn_dataset *ds;
	struct wn_error err;

	wn_error_clear(&err);
	ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
	ck_assert_msg(add_range(ds, 0, stop, &err) == WN_OK, "%s", err.msg);
	wn_dataset_keep(ds);
	wn_dataset_free(ds);
}

/* ---- sealed lines -------------------------------------------------------------- */

START_TEST(test_sealed_lines)
{
	json_t *o = json_pack("{s:s, s:i, s:[i, i], s:s}", "type", "shard", "index", 3, "files",
	                      1, 2, "split", "train\xc3\xa9");
	struct wn_buf b, again;
	json_t *back;

	wn_buf_init(&b, WN_BUF_UNLIMITED);
	wn_buf_init(&again, WN_BUF_UNLIMITED);
	ck_assert_int_eq(wn_ds_journal_seal(&b, o), WN_OK);
	ck_assert_int_eq(b.data[b.len - 1], '\n');
	ck_assert_ptr_nonnull(strstr(b.data, ",\"check\":\""));
	/* Read back, it is the object sealed, and seals to the same line. */
	back = wn_ds_journal_unseal(b.data, b.len - 1);
	ck_assert_ptr_nonnull(back);
	ck_assert(json_equal(back, o));
	ck_assert_int_eq(wn_ds_journal_seal(&again, back), WN_OK);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_mem_eq(again.data, b.data, b.len);
	json_decref(back);
	/* Any cut, and any changed byte, is caught. */
	for (size_t n = 0; n + 1 < b.len - 1; n++)
		ck_assert_msg(wn_ds_journal_unseal(b.data, n) == NULL, "cut at %zu", n);
	for (size_t i = 0; i < b.len - 1; i++) {
		for (int bit = 0; bit < 8; bit++) {
			json_t *x;

			b.data[i] ^= (char)(1 << bit);
			x = wn_ds_journal_unseal(b.data, b.len - 1);
			b.data[i] ^= (char)(1 << bit);
			ck_assert_msg(x == NULL, "byte %zu bit %d", i, bit);
		}
	}
	/* Not an object, or another member named check, is not a line. */
	ck_assert_ptr_null(wn_ds_journal_unseal("[1,\"check\":\"0000000000000000\"}", 30));
	wn_buf_release(&b);
	wn_buf_release(&again);
	json_decref(o);
}
END_TEST

START_TEST(test_shard_lines)
{
	struct wn_ds_jshard j = { .split = "train", .index = 7, .records = 99, .tokens = 1234,
	                          .end = 1, .nfiles = 2 }, r;
	json_t *o;

	for (int i = 0; i < 16; i++)
		j.content[i] = (unsigned char)(i * 17);
	for (size_t f = 0; f < 2; f++) {
		j.f[f].bytes = j.f[f].raw_bytes = 1000 + f;
		memset(j.f[f].sha256, (int)(0x30 + f), 32);
		memset(j.f[f].xxh3, (int)(0x40 + f), 16);
	}
	o = wn_ds_journal_shard(&j, 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(wn_ds_journal_get_shard(o, 2, 0, &r), 0);
	ck_assert_str_eq(r.split, "train");
	ck_assert_uint_eq(r.index, 7);
	ck_assert_uint_eq(r.records, 99);
	ck_assert_uint_eq(r.tokens, 1234);
	ck_assert_int_eq(r.end, 1);
	ck_assert_mem_eq(r.content, j.content, 16);
	ck_assert_mem_eq(r.f[1].sha256, j.f[1].sha256, 32);
	ck_assert_uint_eq(r.f[1].bytes, 1001);
	/* Of another format (another number of files): not a shard line. */
	ck_assert_int_eq(wn_ds_journal_get_shard(o, 3, 0, &r), -1);
	ck_assert_int_eq(wn_ds_journal_get_shard(o, 2, 1, &r), -1);
	json_decref(o);
}
END_TEST

/* ---- resuming through the library -------------------------------------------------- */

START_TEST(test_keep_then_resume)
{
	char *root = tmp_root(), *ref = join(root, "ref"), *dir = join(root, "ds");
	char *journal = join(dir, WN_DS_JOURNAL), *manifest = join(dir, "manifest.json");
	struct wn_dataset_opts o = opts_for(dir);
	struct wn_dataset_totals kept, t;
	struct wn_dataset *ds;
	struct wn_error err;
	uint64_t removed;

	build(ref, 600);
	ck_assert(!exists(journal));
	interrupted(dir, 400);
	ck_assert(exists(journal));
	ck_assert(!exists(manifest));
	o.resume = 1;
	wn_error_clear(&err);
	ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
	ck_assert_int_eq(wn_dataset_resumed(ds, &kept, &removed), 1);
	ck_assert_uint_gt(kept.shards, 3);
	ck_assert_uint_lt(kept.records, 400);
	ck_assert_uint_eq(removed, 0); /* keep removed the partial shards */
	ck_assert_msg(add_range(ds, 0, 600, &err) == WN_OK, "%s", err.msg);
	ck_assert_msg(wn_dataset_finish(ds, &err) == WN_OK, "%s", err.msg);
	wn_dataset_totals(ds, &t);
	ck_assert_uint_eq(t.records, 600);
	wn_dataset_free(ds);
	ck_assert(!exists(journal));
	assert_same_tree(ref, dir);
	/* A finished dataset is nothing to resume. */
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "nothing to resume"));
	free(journal);
	free(manifest);
	free(dir);
	free(ref);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_resume_checks_records)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir);
	struct wn_dataset_totals kept;
	struct wn_dataset *ds;
	struct wn_error err;
	char buf[512];
	size_t len;

	interrupted(dir, 400);
	o.resume = 1;
	/* Another record where a kept shard's came. */
	wn_error_clear(&err);
	ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
	ck_assert_int_eq(wn_dataset_resumed(ds, &kept, NULL), 1);
	ck_assert_msg(add_range(ds, 0, 5, &err) == WN_OK, "%s", err.msg);
	len = record(buf, sizeof buf, 5);
	buf[len - 3] ^= 1;
	ck_assert_int_eq(wn_dataset_add(ds, "train", buf, len, &err), WN_OK);
	ck_assert_int_eq(add_range(ds, 6, 400, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "differ from the interrupted run's"));
	wn_dataset_free(ds);
	/* A resumed writer keeps what it kept, whatever happens. */
	wn_error_clear(&err);
	ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
	ck_assert_int_eq(wn_dataset_resumed(ds, &kept, NULL), 1);
	ck_assert_uint_gt(kept.shards, 3);
	/* Fewer records than the kept shards hold. */
	ck_assert_msg(add_range(ds, 0, 50, &err) == WN_OK, "%s", err.msg);
	ck_assert_int_eq(wn_dataset_finish(ds, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "fewer records"));
	wn_dataset_free(ds);
	/* Other options: refused, before anything changes. */
	o.max_size = 8192;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--max-size differs"));
	o.max_size = 4096;
	o.pipeline = "read y.jsonl then shard --max-size 4KiB";
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "pipeline differs"));
	/* Not resuming: refused, with the way out. */
	o = opts_for(dir);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--resume"));
	/* And it still resumes to the right bytes. */
	{
		char *ref = join(root, "ref");

		build(ref, 400);
		o.resume = 1;
		ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
		ck_assert_msg(add_range(ds, 0, 400, &err) == WN_OK, "%s", err.msg);
		ck_assert_msg(wn_dataset_finish(ds, &err) == WN_OK, "%s", err.msg);
		wn_dataset_free(ds);
		assert_same_tree(ref, dir);
		free(ref);
	}
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_free_without_keep_removes_journal)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir);
	struct wn_dataset *ds;
	struct wn_error err;

	wn_error_clear(&err);
	ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
	ck_assert_msg(add_range(ds, 0, 300, &err) == WN_OK, "%s", err.msg);
	wn_dataset_free(ds);
	ck_assert(!exists(dir));
	/* --resume of nothing is a new dataset. */
	o.resume = 1;
	ck_assert_msg(wn_dataset_create(&ds, &o, &err) == WN_OK, "%s", err.msg);
	ck_assert_int_eq(wn_dataset_resumed(ds, NULL, NULL), 0);
	wn_dataset_free(ds);
	ck_assert(!exists(dir));
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("resume");
	TCase *j = tcase_create("journal"), *r = tcase_create("resume");

	tcase_add_test(j, test_sealed_lines);
	tcase_add_test(j, test_shard_lines);
	tcase_add_test(r, test_keep_then_resume);
	tcase_add_test(r, test_resume_checks_records);
	tcase_add_test(r, test_free_without_keep_removes_journal);
	tcase_set_timeout(r, 60);
	suite_add_tcase(s, j);
	suite_add_tcase(s, r);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

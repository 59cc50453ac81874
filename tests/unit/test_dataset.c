/*
 * test_dataset.c - the dataset writer and verifier: shard limits, content,
 * hashes, determinism, the metadata files, and every kind of problem
 * verification reports.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <xxhash.h>
#include <zstd.h>

#include "winnow/dataset.h"
#include "winnow/status.h"

/* ---- helpers ----------------------------------------------------------------- */

static char *tmp_root(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	ck_assert_int_ge(asprintf(&path, "%s/wn-dataset-XXXXXX", base && *base ? base : "/tmp"),
	                 0);
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

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* Names in a directory, sorted, "." and ".." left out. */
static size_t list_dir(const char *dir, char ***names)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	size_t k = 0;

	ck_assert_int_ge(n, 0);
	*names = calloc((size_t)n + 1, sizeof **names);
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") != 0 && strcmp(ents[i]->d_name, "..") != 0)
			(*names)[k++] = strdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return k;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Two directory trees hold the same names and the same bytes. */
static void assert_same_tree(const char *a, const char *b)
{
	char **na, **nb;
	size_t ka = list_dir(a, &na), kb = list_dir(b, &nb);

	ck_assert_uint_eq(ka, kb);
	for (size_t i = 0; i < ka; i++) {
		char *pa = join(a, na[i]), *pb = join(b, nb[i]);
		struct stat sa, sb;

		ck_assert_str_eq(na[i], nb[i]);
		ck_assert_int_eq(lstat(pa, &sa), 0);
		ck_assert_int_eq(lstat(pb, &sb), 0);
		if (S_ISDIR(sa.st_mode)) {
			ck_assert(S_ISDIR(sb.st_mode));
			assert_same_tree(pa, pb);
		} else {
			size_t la, lb;
			char *da = slurp(pa, &la), *db = slurp(pb, &lb);

			ck_assert_msg(la == lb && memcmp(da, db, la) == 0, "%s and %s differ", pa,
			              pb);
			free(da);
			free(db);
		}
		free(pa);
		free(pb);
	}
	free_names(na, ka);
	free_names(nb, kb);
}

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const words[] = {
	"the", "of", "and", "to", "in", "shard", "record", "token", "corpus", "filter",
	"dedup", "manifest", "river", "stone", "light", "window", "garden", "number",
	"quiet", "signal", "market", "forest", "engine", "paper", "winter", "summer",
	"bridge", "harbor", "letter", "mirror", "planet", "silver",
};

/* A JSON record of `n` words, deterministic in (seed of rng, i). */
static size_t make_record(char *buf, size_t cap, unsigned i, unsigned n)
{
	size_t len = (size_t)snprintf(buf, cap, "{\"id\":\"r%u\",\"text\":\"", i);

	for (unsigned w = 0; w < n; w++) {
		const char *word = words[rnd() % (sizeof words / sizeof words[0])];

		len += (size_t)snprintf(buf + len, cap - len, "%s%s", w ? " " : "", word);
		/* Not ck_assert: Check logs every assertion it passes. */
		if (len >= cap)
			ck_abort_msg("record buffer too small");
	}
	len += (size_t)snprintf(buf + len, cap - len, " %llu\"}", (unsigned long long)rnd());
	if (len >= cap)
		ck_abort_msg("record buffer too small");
	return len;
}

/* A record that barely compresses: random characters from 64 symbols. */
static char *make_noise(size_t n)
{
	static const char sym[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *p = malloc(n + 1);
	size_t k = (size_t)snprintf(p, n, "{\"id\":\"noise\",\"text\":\"");

	for (; k < n - 2; k++)
		p[k] = sym[rnd() % 64];
	p[k++] = '"';
	p[k++] = '}';
	p[k] = '\0';
	return p;
}

/* What was added to each split, as the shards must hold it. */
struct expect {
	char *train, *validation;
	size_t ntrain, nvalidation;     /* bytes */
	size_t ctrain, cvalidation;     /* allocated */
	uint64_t rtrain, rvalidation;   /* records */
};

static void expect_add(char **buf, size_t *len, size_t *cap, const char *rec, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = 2 * (*len + n + 1);
		*buf = realloc(*buf, *cap);
		ck_assert_ptr_nonnull(*buf);
	}
	memcpy(*buf + *len, rec, n);
	(*buf)[*len + n] = '\n';
	*len += n + 1;
}

static void expect_release(struct expect *e)
{
	free(e->train);
	free(e->validation);
	memset(e, 0, sizeof *e);
}

/*
 * Write `n` records of about `avg_words` words, one in 10 to "validation",
 * with opts; `noise_at` (when not 0) puts one incompressible record of
 * `noise_len` bytes at that position in train.
 */
static void build(const struct wn_dataset_opts *o, unsigned n, unsigned avg_words,
                  unsigned noise_at, size_t noise_len, struct expect *e)
{
	struct wn_dataset *ds;
	struct wn_error err;
	char buf[16384];

	rng = 0x9e3779b97f4a7c15ull;
	memset(e, 0, sizeof *e);
	wn_error_clear(&err);
	ck_assert_msg(wn_dataset_create(&ds, o, &err) == WN_OK, "create: %s", err.msg);
	for (unsigned i = 0; i < n; i++) {
		size_t len;
		const char *split = i % 10 == 3 ? "validation" : "train";
		char *noise = NULL;
		const char *rec = buf;

		if (noise_at && i == noise_at) {
			noise = make_noise(noise_len);
			rec = noise;
			len = noise_len;
			split = "train";
		} else {
			unsigned nw = 1 + (unsigned)(rnd() % (2 * avg_words));

			len = make_record(buf, sizeof buf, i, nw);
		}
		if (wn_dataset_add(ds, split, rec, len, &err) != WN_OK)
			ck_abort_msg("add: %s", err.msg);
		if (split[0] == 't') {
			expect_add(&e->train, &e->ntrain, &e->ctrain, rec, len);
			e->rtrain++;
		} else {
			expect_add(&e->validation, &e->nvalidation, &e->cvalidation, rec, len);
			e->rvalidation++;
		}
		free(noise);
	}
	ck_assert_msg(wn_dataset_finish(ds, &err) == WN_OK, "finish: %s", err.msg);
	wn_dataset_free(ds);
}

static json_t *load_manifest(const char *dir)
{
	char *path = join(dir, "manifest.json");
	json_error_t jerr;
	json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	ck_assert_msg(m != NULL, "manifest: %s", jerr.text);
	free(path);
	return m;
}

static void save_manifest(const char *dir, json_t *m)
{
	char *path = join(dir, "manifest.json");

	ck_assert_int_eq(json_dump_file(m, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
	free(path);
}

/* Decompress a whole shard file; also checks it holds exactly one frame. */
static char *unzstd(const char *path, size_t *outlen)
{
	size_t len, cap = 1 << 20, n = 0;
	char *src = slurp(path, &len), *dst = malloc(cap);
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { src, len, 0 };
	size_t r = 1;

	ck_assert_uint_eq(ZSTD_findFrameCompressedSize(src, len), len);
	while (ib.pos < ib.size || r != 0) {
		ZSTD_outBuffer ob;

		if (cap - n < 65536) {
			cap *= 2;
			dst = realloc(dst, cap);
		}
		ob = (ZSTD_outBuffer){ dst + n, cap - n, 0 };
		r = ZSTD_decompressStream(d, &ob, &ib);
		ck_assert_msg(!ZSTD_isError(r), "%s: %s", path, ZSTD_getErrorName(r));
		n += ob.pos;
		if (ib.pos == ib.size && ob.pos == 0 && r != 0)
			ck_abort_msg("%s: truncated frame", path);
	}
	ZSTD_freeDCtx(d);
	free(src);
	*outlen = n;
	return dst;
}

static void hex(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void xxh128_hex(char *out, const void *p, size_t n)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	hex(out, c.digest, 16);
}

static void sha256_hex(char *out, const void *p, size_t n)
{
	unsigned char md[32];

	ck_assert(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL));
	hex(out, md, 32);
}

static struct wn_dataset_opts opts_for(const char *dir, uint64_t max_size, unsigned threads)
{
	struct wn_dataset_opts o = {
		.dir = dir,
		.max_size = max_size,
		.threads = threads,
		.pipeline = "winnow read in.jsonl then shard -o out",
		.name = "test-set",
	};
	return o;
}

/* Verify and return the problem count; *rep stays for inspection. */
static int run_verify(const char *target, int deep, unsigned threads,
                      struct wn_verify_report *rep)
{
	struct wn_verify_opts vo = { .deep = deep, .threads = threads };
	struct wn_error err;

	wn_error_clear(&err);
	return wn_verify(target, &vo, rep, &err);
}

/* Exactly one problem of this kind for this path. */
static int has_problem(const struct wn_verify_report *rep, const char *path, const char *kind)
{
	int n = 0;

	for (size_t i = 0; i < rep->nproblems; i++)
		if (strcmp(rep->problems[i].path, path) == 0 &&
		    strcmp(rep->problems[i].kind, kind) == 0)
			n++;
	return n == 1;
}

static void dump_problems(const struct wn_verify_report *rep)
{
	for (size_t i = 0; i < rep->nproblems; i++)
		fprintf(stderr, "  %s: %s: %s\n", rep->problems[i].path, rep->problems[i].kind,
		        rep->problems[i].detail);
}

/* A small two-split dataset with several shards per split. */
static char *small_dataset(struct expect *e)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir, 16384, 2);

	build(&o, 1500, 30, 0, 0, e);
	free(root);
	return dir;
}

static void cleanup(char *dir)
{
	char *root = strdup(dir);

	*strrchr(root, '/') = '\0';
	rm_rf(root);
	free(root);
	free(dir);
}

/* The path of shard i of the manifest. */
static const char *shard_path(json_t *m, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(m, "shards"), i),
	                                         "path"));
}

/* ---- writing ----------------------------------------------------------------- */

START_TEST(test_shards_respect_max_size)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir, 65536, 2);
	struct expect e;
	json_t *m, *sh;
	size_t i;
	uint64_t train = 0, validation = 0, oversize = 0, ntrain = 0;

	/* Record 2000 alone compresses to more than max_size. */
	build(&o, 4000, 40, 2000, 200000, &e);
	m = load_manifest(dir);
	json_array_foreach(json_object_get(m, "shards"), i, sh) {
		char *path = join(dir, json_string_value(json_object_get(sh, "path")));
		uint64_t size = file_size(path);
		uint64_t records = (uint64_t)json_integer_value(json_object_get(sh, "records"));
		const char *split = json_string_value(json_object_get(sh, "split"));

		ck_assert_uint_eq(size, (uint64_t)json_integer_value(json_object_get(sh, "bytes")));
		ck_assert_uint_gt(records, 0);
		/* Only a record too big for any shard makes one bigger. */
		if (size > o.max_size) {
			ck_assert_uint_eq(records, 1);
			oversize++;
		}
		if (strcmp(split, "train") == 0) {
			train += records;
			ntrain++;
		} else {
			validation += records;
		}
		free(path);
	}
	ck_assert_uint_eq(oversize, 1);
	ck_assert_uint_ge(ntrain, 5);
	ck_assert_uint_eq(train, e.rtrain);
	ck_assert_uint_eq(validation, e.rvalidation);
	ck_assert_uint_eq((uint64_t)json_integer_value(json_object_get(
		json_object_get(m, "totals"), "records")), e.rtrain + e.rvalidation);
	json_decref(m);
	expect_release(&e);
	rm_rf(root);
	free(root);
	free(dir);
}
END_TEST

START_TEST(test_shards_are_full)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir, 65536, 1);
	struct expect e;
	json_t *m, *sh;
	size_t i, n;

	build(&o, 6000, 40, 0, 0, &e);
	m = load_manifest(dir);
	n = json_array_size(json_object_get(m, "shards"));
	json_array_foreach(json_object_get(m, "shards"), i, sh) {
		const char *path = json_string_value(json_object_get(sh, "path"));
		uint64_t bytes = (uint64_t)json_integer_value(json_object_get(sh, "bytes"));

		/* Every shard but the last of its split is closed only once less
		 * than 1/32 of the limit is left, or the next record does not fit. */
		if (strstr(path, "train-") && i + 1 < n &&
		    strstr(shard_path(m, i + 1), "train-"))
			ck_assert_msg(bytes > o.max_size * 9 / 10, "%s: only %llu bytes", path,
			              (unsigned long long)bytes);
		ck_assert_uint_le(bytes, o.max_size);
	}
	json_decref(m);
	expect_release(&e);
	rm_rf(root);
	free(root);
	free(dir);
}
END_TEST

START_TEST(test_max_records_exact)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir, 0, 2);
	struct expect e;
	json_t *m, *sh;
	size_t i;
	uint64_t counts[32], ntrain = 0;

	o.max_records = 100;
	build(&o, 1170, 10, 0, 0, &e);
	ck_assert_uint_eq(e.rtrain, 1053);
	m = load_manifest(dir);
	json_array_foreach(json_object_get(m, "shards"), i, sh) {
		if (strcmp(json_string_value(json_object_get(sh, "split")), "train") == 0) {
			ck_assert_uint_lt(ntrain, 32);
			counts[ntrain++] =
				(uint64_t)json_integer_value(json_object_get(sh, "records"));
		}
	}
	ck_assert_uint_eq(ntrain, 11);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(counts[i], 100);
	ck_assert_uint_eq(counts[10], 53);
	ck_assert_str_eq(shard_path(m, 0), "data/train-00000-of-00011.jsonl.zst");
	json_decref(m);
	expect_release(&e);
	rm_rf(root);
	free(root);
	free(dir);
}
END_TEST

/* Concatenate a split's shards, in index order, decompressed. */
static char *split_content(const char *dir, json_t *m, const char *split, size_t *len)
{
	json_t *sh;
	size_t i, total = 0;
	char *all = NULL;

	json_array_foreach(json_object_get(m, "shards"), i, sh) {
		char *path;
		size_t n;
		char *raw;

		if (strcmp(json_string_value(json_object_get(sh, "split")), split) != 0)
			continue;
		path = join(dir, json_string_value(json_object_get(sh, "path")));
		raw = unzstd(path, &n);
		ck_assert_uint_eq(n, (uint64_t)json_integer_value(json_object_get(sh,
		                                                                  "raw_bytes")));
		all = realloc(all, total + n + 1);
		memcpy(all + total, raw, n);
		total += n;
		free(raw);
		free(path);
	}
	*len = total;
	return all;
}

START_TEST(test_shards_hold_the_records_in_order)
{
	struct expect e;
	char *dir = small_dataset(&e), *content;
	json_t *m = load_manifest(dir);
	size_t len;

	content = split_content(dir, m, "train", &len);
	ck_assert_uint_eq(len, e.ntrain);
	ck_assert(memcmp(content, e.train, len) == 0);
	free(content);
	content = split_content(dir, m, "validation", &len);
	ck_assert_uint_eq(len, e.nvalidation);
	ck_assert(memcmp(content, e.validation, len) == 0);
	free(content);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_hashes_and_sums_independent)
{
	struct expect e;
	char *dir = small_dataset(&e), *sums_path = join(dir, "SHA256SUMS"), *sums;
	json_t *m = load_manifest(dir), *sh;
	char want[65536] = "", h[65], *names_dir = join(dir, "data");
	char **names;
	size_t n = list_dir(names_dir, &names), len, i;

	/* SHA256SUMS, rebuilt from the files alone. */
	for (i = 0; i < n; i++) {
		char *rel = join("data", names[i]), *path = join(dir, rel), *data;
		size_t dlen;

		data = slurp(path, &dlen);
		sha256_hex(h, data, dlen);
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s  %s\n", h, rel);
		free(data);
		free(path);
		free(rel);
	}
	sums = slurp(sums_path, &len);
	ck_assert_str_eq(sums, want);
	sha256_hex(h, sums, len);
	ck_assert_str_eq(json_string_value(json_object_get(m, "root_sha256")), h);
	ck_assert_uint_eq(json_array_size(json_object_get(m, "shards")), n);
	/* Per shard: sha256 and xxh3-128 of the file, xxh3-128 of the content,
	 * and the paths in sorted order. */
	json_array_foreach(json_object_get(m, "shards"), i, sh) {
		char *path = join(dir, json_string_value(json_object_get(sh, "path")));
		char *data, *raw;
		size_t dlen, rlen;

		ck_assert_str_eq(json_string_value(json_object_get(sh, "path")) + 5, names[i]);
		data = slurp(path, &dlen);
		sha256_hex(h, data, dlen);
		ck_assert_str_eq(json_string_value(json_object_get(sh, "sha256")), h);
		xxh128_hex(h, data, dlen);
		ck_assert_str_eq(json_string_value(json_object_get(sh, "xxh3_128")), h);
		raw = unzstd(path, &rlen);
		xxh128_hex(h, raw, rlen);
		ck_assert_str_eq(json_string_value(json_object_get(sh, "raw_xxh3_128")), h);
		ck_assert_str_eq(json_string_value(json_object_get(sh, "format")), "jsonl");
		free(raw);
		free(data);
		free(path);
	}
	free(sums);
	free(sums_path);
	free(names_dir);
	free_names(names, n);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_manifest_fields)
{
	struct expect e;
	char *dir = small_dataset(&e);
	json_t *m = load_manifest(dir), *splits, *tr;
	const char *key;
	json_t *v;
	const char *order[] = { "format", "version", "tool", "pipeline", "compression",
	                        "splits", "totals", "root_sha256", "shards" };
	size_t k = 0;

	json_object_foreach(m, key, v)
		ck_assert_str_eq(key, order[k++]);
	ck_assert_uint_eq(k, 9);
	ck_assert_str_eq(json_string_value(json_object_get(m, "format")), "winnow-dataset");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "tool"), "name")),
	                 "winnow");
	ck_assert_str_eq(json_string_value(json_object_get(m, "pipeline")),
	                 "winnow read in.jsonl then shard -o out");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "compression"),
	                                                   "codec")), "zstd");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "compression"),
	                                                    "level")), 3);
	splits = json_object_get(m, "splits");
	k = 0;
	json_object_foreach(splits, key, v)
		ck_assert_str_eq(key, k++ ? "validation" : "train");
	tr = json_object_get(splits, "train");
	ck_assert_int_eq(json_integer_value(json_object_get(tr, "records")), (json_int_t)e.rtrain);
	ck_assert_int_eq(json_integer_value(json_object_get(tr, "raw_bytes")),
	                 (json_int_t)e.ntrain);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_card)
{
	struct expect e;
	char *dir = small_dataset(&e), *path = join(dir, "README.md"), *card;
	const char *front = "---\nconfigs:\n- config_name: default\n  data_files:\n"
	                    "  - split: train\n    path: \"data/train-*\"\n"
	                    "  - split: validation\n    path: \"data/validation-*\"\n"
	                    "---\n";
	size_t len;

	card = slurp(path, &len);
	ck_assert_msg(strncmp(card, front, strlen(front)) == 0, "front matter:\n%s", card);
	ck_assert_ptr_nonnull(strstr(card, "\n# test-set\n"));
	ck_assert_ptr_nonnull(strstr(card, "```\nwinnow read in.jsonl then shard -o out\n```\n"));
	ck_assert_ptr_nonnull(strstr(card, "sha256sum -c SHA256SUMS"));
	ck_assert_ptr_nonnull(strstr(card, "winnow verify"));
	ck_assert_ptr_nonnull(strstr(card, "load_dataset("));
	free(card);
	free(path);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

/* Large enough for several zstd jobs (2 MiB of input each) per shard. */
static void build_big(const char *dir, unsigned threads)
{
	struct wn_dataset_opts o = opts_for(dir, (uint64_t)3 << 19, threads);
	struct expect e;

	build(&o, 60000, 40, 0, 0, &e);
	expect_release(&e);
}

START_TEST(test_threads_give_identical_bytes)
{
	char *root = tmp_root(), *d1 = join(root, "t1"), *d2 = join(root, "t2");
	char *d3 = join(root, "t3"), *d2b = join(root, "t2b");
	json_t *m, *s0;

	build_big(d1, 1);
	build_big(d2, 2);
	build_big(d3, 3);
	build_big(d2b, 2);
	/* Several shards, each of several zstd jobs. */
	m = load_manifest(d1);
	s0 = json_array_get(json_object_get(m, "shards"), 0);
	ck_assert_uint_ge(json_array_size(json_object_get(m, "shards")), 3);
	ck_assert_int_gt(json_integer_value(json_object_get(s0, "raw_bytes")), 2 * (2 << 20));
	json_decref(m);
	assert_same_tree(d1, d2);
	assert_same_tree(d1, d3);
	assert_same_tree(d2, d2b);
	rm_rf(root);
	free(root);
	free(d1);
	free(d2);
	free(d3);
	free(d2b);
}
END_TEST

START_TEST(test_two_runs_identical)
{
	struct expect e1, e2;
	char *a = small_dataset(&e1), *b = small_dataset(&e2);

	assert_same_tree(a, b);
	expect_release(&e1);
	expect_release(&e2);
	cleanup(a);
	cleanup(b);
}
END_TEST

START_TEST(test_refuses_non_empty_dir)
{
	char *root = tmp_root(), *dir = join(root, "ds"), *f = join(dir, "notes.txt");
	struct wn_dataset_opts o = opts_for(dir, 0, 1);
	struct wn_dataset *ds;
	struct wn_error err;
	size_t len;
	char *keep, *data;

	ck_assert_int_eq(mkdir(dir, 0777), 0);
	spit(f, "mine\n", 5);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	ck_assert_ptr_null(ds);
	ck_assert_ptr_nonnull(strstr(err.msg, "not empty"));
	data = join(dir, "data");
	ck_assert(!exists(data));
	free(data);
	/* With force, files that are not the dataset's stay. */
	o.force = 1;
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_add(ds, "train", "{}", 2, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_finish(ds, &err), WN_OK);
	wn_dataset_free(ds);
	keep = slurp(f, &len);
	ck_assert_str_eq(keep, "mine\n");
	free(keep);
	free(f);
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_force_replaces_previous_dataset)
{
	struct expect e;
	char *dir = small_dataset(&e), *data = join(dir, "data"), **names;
	struct wn_dataset_opts o = opts_for(dir, 0, 2);
	struct wn_verify_report rep;
	struct wn_dataset *ds;
	struct wn_error err;
	char *stray, *tmp;
	size_t n;

	/* An interrupted run's leftovers go too. */
	tmp = join(data, ".train-00007.jsonl.zst.tmp");
	spit(tmp, "x", 1);
	o.force = 1;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_add(ds, "test", "{\"a\":1}", 7, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_finish(ds, &err), WN_OK);
	wn_dataset_free(ds);
	n = list_dir(data, &names);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "test-00000-of-00001.jsonl.zst");
	free_names(names, n);
	ck_assert_int_eq(run_verify(dir, 1, 1, &rep), WN_OK);
	wn_verify_report_release(&rep);
	/* A file in data/ that is not winnow's is refused even with force. */
	stray = join(data, "notes.txt");
	spit(stray, "mine", 4);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "notes.txt"));
	ck_assert(exists(stray));
	free(stray);
	free(tmp);
	free(data);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_data_symlink_refused)
{
	char *root = tmp_root(), *dir = join(root, "ds"), *elsewhere = join(root, "elsewhere");
	char *link = join(dir, "data");
	struct wn_dataset_opts o = opts_for(dir, 0, 1);
	struct wn_dataset *ds;
	struct wn_error err;
	char **names;

	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(mkdir(elsewhere, 0777), 0);
	ck_assert_int_eq(symlink(elsewhere, link), 0);
	o.force = 1;
	wn_error_clear(&err);
	ck_assert_int_lt(wn_dataset_create(&ds, &o, &err), 0);
	ck_assert_uint_eq(list_dir(elsewhere, &names), 0);
	free_names(names, 0);
	free(link);
	free(elsewhere);
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_free_without_finish_leaves_nothing)
{
	char *root = tmp_root(), *dir = join(root, "ds"), *made = join(root, "made");
	struct wn_dataset_opts o = opts_for(dir, 8192, 2);
	struct wn_dataset *ds;
	struct wn_dataset_totals t;
	struct wn_error err;
	char buf[4096], **names;

	/* The directory existed (empty): it stays, empty. */
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_OK);
	rng = 7;
	for (unsigned i = 0; i < 2000; i++) {
		size_t len = make_record(buf, sizeof buf, i, 30);

		if (wn_dataset_add(ds, i % 2 ? "train" : "test", buf, len, &err) != WN_OK)
			ck_abort_msg("add: %s", err.msg);
	}
	wn_dataset_totals(ds, &t);
	ck_assert_uint_gt(t.shards, 4);
	ck_assert_uint_eq(t.records, 2000);
	wn_dataset_free(ds);
	ck_assert_uint_eq(list_dir(dir, &names), 0);
	free_names(names, 0);
	/* A directory it made is removed. */
	o.dir = made;
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_add(ds, "train", "{}", 2, &err), WN_OK);
	wn_dataset_free(ds);
	ck_assert(!exists(made));
	free(made);
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_write_error_reported_and_cleaned)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir, 1 << 20, 2);
	struct wn_dataset *ds;
	struct wn_error err;
	struct rlimit old, small;
	char buf[4096];
	int rc = WN_OK;

	/* A file size limit stands in for a full disk: write() fails. */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 200000;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_OK);
	rng = 3;
	for (unsigned i = 0; i < 20000 && rc == WN_OK; i++) {
		size_t len = make_record(buf, sizeof buf, i, 60);

		rc = wn_dataset_add(ds, "train", buf, len, &err);
	}
	if (rc == WN_OK)
		rc = wn_dataset_finish(ds, &err);
	ck_assert_int_eq(rc, WN_EIO);
	ck_assert_msg(strstr(err.msg, "/data/.train-") != NULL, "message: %s", err.msg);
	/* Every later call fails the same way. */
	ck_assert_int_eq(wn_dataset_add(ds, "train", "{}", 2, &err), WN_EIO);
	ck_assert_int_eq(wn_dataset_finish(ds, &err), WN_EIO);
	wn_dataset_free(ds);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert(!exists(dir));
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_bad_records_and_names)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir, 0, 1);
	struct wn_verify_report rep;
	struct wn_dataset *ds;
	struct wn_dataset_totals t;
	struct wn_error err;

	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_add(ds, "train", "{\"a\":\n1}", 8, &err), WN_EDATA);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_add(ds, "train", "", 0, &err), WN_EDATA);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_add(ds, "train-2", "{}", 2, &err), WN_EUSAGE);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_add(ds, "", "{}", 2, &err), WN_EUSAGE);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_add(ds, "../x", "{}", 2, &err), WN_EUSAGE);
	wn_error_clear(&err);
	/* The writer is still usable after refusing them. */
	ck_assert_int_eq(wn_dataset_add(ds, "train_2", "{}", 2, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_finish(ds, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_add(ds, "train", "{}", 2, &err), WN_EUSAGE);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_finish(ds, &err), WN_EUSAGE);
	wn_dataset_totals(ds, &t);
	ck_assert_uint_eq(t.shards, 1);
	ck_assert_uint_eq(t.records, 1);
	ck_assert_uint_eq(t.raw_bytes, 3);
	wn_dataset_free(ds);
	ck_assert_int_eq(run_verify(dir, 1, 1, &rep), WN_OK);
	ck_assert_uint_eq(rep.records, 1);
	wn_verify_report_release(&rep);
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_bad_options)
{
	char *root = tmp_root(), *dir = join(root, "ds");
	struct wn_dataset_opts o = opts_for(dir, 0, 1);
	struct wn_dataset *ds;
	struct wn_error err;

	wn_error_clear(&err);
	o.level = 23;
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	o.level = 0;
	o.pipeline = "read \xff\xfe";
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	o.pipeline = NULL;
	o.dir = "";
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_EUSAGE);
	ck_assert(!exists(dir));
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(test_empty_dataset)
{
	char *root = tmp_root(), *dir = join(root, "ds"), *sums;
	struct wn_dataset_opts o = opts_for(dir, 0, 1);
	struct wn_verify_report rep;
	struct wn_dataset *ds;
	struct wn_error err;
	json_t *m;
	size_t len;
	char *p = join(dir, "SHA256SUMS");

	wn_error_clear(&err);
	ck_assert_int_eq(wn_dataset_create(&ds, &o, &err), WN_OK);
	ck_assert_int_eq(wn_dataset_finish(ds, &err), WN_OK);
	wn_dataset_free(ds);
	sums = slurp(p, &len);
	ck_assert_uint_eq(len, 0);
	m = load_manifest(dir);
	ck_assert_uint_eq(json_array_size(json_object_get(m, "shards")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "root_sha256")),
	                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_int_eq(run_verify(dir, 1, 2, &rep), WN_OK);
	ck_assert_uint_eq(rep.shards, 0);
	wn_verify_report_release(&rep);
	json_decref(m);
	free(sums);
	free(p);
	free(dir);
	rm_rf(root);
	free(root);
}
END_TEST

/* ---- verifying --------------------------------------------------------------- */

START_TEST(test_verify_accepts_what_was_written)
{
	struct expect e;
	char *dir = small_dataset(&e), *mpath = join(dir, "manifest.json");
	struct wn_verify_report rep;
	json_t *m = load_manifest(dir);
	uint64_t bytes = (uint64_t)json_integer_value(json_object_get(json_object_get(m, "totals"),
	                                                              "bytes"));

	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_OK);
	ck_assert_uint_eq(rep.nproblems, 0);
	ck_assert_uint_eq(rep.shards, json_array_size(json_object_get(m, "shards")));
	ck_assert_uint_eq(rep.bytes, bytes);
	ck_assert_uint_eq(rep.records, 0);
	ck_assert_str_eq(rep.dir, dir);
	wn_verify_report_release(&rep);
	/* Deep, and through the manifest's path. */
	ck_assert_int_eq(run_verify(mpath, 1, 3, &rep), WN_OK);
	ck_assert_uint_eq(rep.records, e.rtrain + e.rvalidation);
	ck_assert_str_eq(rep.dir, dir);
	wn_verify_report_release(&rep);
	json_decref(m);
	free(mpath);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_flipped_byte)
{
	struct expect e;
	char *dir = small_dataset(&e);
	json_t *m = load_manifest(dir);
	const char *rel = shard_path(m, 1);
	char *path = join(dir, rel), *data;
	struct wn_verify_report rep;
	size_t len;

	data = slurp(path, &len);
	data[len / 2] ^= 0x01;
	spit(path, data, len);
	ck_assert_int_eq(run_verify(dir, 0, 2, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 2);
	ck_assert_str_eq(rep.problems[0].kind, "sha256");
	ck_assert_str_eq(rep.problems[1].kind, "xxh3_128");
	ck_assert(has_problem(&rep, rel, "sha256"));
	ck_assert(has_problem(&rep, rel, "xxh3_128"));
	ck_assert_ptr_nonnull(strstr(rep.problems[0].detail, "expected "));
	wn_verify_report_release(&rep);
	/* Deep: the frame no longer decodes (or its checksum fails). */
	ck_assert_int_eq(run_verify(dir, 1, 2, &rep), WN_EVERIFY);
	ck_assert(has_problem(&rep, rel, "decode"));
	wn_verify_report_release(&rep);
	free(data);
	free(path);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_truncated_missing_extra)
{
	struct expect e;
	char *dir = small_dataset(&e);
	json_t *m = load_manifest(dir);
	const char *r0 = shard_path(m, 0), *r2 = shard_path(m, 2);
	char *p0 = join(dir, r0), *p2 = join(dir, r2);
	char *stray = join(dir, "data/stray.txt"), *sub = join(dir, "data/sub");
	char *stray2 = join(dir, "data/sub/x.jsonl.zst");
	struct wn_verify_report rep;

	ck_assert_int_eq(truncate(p0, (off_t)file_size(p0) - 10), 0);
	ck_assert_int_eq(unlink(p2), 0);
	spit(stray, "x", 1);
	ck_assert_int_eq(mkdir(sub, 0777), 0);
	spit(stray2, "y", 1);
	ck_assert_int_eq(run_verify(dir, 1, 2, &rep), WN_EVERIFY);
	if (rep.nproblems != 4)
		dump_problems(&rep);
	ck_assert_uint_eq(rep.nproblems, 4);
	ck_assert(has_problem(&rep, r0, "truncated"));
	ck_assert(has_problem(&rep, r2, "missing"));
	ck_assert(has_problem(&rep, "data/stray.txt", "extra"));
	ck_assert(has_problem(&rep, "data/sub/x.jsonl.zst", "extra"));
	/* Sorted by path. */
	for (size_t i = 1; i < rep.nproblems; i++)
		ck_assert_int_le(strcmp(rep.problems[i - 1].path, rep.problems[i].path), 0);
	wn_verify_report_release(&rep);
	free(stray2);
	free(sub);
	free(stray);
	free(p0);
	free(p2);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_unsafe_paths)
{
	struct expect e;
	char *dir = small_dataset(&e), *root = strdup(dir), *fifo, *outside, *link;
	json_t *m = load_manifest(dir), *shards = json_object_get(m, "shards");
	char *r2 = strdup(shard_path(m, 2));
	struct wn_verify_report rep;

	*strrchr(root, '/') = '\0';
	/* If verify opened the fifo, it would block and the test time out. */
	fifo = join(root, "fifo");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	outside = join(root, "outside.jsonl.zst");
	spit(outside, "z", 1);
	link = join(dir, r2);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink(fifo, link), 0);
	json_object_set_new(json_array_get(shards, 0), "path", json_string("../outside.jsonl.zst"));
	json_object_set_new(json_array_get(shards, 1), "path", json_string("/etc/passwd"));
	save_manifest(dir, m);
	ck_assert_int_eq(run_verify(dir, 1, 2, &rep), WN_EVERIFY);
	ck_assert(has_problem(&rep, "../outside.jsonl.zst", "unsafe-path"));
	ck_assert(has_problem(&rep, "/etc/passwd", "unsafe-path"));
	ck_assert(has_problem(&rep, r2, "unsafe-path"));
	for (size_t i = 0; i < rep.nproblems; i++) {
		ck_assert_str_ne(rep.problems[i].kind, "sha256");
		ck_assert_str_ne(rep.problems[i].kind, "missing");
	}
	wn_verify_report_release(&rep);
	/* A symlink to a regular file outside: also refused. */
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink(outside, link), 0);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert(has_problem(&rep, r2, "unsafe-path"));
	wn_verify_report_release(&rep);
	free(link);
	free(outside);
	free(fifo);
	free(r2);
	free(root);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_symlinked_metadata)
{
	struct expect e;
	char *dir = small_dataset(&e), *root = strdup(dir), *sums = join(dir, "SHA256SUMS");
	char *copy, *data = join(dir, "data"), *moved, *text;
	struct wn_verify_report rep;
	size_t len;

	*strrchr(root, '/') = '\0';
	/* SHA256SUMS as a link to an identical file outside: not followed. */
	copy = join(root, "sums-copy");
	text = slurp(sums, &len);
	spit(copy, text, len);
	ck_assert_int_eq(unlink(sums), 0);
	ck_assert_int_eq(symlink(copy, sums), 0);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 1);
	ck_assert(has_problem(&rep, "SHA256SUMS", "sha256sums"));
	wn_verify_report_release(&rep);
	ck_assert_int_eq(unlink(sums), 0);
	spit(sums, text, len);
	/* data/ as a link to the same shards outside: every shard is unsafe. */
	moved = join(root, "data-moved");
	ck_assert_int_eq(rename(data, moved), 0);
	ck_assert_int_eq(symlink(moved, data), 0);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert(has_problem(&rep, "data", "unsafe-path"));
	for (size_t i = 0; i < rep.nproblems; i++)
		ck_assert_str_eq(rep.problems[i].kind, "unsafe-path");
	ck_assert_uint_eq(rep.nproblems, rep.shards + 1);
	wn_verify_report_release(&rep);
	free(text);
	free(moved);
	free(copy);
	free(data);
	free(sums);
	free(root);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_bad_manifest)
{
	struct expect e;
	char *dir = small_dataset(&e), *mpath = join(dir, "manifest.json");
	struct wn_verify_report rep;
	json_t *m = load_manifest(dir);

	spit(mpath, "{\"format\": \"winnow-dataset\", ", 29);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 1);
	ck_assert_str_eq(rep.problems[0].kind, "manifest");
	ck_assert_str_eq(rep.problems[0].path, "manifest.json");
	wn_verify_report_release(&rep);
	json_object_set_new(m, "version", json_integer(2));
	save_manifest(dir, m);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 1);
	ck_assert_str_eq(rep.problems[0].kind, "manifest");
	wn_verify_report_release(&rep);
	json_object_set_new(m, "version", json_integer(1));
	json_object_set_new(m, "format", json_string("something-else"));
	save_manifest(dir, m);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 1);
	wn_verify_report_release(&rep);
	ck_assert_int_eq(unlink(mpath), 0);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 1);
	ck_assert_str_eq(rep.problems[0].kind, "manifest");
	wn_verify_report_release(&rep);
	/* No directory at all: verification cannot run. */
	ck_assert_int_eq(run_verify("/nonexistent/winnow-test", 0, 1, &rep), WN_EIO);
	ck_assert_ptr_null(rep.problems);
	free(mpath);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_sha256sums)
{
	struct expect e;
	char *dir = small_dataset(&e), *spath = join(dir, "SHA256SUMS"), *sums;
	struct wn_verify_report rep;
	json_t *m = load_manifest(dir);
	size_t len;
	char orig;

	sums = slurp(spath, &len);
	orig = sums[3];
	sums[3] = orig == 'a' ? 'b' : 'a';
	spit(spath, sums, len);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 1);
	ck_assert(has_problem(&rep, "SHA256SUMS", "sha256sums"));
	ck_assert_ptr_nonnull(strstr(rep.problems[0].detail, "line 1"));
	wn_verify_report_release(&rep);
	ck_assert_int_eq(unlink(spath), 0);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert(has_problem(&rep, "SHA256SUMS", "sha256sums"));
	wn_verify_report_release(&rep);
	sums[3] = orig;
	spit(spath, sums, len);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_OK);
	wn_verify_report_release(&rep);
	json_object_set_new(m, "root_sha256", json_string("00000000000000000000000000000000"
	                                                  "00000000000000000000000000000000"));
	save_manifest(dir, m);
	ck_assert_int_eq(run_verify(dir, 0, 1, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 1);
	ck_assert(has_problem(&rep, "SHA256SUMS", "sha256sums"));
	wn_verify_report_release(&rep);
	free(sums);
	free(spath);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_deep_only)
{
	struct expect e;
	char *dir = small_dataset(&e);
	json_t *m = load_manifest(dir), *shards = json_object_get(m, "shards");
	json_t *s0 = json_array_get(shards, 0), *s1 = json_array_get(shards, 1);
	const char *r0 = shard_path(m, 0), *r1 = shard_path(m, 1), *split;
	json_t *sp, *tot;
	struct wn_verify_report rep;
	json_int_t rec;

	/* The raw hash of one shard, and the record count of another with its
	 * split's and the dataset's totals kept consistent: the files still
	 * match, only decoding tells. */
	json_object_set_new(s0, "raw_xxh3_128", json_string("0123456789abcdef0123456789abcdef"));
	rec = json_integer_value(json_object_get(s1, "records"));
	json_object_set_new(s1, "records", json_integer(rec + 1));
	split = json_string_value(json_object_get(s1, "split"));
	sp = json_object_get(json_object_get(m, "splits"), split);
	json_object_set_new(sp, "records",
	                    json_integer(json_integer_value(json_object_get(sp, "records")) + 1));
	tot = json_object_get(m, "totals");
	json_object_set_new(tot, "records",
	                    json_integer(json_integer_value(json_object_get(tot, "records")) + 1));
	save_manifest(dir, m);
	ck_assert_int_eq(run_verify(dir, 0, 2, &rep), WN_OK);
	wn_verify_report_release(&rep);
	ck_assert_int_eq(run_verify(dir, 1, 2, &rep), WN_EVERIFY);
	if (rep.nproblems != 2)
		dump_problems(&rep);
	ck_assert_uint_eq(rep.nproblems, 2);
	ck_assert(has_problem(&rep, r0, "raw_xxh3_128"));
	ck_assert(has_problem(&rep, r1, "records"));
	wn_verify_report_release(&rep);
	/* Counts edited without their totals: plain verify sees it. */
	json_object_set_new(s1, "raw_bytes", json_integer(1));
	save_manifest(dir, m);
	ck_assert_int_eq(run_verify(dir, 0, 2, &rep), WN_EVERIFY);
	ck_assert_uint_eq(rep.nproblems, 2);
	for (size_t i = 0; i < rep.nproblems; i++) {
		ck_assert_str_eq(rep.problems[i].kind, "manifest");
		ck_assert_str_eq(rep.problems[i].path, "manifest.json");
		ck_assert_ptr_nonnull(strstr(rep.problems[i].detail, "raw_bytes"));
	}
	wn_verify_report_release(&rep);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_report_independent_of_threads)
{
	struct expect e;
	char *dir = small_dataset(&e), *path, *data, *stray;
	json_t *m = load_manifest(dir);
	struct wn_verify_report r1, rn;
	size_t len;

	for (size_t i = 0; i < 4; i++) {
		path = join(dir, shard_path(m, i));
		data = slurp(path, &len);
		data[i * 7] ^= 0x40;
		spit(path, data, len - (i == 3));
		free(data);
		free(path);
	}
	stray = join(dir, "data/zz");
	spit(stray, "", 0);
	ck_assert_int_eq(run_verify(dir, 1, 1, &r1), WN_EVERIFY);
	ck_assert_uint_ge(r1.nproblems, 8);
	for (unsigned t = 2; t <= 4; t++) {
		ck_assert_int_eq(run_verify(dir, 1, t, &rn), WN_EVERIFY);
		ck_assert_uint_eq(rn.nproblems, r1.nproblems);
		for (size_t i = 0; i < r1.nproblems; i++) {
			ck_assert_str_eq(rn.problems[i].path, r1.problems[i].path);
			ck_assert_str_eq(rn.problems[i].kind, r1.problems[i].kind);
			ck_assert_str_eq(rn.problems[i].detail, r1.problems[i].detail);
		}
		wn_verify_report_release(&rn);
	}
	wn_verify_report_release(&r1);
	free(stray);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

START_TEST(test_verify_multi_frame_shard)
{
	struct expect e;
	char *dir = small_dataset(&e);
	json_t *m = load_manifest(dir), *s0 = json_array_get(json_object_get(m, "shards"), 0);
	const char *r0 = shard_path(m, 0);
	char *path = join(dir, r0), *data, *two;
	struct wn_verify_report rep;
	size_t len;

	/* A second frame appended, manifest updated to match the file: plain
	 * verify has no complaint, deep mode warns about the second frame. */
	data = slurp(path, &len);
	two = malloc(2 * len);
	memcpy(two, data, len);
	memcpy(two + len, data, len);
	spit(path, two, 2 * len);
	{
		char h[65];

		sha256_hex(h, two, 2 * len);
		json_object_set_new(s0, "sha256", json_string(h));
		xxh128_hex(h, two, 2 * len);
		json_object_set_new(s0, "xxh3_128", json_string(h));
	}
	json_object_set_new(s0, "bytes", json_integer((json_int_t)(2 * len)));
	save_manifest(dir, m);
	ck_assert_int_eq(run_verify(dir, 1, 1, &rep), WN_EVERIFY);
	ck_assert(has_problem(&rep, r0, "decode"));
	wn_verify_report_release(&rep);
	free(two);
	free(data);
	free(path);
	json_decref(m);
	expect_release(&e);
	cleanup(dir);
}
END_TEST

/* ---- split assignment -------------------------------------------------------- */

START_TEST(test_split_pick)
{
	unsigned held = 0, same = 0, held2 = 0;
	char key[32];

	for (unsigned i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof key, "doc-%u", i);
		int a = wn_split_pick(key, (size_t)n, 42, 0.1);

		/* Not ck_assert in the loop: Check logs every assertion. */
		if (a != wn_split_pick(key, (size_t)n, 42, 0.1))
			ck_abort_msg("%s: not deterministic", key);
		held += (unsigned)a;
		held2 += (unsigned)wn_split_pick(key, (size_t)n, 43, 0.1);
		same += (unsigned)(a && wn_split_pick(key, (size_t)n, 43, 0.1));
		if (wn_split_pick(key, (size_t)n, 42, 0.0) ||
		    !wn_split_pick(key, (size_t)n, 42, 1.0))
			ck_abort_msg("%s: fraction 0 or 1 not respected", key);
		/* Monotone in the fraction: held out at 0.1 implies at 0.2. */
		if (a && !wn_split_pick(key, (size_t)n, 42, 0.2))
			ck_abort_msg("%s: held out at 0.1, not at 0.2", key);
	}
	/* 5 standard deviations of a binomial(100000, 0.1) is 474. */
	ck_assert_uint_gt(held, 10000 - 474);
	ck_assert_uint_lt(held, 10000 + 474);
	ck_assert_uint_gt(held2, 10000 - 474);
	ck_assert_uint_lt(held2, 10000 + 474);
	/* Another seed, another (independent) choice: about 1% in both. */
	ck_assert_uint_lt(same, 1500);
	/* Stable across runs and machines: a fixed value. */
	ck_assert_int_eq(wn_split_pick("", 0, 0, 0.5), (XXH3_64bits_withSeed("", 0, 0) >> 11) *
	                                               0x1.0p-53 < 0.5);
}
END_TEST

static Suite *dataset_suite(void)
{
	Suite *s = suite_create("dataset");
	TCase *w = tcase_create("write"), *v = tcase_create("verify");
	TCase *p = tcase_create("split");

	tcase_set_timeout(w, 300);
	tcase_set_timeout(v, 120);
	tcase_add_test(w, test_shards_respect_max_size);
	tcase_add_test(w, test_shards_are_full);
	tcase_add_test(w, test_max_records_exact);
	tcase_add_test(w, test_shards_hold_the_records_in_order);
	tcase_add_test(w, test_hashes_and_sums_independent);
	tcase_add_test(w, test_manifest_fields);
	tcase_add_test(w, test_card);
	tcase_add_test(w, test_threads_give_identical_bytes);
	tcase_add_test(w, test_two_runs_identical);
	tcase_add_test(w, test_refuses_non_empty_dir);
	tcase_add_test(w, test_force_replaces_previous_dataset);
	tcase_add_test(w, test_data_symlink_refused);
	tcase_add_test(w, test_free_without_finish_leaves_nothing);
	tcase_add_test(w, test_write_error_reported_and_cleaned);
	tcase_add_test(w, test_bad_records_and_names);
	tcase_add_test(w, test_bad_options);
	tcase_add_test(w, test_empty_dataset);
	suite_add_tcase(s, w);
	tcase_add_test(v, test_verify_accepts_what_was_written);
	tcase_add_test(v, test_verify_flipped_byte);
	tcase_add_test(v, test_verify_truncated_missing_extra);
	tcase_add_test(v, test_verify_unsafe_paths);
	tcase_add_test(v, test_verify_symlinked_metadata);
	tcase_add_test(v, test_verify_bad_manifest);
	tcase_add_test(v, test_verify_sha256sums);
	tcase_add_test(v, test_verify_deep_only);
	tcase_add_test(v, test_verify_report_independent_of_threads);
	tcase_add_test(v, test_verify_multi_frame_shard);
	suite_add_tcase(s, v);
	tcase_add_test(p, test_split_pick);
	suite_add_tcase(s, p);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dataset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

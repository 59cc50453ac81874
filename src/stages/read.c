/*
 * read.c - the source stage: JSONL, CSV and TSV files (plain, .zst, .gz),
 * directories and standard input, as records; with --rank/--world-size,
 * one rank's share of them (wn_split_plan).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/registry.h"
#include "winnow/io.h"

enum on_error { ON_ERROR_STOP, ON_ERROR_SKIP };

struct read_opts {
	int format;
	char delimiter;
	int no_header;
	int add_id;
	int on_error;
	const char *rejects;
	uint64_t max_record;
	const char *rank;
	uint64_t world;
};

#define OPT(field) offsetof(struct read_opts, field)

static const struct wn_option read_options[] = {
	{ "format", 'f', WN_OPT_CHOICE, OPT(format), "FORMAT", "auto", "auto|jsonl|csv|tsv",
	  "input format; auto looks at the file name, then at the content", 0 },
	{ "delimiter", 'd', WN_OPT_CHAR, OPT(delimiter), "CHAR", NULL, NULL,
	  "CSV field delimiter (default ',' for CSV, tab for TSV)", 0 },
	{ "no-header", 0, WN_OPT_FLAG, OPT(no_header), NULL, NULL, NULL,
	  "CSV has no header row: columns are named c1, c2, ...", 0 },
	{ "add-id", 0, WN_OPT_FLAG, OPT(add_id), NULL, NULL, NULL,
	  "give records without an id one from their origin, \"PATH/INDEX\" as datatrove does",
	  0 },
	{ "on-error", 0, WN_OPT_CHOICE, OPT(on_error), "MODE", "stop", "stop|skip",
	  "stop at the first bad record, or skip bad records and count them", 0 },
	{ "rejects", 0, WN_OPT_STRING, OPT(rejects), "FILE", NULL, NULL,
	  "with --on-error=skip, write each bad record to FILE as JSONL with the reason", 0 },
	{ "max-record-size", 0, WN_OPT_SIZE, OPT(max_record), "SIZE", "64MiB", NULL,
	  "longest record (line or CSV row) accepted", 0 },
	{ "rank", 0, WN_OPT_STRING, OPT(rank), "R|auto", NULL, NULL,
	  "read only rank R's share of the input (0 <= R < --world-size); auto takes it "
	  "from Slurm's SLURM_ARRAY_TASK_* or Kubernetes' JOB_COMPLETION_INDEX",
	  WN_OPTF_UNRECORDED },
	{ "world-size", 0, WN_OPT_UINT, OPT(world), "W", NULL, NULL,
	  "split the input among W ranks, which together read every record once",
	  WN_OPTF_UNRECORDED },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

struct read_state {
	char **paths;
	size_t npaths;
	struct wn_split_part *parts; /* what this rank reads, in order */
	size_t nparts;
	int rejects_fd;
	uint64_t skipped;
	struct wn_buf scratch;
};

/* A non-negative decimal number, all of s. */
static int parse_count(const char *s, uint64_t *v)
{
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	if (*end || errno)
		return -1;
	*v = n;
	return 0;
}

/* An environment variable that must hold a number, when it is set. */
static int env_count(struct wn_stage *st, const char *name, uint64_t *v, int *set)
{
	const char *s = getenv(name);
	*set = s != NULL;
	if (s && parse_count(s, v) < 0)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--rank auto: %s is not a number: '%s'", name, s);
	return WN_OK;
}

/*
 * A Slurm job array's task: R = (ID - MIN) / STEP among COUNT tasks, which
 * needs the array to be a plain range MIN-MAX[:STEP] (a list such as 1,5,6
 * has no rank to derive).
 */
static int slurm_rank(struct wn_stage *st, uint64_t id, uint64_t *rank, uint64_t *world)
{
	uint64_t count, min = 0, step = 1, max = 0;
	int set, has_max;
	WN_TRY(env_count(st, "SLURM_ARRAY_TASK_COUNT", &count, &set));
	if (!set)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--rank auto: SLURM_ARRAY_TASK_ID is set but "
		                      "SLURM_ARRAY_TASK_COUNT is not");
	WN_TRY(env_count(st, "SLURM_ARRAY_TASK_MIN", &min, &set));
	WN_TRY(env_count(st, "SLURM_ARRAY_TASK_STEP", &step, &set));
	WN_TRY(env_count(st, "SLURM_ARRAY_TASK_MAX", &max, &has_max));
	if (step == 0)
		step = 1;
	if (count == 0 || id < min || (id - min) % step != 0 || (id - min) / step >= count ||
	    (has_max && (max < min || (max - min) / step + 1 != count ||
	                 (max - min) % step != 0)))
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--rank auto: the Slurm array is not a range MIN-MAX:STEP "
		                      "(task %" PRIu64 " of %" PRIu64 "); give --rank and "
		                      "--world-size", id, count);
	*rank = (id - min) / step;
	*world = count;
	return WN_OK;
}

/* --rank and --world-size, checked; world 0 means the input is not split. */
static int resolve_rank(struct wn_stage *st, uint64_t *rank, uint64_t *world)
{
	struct read_opts *o = st->opts;
	*rank = 0;
	*world = 0;
	if (!o->rank && o->world == 0)
		return WN_OK;
	if (!o->rank)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--world-size needs --rank (a number, or auto)");
	if (strcmp(o->rank, "auto") == 0) {
		uint64_t id;
		int set;
		WN_TRY(env_count(st, "SLURM_ARRAY_TASK_ID", &id, &set));
		if (set) {
			WN_TRY(slurm_rank(st, id, rank, world));
			if (o->world && o->world != *world)
				return wn_stage_error(st, WN_EUSAGE, NULL, 0,
				                      "--world-size %" PRIu64 " but the Slurm array has "
				                      "%" PRIu64 " tasks", o->world, *world);
		} else {
			WN_TRY(env_count(st, "JOB_COMPLETION_INDEX", rank, &set));
			if (!set)
				return wn_stage_error(st, WN_EUSAGE, NULL, 0,
				                      "--rank auto: neither SLURM_ARRAY_TASK_ID nor "
				                      "JOB_COMPLETION_INDEX is set");
			if (o->world == 0)
				return wn_stage_error(st, WN_EUSAGE, NULL, 0,
				                      "--rank auto with JOB_COMPLETION_INDEX needs "
				                      "--world-size (the Job's completions)");
			*world = o->world;
		}
	} else {
		if (parse_count(o->rank, rank) < 0)
			return wn_stage_error(st, WN_EUSAGE, NULL, 0,
			                      "--rank: '%s' is not a number or auto", o->rank);
		if (o->world == 0)
			return wn_stage_error(st, WN_EUSAGE, NULL, 0,
			                      "--rank needs --world-size (1 or more)");
		*world = o->world;
	}
	if (*rank >= *world)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "rank %" PRIu64 " is out of range: --world-size %" PRIu64
		                      " has ranks 0 to %" PRIu64, *rank, *world, *world - 1);
	return WN_OK;
}

static int read_init(struct wn_stage *st)
{
	struct read_opts *o = st->opts;
	struct read_state *r = calloc(1, sizeof(*r));
	if (!r)
		return WN_ENOMEM;
	st->state = r;
	r->rejects_fd = -1;
	wn_buf_init(&r->scratch, WN_BUF_UNLIMITED);
	if (o->max_record == 0)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0, "--max-record-size must be positive");
	if (o->rejects && o->on_error != ON_ERROR_SKIP)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--rejects needs --on-error=skip (bad records stop the run otherwise)");
	uint64_t rank = 0, world = 0;
	WN_TRY(resolve_rank(st, &rank, &world));
	WN_TRY(wn_paths_expand(st->files, st->nfiles, &r->paths, &r->npaths, &st->run->err));
	if (world > 0) {
		WN_TRY(wn_split_plan(r->paths, r->npaths, rank, world, &r->parts, &r->nparts,
		                     &st->run->err));
	} else {
		r->parts = malloc((r->npaths ? r->npaths : 1) * sizeof(*r->parts));
		if (!r->parts)
			return WN_ENOMEM;
		for (size_t i = 0; i < r->npaths; i++)
			r->parts[i] = (struct wn_split_part){ i, 0, 0 };
		r->nparts = r->npaths;
	}
	if (o->rejects) {
		r->rejects_fd = open(o->rejects, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (r->rejects_fd < 0)
			return wn_error_errno(&st->run->err, errno, o->rejects, "cannot create");
	}
	return WN_OK;
}

/* Keep a bad record: its origin, the reason, and its text, so nothing is
 * lost silently.  Text that is not UTF-8 is kept as base64. */
static int write_reject(struct wn_stage *st, struct wn_reader *rd, uint64_t line,
                        const char *reason)
{
	struct read_state *r = st->state;
	if (r->rejects_fd < 0)
		return WN_OK;
	const char *raw;
	size_t n;
	wn_reader_raw(rd, &raw, &n);
	json_t *o = json_object();
	json_object_set_new(o, "file", json_string(wn_reader_name(rd)));
	json_object_set_new(o, "line", json_integer((json_int_t)line));
	json_object_set_new(o, "error", json_string(reason));
	while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
		n--;
	if (wn_utf8_valid_prefix(raw, n) == n) {
		json_object_set_new(o, "raw", json_stringn(raw, n));
	} else {
		static const char b64[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		struct wn_buf e = WN_BUF_INIT;
		for (size_t i = 0; i < n; i += 3) {
			uint32_t v = (uint32_t)(unsigned char)raw[i] << 16;
			if (i + 1 < n)
				v |= (uint32_t)(unsigned char)raw[i + 1] << 8;
			if (i + 2 < n)
				v |= (unsigned char)raw[i + 2];
			char q[4] = { b64[v >> 18], b64[(v >> 12) & 63],
			              i + 1 < n ? b64[(v >> 6) & 63] : '=',
			              i + 2 < n ? b64[v & 63] : '=' };
			wn_buf_add(&e, q, 4);
		}
		json_object_set_new(o, "raw_base64", json_stringn(e.data ? e.data : "", e.len));
		wn_buf_release(&e);
	}
	wn_buf_reset(&r->scratch);
	char *text = json_dumps(o, JSON_COMPACT | JSON_ALLOW_NUL);
	json_decref(o);
	if (!text)
		return WN_ENOMEM;
	int s = wn_buf_adds(&r->scratch, text);
	free(text);
	if (s >= 0)
		s = wn_buf_addc(&r->scratch, '\n');
	if (s >= 0)
		s = wn_write_all(r->rejects_fd, r->scratch.data, r->scratch.len,
		                 st->opts ? ((struct read_opts *)st->opts)->rejects : "rejects",
		                 &st->run->err);
	return s == WN_EPIPE ? WN_EIO : s;
}

static const char *drop_reason(int status, enum wn_format f)
{
	if (status == WN_ETOOBIG)
		return "too_large";
	return f == WN_FORMAT_JSONL ? "invalid_json" : "invalid_row";
}

static uint64_t file_size(const char *path)
{
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	return (uint64_t)sb.st_size;
}

/* The bytes of a part, for progress. */
static uint64_t part_size(const struct read_state *r, const struct wn_split_part *p)
{
	uint64_t size = file_size(r->paths[p->input]);
	uint64_t end = p->end && p->end < size ? p->end : size;
	return end > p->start ? end - p->start : 0;
}

static int read_file(struct wn_stage *st, const struct wn_split_part *part,
                     struct wn_emitter *out, uint64_t done_before, uint64_t total)
{
	struct read_opts *o = st->opts;
	struct read_state *r = st->state;
	const char *path = r->paths[part->input];
	struct wn_run *run = st->run;
	struct wn_reader_opts ro = {
		.format = (enum wn_format)o->format,
		.delimiter = o->delimiter,
		.no_header = o->no_header,
		.max_record = (size_t)o->max_record,
	};
	struct wn_reader *rd;
	struct wn_error e;
	wn_error_clear(&e);
	int s = wn_reader_open_range(&rd, path, &ro, part->start, part->end, &e);
	if (s < 0)
		return wn_stage_error(st, s, NULL, 0, "%s", e.msg);
	int jsonl = wn_reader_format(rd) == WN_FORMAT_JSONL;
	/* A rank that starts inside a file numbers its rows on from the rows
	 * before, so ids are those of an unsplit read. */
	uint64_t index = wn_reader_records_before(rd);
	for (;;) {
		const char *p;
		size_t n;
		uint64_t line = 0;
		wn_error_clear(&e);
		s = wn_reader_next(rd, &p, &n, &line, &e);
		if (s == 0)
			break;
		if (s < 0) {
			index++;
			int bad = s == WN_EDATA || s == WN_ETOOBIG;
			if (!bad || o->on_error != ON_ERROR_SKIP) {
				wn_stage_error(st, s, NULL, 0, "%s", e.msg);
				break;
			}
			st->stats.records_in++;
			wn_stats_drop(&st->stats, drop_reason(s, wn_reader_format(rd)));
			r->skipped++;
			s = write_reject(st, rd, line ? line : 1, e.msg);
			if (s < 0) {
				if (run->err.status >= 0)
					wn_stage_error(st, s, NULL, 0, "%s", wn_strerror(s));
				run->err_stage = st;
				break;
			}
			if (!wn_reader_recoverable(rd))
				break;
			continue;
		}
		st->stats.records_in++;
		st->stats.bytes_in += n + 1;
		struct wn_record *rec = wn_record_new();
		if (!rec || wn_record_set_raw(rec, p, n) < 0) {
			wn_record_free(rec);
			s = wn_stage_error(st, WN_ENOMEM, NULL, 0, "out of memory");
			break;
		}
		rec->file = path;
		rec->line = line;
		/* datatrove numbers JSONL documents by line and CSV rows by row,
		 * both from 0 */
		uint64_t idx = jsonl ? line - 1 : index;
		index++;
		if (o->add_id) {
			struct wn_json_value v;
			s = wn_record_get(rec, st->id_field, &v);
			if (s == 0) {
				char id[4096];
				int len = snprintf(id, sizeof(id), "%s/%" PRIu64,
				                   strcmp(path, "-") == 0 ? "stdin" : path, idx);
				if (len < 0 || (size_t)len >= sizeof(id))
					len = (int)sizeof(id) - 1;
				s = wn_record_append_string(rec, st->id_field, id, (size_t)len);
			}
			if (s < 0) {
				wn_record_free(rec);
				wn_stage_error(st, s, path, line, "cannot add id: %s", wn_strerror(s));
				break;
			}
		}
		s = wn_emit(out, rec);
		if (s != WN_OK)
			break;
		if (run->hooks.progress && (st->stats.records_in & 1023) == 0) {
			uint64_t c = wn_input_consumed(wn_reader_input(rd));
			c = c > part->start ? c - part->start : 0;
			run->hooks.progress(run->hooks.ud, st, st->stats.records_in,
			                    done_before + c, total);
		}
	}
	wn_reader_close(rd);
	return s;
}

static int read_produce(struct wn_stage *st, struct wn_emitter *out)
{
	struct read_state *r = st->state;
	struct read_opts *o = st->opts;
	struct wn_run *run = st->run;
	uint64_t total = 0, done = 0;
	for (size_t i = 0; i < r->nparts; i++)
		total += part_size(r, &r->parts[i]);
	int s = WN_OK;
	for (size_t i = 0; i < r->nparts && s == WN_OK; i++) {
		s = read_file(st, &r->parts[i], out, done, total);
		done += part_size(r, &r->parts[i]);
	}
	if (run->hooks.progress)
		run->hooks.progress(run->hooks.ud, st, st->stats.records_in, done, total);
	if (r->skipped)
		wn_run_message(run, st, "skipped %" PRIu64 " bad record%s%s%s", r->skipped,
		               r->skipped == 1 ? "" : "s", o->rejects ? ", kept in " : "",
		               o->rejects ? o->rejects : "");
	return s == WN_DONE ? WN_OK : s;
}

static void read_release(struct wn_stage *st)
{
	struct read_state *r = st->state;
	if (!r)
		return;
	wn_paths_free(r->paths, r->npaths);
	free(r->parts);
	if (r->rejects_fd >= 0)
		close(r->rejects_fd);
	wn_buf_release(&r->scratch);
	free(r);
	st->state = NULL;
}

const struct wn_stage_type wn_stage_read = {
	.name = "read",
	.summary = "read JSONL, CSV or TSV files (plain, .zst, .gz) as JSONL records",
	.usage = "read [options] [FILE|DIR|-]...",
	.description =
		"Reads each FILE (a directory: every file below it, in sorted order; '-' or\n"
		"nothing: standard input) and writes one JSON object per line. Compression\n"
		"(zstd, gzip) is recognised by its magic bytes. A CSV or TSV header row gives\n"
		"the keys; values are strings. JSONL lines pass through byte for byte.\n"
		"\n"
		"With --rank R --world-size W, reads only rank R's share: the inputs, laid end\n"
		"to end, are cut into W runs of about equal bytes, at record boundaries (a\n"
		"compressed or small file goes whole to one rank). Ranks 0 to W-1 together\n"
		"read every record once, and their outputs, one after the other, are the\n"
		"output of a read without --rank, with the same line numbers and ids.\n",
	.options = read_options,
	.opts_size = sizeof(struct read_opts),
	.flags = WN_STAGE_SOURCE,
	.init = read_init,
	.produce = read_produce,
	.release = read_release,
};

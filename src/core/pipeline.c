/*
 * pipeline.c - building chains of stages and running them.
 *
 * Records are pushed: the source emits into the first stage, whose
 * process() emits into the next, and so on.  Each hop goes through an
 * emitter that counts records and time for --stats.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "core/registry.h"
#include "winnow/pipeline.h"
#include "winnow/winnow.h"

struct hop {
	struct wn_pipeline *p;
	size_t to; /* index of the receiving stage */
};

struct wn_pipeline {
	struct wn_run *run;
	struct wn_stage *stages;
	size_t n;
	struct wn_emitter *out;   /* out[i]: what stage i emits into */
	struct hop *hops;
	double *inclusive;        /* seconds inside stage i and everything after */
	int *done;                /* stage i answered WN_DONE */
	int *inited;
	const struct wn_stage_type *help;
	char **owned;             /* words read from a pipeline file */
	size_t nowned;
	double seconds;
};

const char *wn_version(void)
{
	return PACKAGE_VERSION;
}

void wn_run_init(struct wn_run *run)
{
	memset(run, 0, sizeof(*run));
	wn_error_clear(&run->err);
}

void wn_run_release(struct wn_run *run)
{
	free(run->pipeline);
	run->pipeline = NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int deliver(struct wn_emitter *out, struct wn_record *rec)
{
	struct hop *h = out->ctx;
	struct wn_pipeline *p = h->p;
	struct wn_stage *st = &p->stages[h->to];
	if (p->done[h->to]) {
		wn_record_free(rec);
		return WN_DONE;
	}
	st->stats.records_in++;
	st->stats.bytes_in += rec->raw.len;
	double t0 = now();
	int s = st->type->process(st, rec, &p->out[h->to]);
	p->inclusive[h->to] += now() - t0;
	if (s == WN_DONE)
		p->done[h->to] = 1;
	if (s < 0 && !p->run->err_stage)
		p->run->err_stage = st;
	return s;
}

/* The end of the chain: only sinks reach it, and they emit nothing. */
static int nowhere(struct wn_emitter *out, struct wn_record *rec)
{
	wn_record_free(rec);
	return WN_OK;
}

static int stage_setup(struct wn_pipeline *p, struct wn_stage *st,
                       const struct wn_stage_type *t, int argc, char **argv, int *used,
                       struct wn_buf *rec)
{
	struct wn_run *run = p->run;
	st->type = t;
	st->run = run;
	st->opts = calloc(1, t->opts_size ? t->opts_size : 1);
	if (!st->opts)
		return WN_ENOMEM;
	WN_TRY(wn_options_parse(t->name, t->options, st->opts, &st->common, argc, argv, used,
	                        &st->files, &st->nfiles, rec, &run->err));
	st->text_field = st->common.text_field;
	st->id_field = st->common.id_field;
	if (st->common.help && !p->help)
		p->help = t;
	return WN_OK;
}

struct segment {
	char **argv;
	int argc;
	const char *file; /* pipeline file and line, for messages */
	uint64_t line;
};

__attribute__((format(printf, 3, 4)))
static int usage_error(struct wn_run *run, const struct segment *seg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int st = wn_error_vset(&run->err, WN_EUSAGE, seg->file, seg->line, fmt, ap);
	va_end(ap);
	return st;
}

/* Put the position of a pipeline-file line in front of a usage message. */
static void locate_error(struct wn_run *run, const struct segment *seg)
{
	if (!seg->file || run->err.status >= 0)
		return;
	char msg[WN_ERROR_MAX];
	snprintf(msg, sizeof(msg), "%s", run->err.msg);
	int status = run->err.status;
	wn_error_clear(&run->err);
	wn_error_set(&run->err, status, seg->file, seg->line, "%s", msg);
}

static int build(struct wn_pipeline *p, struct segment *segs, size_t nsegs)
{
	struct wn_run *run = p->run;
	if (nsegs == 0)
		return wn_error_set(&run->err, WN_EUSAGE, NULL, 0, "empty pipeline");
	/* Room for the user's stages plus an implicit source and sink. */
	size_t cap = nsegs + 2;
	p->stages = calloc(cap, sizeof(*p->stages));
	p->out = calloc(cap, sizeof(*p->out));
	p->hops = calloc(cap, sizeof(*p->hops));
	p->inclusive = calloc(cap, sizeof(*p->inclusive));
	p->done = calloc(cap, sizeof(*p->done));
	p->inited = calloc(cap, sizeof(*p->inited));
	if (!p->stages || !p->out || !p->hops || !p->inclusive || !p->done || !p->inited)
		return WN_ENOMEM;

	const struct wn_stage_type *first = wn_stage_find(segs[0].argv[0]);
	size_t at = 0;
	if (first && !(first->flags & WN_STAGE_SOURCE))
		at = 1; /* stages[0] is filled in below, once the files are known */

	struct wn_buf rec = WN_BUF_INIT;
	int st = WN_OK;
	for (size_t i = 0; i < nsegs && st >= 0; i++) {
		struct segment *seg = &segs[i];
		if (seg->argc == 0) {
			st = usage_error(run, seg, "%s", "'then' must be followed by a stage");
			break;
		}
		const struct wn_stage_type *t = wn_stage_find(seg->argv[0]);
		if (!t) {
			st = usage_error(run, seg, "unknown stage '%s' (see 'winnow help')",
			                 seg->argv[0]);
			break;
		}
		if (i > 0 && (t->flags & WN_STAGE_SOURCE)) {
			st = usage_error(run, seg, "'%s' can only be the first stage", t->name);
			break;
		}
		if (i + 1 < nsegs && (t->flags & WN_STAGE_SINK)) {
			st = usage_error(run, seg, "'%s' must be the last stage", t->name);
			break;
		}
		if (rec.len)
			wn_buf_adds(&rec, " then ");
		wn_buf_adds(&rec, t->name);
		int used = 0;
		st = stage_setup(p, &p->stages[at], t, seg->argc - 1, seg->argv + 1, &used,
		                 &rec);
		locate_error(run, seg);
		if (st < 0)
			break;
		if (i > 0 && p->stages[at].nfiles && !p->help) {
			st = wn_error_set(&run->err, WN_EUSAGE, seg->file, seg->line,
			                  "%s: only the first stage reads files; "
			                  "unexpected argument '%s'",
			                  t->name, p->stages[at].files[0]);
			break;
		}
		at++;
	}
	if (st < 0) {
		wn_buf_release(&rec);
		p->n = at + 1;
		return st;
	}
	run->pipeline = rec.len ? wn_buf_detach(&rec, NULL) : strdup("");
	wn_buf_release(&rec);
	if (!run->pipeline)
		return WN_ENOMEM;

	if (!(p->stages[at - 1].type->flags & WN_STAGE_SINK)) {
		char *none[1] = { NULL };
		int used;
		st = stage_setup(p, &p->stages[at], &wn_stage_write, 0, none, &used, NULL);
		p->stages[at].common = p->stages[at - 1].common;
		at++;
	}
	if (st >= 0 && !(p->stages[0].type)) {
		/* Implicit JSONL reader over the first stage's files. */
		struct wn_stage *user = &p->stages[1];
		char *argv[] = { "--format", "jsonl" };
		int used;
		st = stage_setup(p, &p->stages[0], &wn_stage_read, 2, argv, &used, NULL);
		if (st >= 0) {
			free(p->stages[0].files);
			p->stages[0].files = user->files;
			p->stages[0].nfiles = user->nfiles;
			p->stages[0].common = user->common;
			p->stages[0].text_field = user->text_field;
			p->stages[0].id_field = user->id_field;
			user->files = NULL;
			user->nfiles = 0;
		}
	}
	p->n = at;
	for (size_t i = 0; i < p->n; i++) {
		p->hops[i].p = p;
		p->hops[i].to = i + 1;
		p->out[i].emit = i + 1 < p->n ? deliver : nowhere;
		p->out[i].ctx = &p->hops[i];
		p->stages[i].next = i + 1 < p->n ? &p->stages[i + 1] : NULL;
	}
	return st;
}

static struct wn_pipeline *pipeline_new(struct wn_run *run)
{
	struct wn_pipeline *p = calloc(1, sizeof(*p));
	if (p)
		p->run = run;
	return p;
}

int wn_pipeline_parse(struct wn_pipeline **pp, struct wn_run *run, int argc, char **argv)
{
	*pp = NULL;
	struct wn_pipeline *p = pipeline_new(run);
	struct segment *segs = calloc((size_t)argc + 1, sizeof(*segs));
	if (!p || !segs) {
		free(p);
		free(segs);
		return WN_ENOMEM;
	}
	size_t nsegs = 0;
	/* Option values may be the word "then" ("--split then" is odd but
	 * legal): the option parser decides where a stage really ends, so
	 * segments are re-cut from what each stage consumed. */
	nsegs = 0;
	for (int i = 0; i < argc;) {
		segs[nsegs].argv = argv + i;
		const struct wn_stage_type *t = wn_stage_find(argv[i]);
		int end = i + 1;
		if (t) {
			void *scratch = calloc(1, t->opts_size ? t->opts_size : 1);
			struct wn_common_opts common;
			char **pos = NULL;
			size_t npos;
			int used = 0;
			struct wn_error ignore;
			wn_error_clear(&ignore);
			memset(&common, 0, sizeof(common));
			if (scratch && wn_options_parse(t->name, t->options, scratch, &common,
			                                argc - i - 1, argv + i + 1, &used, &pos,
			                                &npos, NULL, &ignore) >= 0)
				end = i + 1 + used;
			else
				while (end < argc && strcmp(argv[end], "then") != 0)
					end++;
			free(pos);
			free(scratch);
		} else {
			while (end < argc && strcmp(argv[end], "then") != 0)
				end++;
		}
		segs[nsegs].argc = end - i;
		nsegs++;
		i = end;
		if (i < argc) {
			i++; /* the "then" */
			if (i == argc) {
				segs[nsegs].argv = argv + i;
				segs[nsegs].argc = 0;
				nsegs++;
			}
		}
	}
	int st = build(p, segs, nsegs);
	free(segs);
	*pp = p;
	return st;
}

/* Split one logical line of a pipeline file into words. */
static int split_words(struct wn_pipeline *p, const char *path, uint64_t lineno,
                       const char *s, size_t n, struct segment *seg)
{
	struct wn_run *run = p->run;
	char **words = NULL;
	size_t nwords = 0;
	struct wn_buf w = WN_BUF_INIT;
	size_t i = 0;
	int st = WN_OK;
	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i >= n || s[i] == '#')
			break;
		wn_buf_reset(&w);
		wn_buf_add(&w, "", 0);
		while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
			char c = s[i++];
			if (c == '\'') {
				const char *q = memchr(s + i, '\'', n - i);
				if (!q) {
					st = wn_error_set(&run->err, WN_EUSAGE, path, lineno,
					                  "unterminated single quote");
					goto out;
				}
				wn_buf_add(&w, s + i, (size_t)(q - (s + i)));
				i = (size_t)(q - s) + 1;
			} else if (c == '"') {
				while (i < n && s[i] != '"') {
					if (s[i] == '\\' && i + 1 < n && strchr("\"\\$`", s[i + 1]))
						i++;
					wn_buf_addc(&w, s[i++]);
				}
				if (i >= n) {
					st = wn_error_set(&run->err, WN_EUSAGE, path, lineno,
					                  "unterminated double quote");
					goto out;
				}
				i++;
			} else if (c == '\\' && i < n) {
				wn_buf_addc(&w, s[i++]);
			} else {
				wn_buf_addc(&w, c);
			}
		}
		char **grown = realloc(words, (nwords + 2) * sizeof(*words));
		char **owned = realloc(p->owned, (p->nowned + 1) * sizeof(*p->owned));
		if (owned)
			p->owned = owned;
		if (!grown || !owned) {
			free(grown ? grown : words);
			words = NULL;
			st = WN_ENOMEM;
			goto out;
		}
		words = grown;
		words[nwords] = wn_buf_detach(&w, NULL);
		if (!words[nwords]) {
			st = WN_ENOMEM;
			goto out;
		}
		p->owned[p->nowned++] = words[nwords];
		nwords++;
	}
out:
	wn_buf_release(&w);
	if (st < 0) {
		free(words);
		return st;
	}
	seg->argv = words;
	seg->argc = (int)nwords;
	seg->file = path;
	seg->line = lineno;
	return WN_OK;
}

int wn_pipeline_load(struct wn_pipeline **pp, struct wn_run *run, const char *path)
{
	*pp = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return wn_error_errno(&run->err, errno, path, "cannot open pipeline file");
	struct wn_pipeline *p = pipeline_new(run);
	if (!p) {
		fclose(f);
		return WN_ENOMEM;
	}
	*pp = p;
	struct segment *segs = NULL;
	size_t nsegs = 0;
	struct wn_buf logical = WN_BUF_INIT;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t lineno = 0, start = 0;
	int st = WN_OK;
	for (;;) {
		len = getline(&line, &cap, f);
		if (len < 0)
			break;
		lineno++;
		if (!logical.len)
			start = lineno;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len > 0 && line[len - 1] == '\\') {
			wn_buf_add(&logical, line, (size_t)len - 1);
			wn_buf_addc(&logical, ' ');
			continue;
		}
		wn_buf_add(&logical, line, (size_t)len);
		struct segment seg;
		st = split_words(p, path, start, logical.data, logical.len, &seg);
		wn_buf_reset(&logical);
		if (st < 0)
			break;
		if (seg.argc == 0) {
			free(seg.argv);
			continue;
		}
		struct segment *grown = realloc(segs, (nsegs + 1) * sizeof(*segs));
		if (!grown) {
			free(seg.argv);
			st = WN_ENOMEM;
			break;
		}
		segs = grown;
		segs[nsegs++] = seg;
	}
	if (st >= 0 && ferror(f))
		st = wn_error_errno(&run->err, errno, path, "read error");
	fclose(f);
	free(line);
	wn_buf_release(&logical);
	if (st >= 0 && nsegs == 0)
		st = wn_error_set(&run->err, WN_EUSAGE, path, 0, "no stages in pipeline file");
	if (st >= 0)
		st = build(p, segs, nsegs);
	/* The stages keep pointers to the words (in p->owned), not to the
	 * per-line arrays. */
	for (size_t i = 0; i < nsegs; i++)
		free(segs[i].argv);
	free(segs);
	return st;
}

const struct wn_stage_type *wn_pipeline_help(const struct wn_pipeline *p)
{
	return p ? p->help : NULL;
}

void wn_pipeline_settings(struct wn_pipeline *p)
{
	struct wn_run *run = p->run;
	for (size_t i = 0; i < p->n; i++) {
		struct wn_common_opts *c = &p->stages[i].common;
		if (c->threads && !run->threads)
			run->threads = (unsigned)(c->threads > 1024 ? 1024 : c->threads);
		if (c->quiet)
			run->quiet = 1;
		if (c->stats && !run->stats_path)
			run->stats_path = c->stats;
	}
	if (!run->threads) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		run->threads = cores > 0 ? (unsigned)cores : 1;
	}
}

int wn_pipeline_run(struct wn_pipeline *p)
{
	struct wn_run *run = p->run;
	double t0 = now();
	int st = WN_OK;
	for (size_t i = 0; i < p->n && st >= 0; i++) {
		struct wn_stage *s = &p->stages[i];
		/* release() is owed from here on, whatever init() returns. */
		p->inited[i] = 1;
		if (s->type->init) {
			st = s->type->init(s);
			if (st < 0 && !run->err_stage)
				run->err_stage = s;
		}
	}
	if (st >= 0) {
		struct wn_stage *src = &p->stages[0];
		st = src->type->produce(src, &p->out[0]);
		if (st < 0 && !run->err_stage)
			run->err_stage = src;
		p->inclusive[0] = now() - t0;
	}
	/* finish() runs in order, even after WN_DONE: a stage that stopped
	 * early still owes its buffered output. */
	for (size_t i = 0; i < p->n && st >= 0; i++) {
		struct wn_stage *s = &p->stages[i];
		if (!s->type->finish)
			continue;
		double f0 = now();
		st = s->type->finish(s, &p->out[i]);
		p->inclusive[i] += now() - f0;
		if (st == WN_DONE)
			st = WN_OK;
		if (st < 0 && !run->err_stage)
			run->err_stage = s;
	}
	if (st == WN_DONE)
		st = WN_OK;
	p->seconds = now() - t0;
	for (size_t i = 0; i < p->n; i++) {
		struct wn_stage_stats *s = &p->stages[i].stats;
		double after = i + 1 < p->n ? p->inclusive[i + 1] : 0;
		s->seconds = p->inclusive[i] > after ? p->inclusive[i] - after : 0;
		s->records_out = i + 1 < p->n ? p->stages[i + 1].stats.records_in
		                              : s->records_in - s->dropped;
		s->bytes_out = i + 1 < p->n ? p->stages[i + 1].stats.bytes_in : s->bytes_out;
	}
	return st;
}

int wn_pipeline_stats(const struct wn_pipeline *p, struct wn_buf *out)
{
	json_t *root = json_object();
	json_t *stages = json_array();
	json_object_set_new(root, "pipeline", json_string(p->run->pipeline ? p->run->pipeline : ""));
	json_object_set_new(root, "seconds", json_real(p->seconds));
	json_object_set_new(root, "threads", json_integer(p->run->threads));
	for (size_t i = 0; i < p->n; i++) {
		const struct wn_stage *s = &p->stages[i];
		const struct wn_stage_stats *c = &s->stats;
		json_t *o = json_object();
		json_object_set_new(o, "stage", json_string(s->type->name));
		json_object_set_new(o, "records_in", json_integer((json_int_t)c->records_in));
		json_object_set_new(o, "records_out", json_integer((json_int_t)c->records_out));
		json_object_set_new(o, "dropped", json_integer((json_int_t)c->dropped));
		json_t *why = json_object();
		for (size_t r = 0; r < c->nreasons; r++)
			json_object_set_new(why, c->reasons[r],
			                    json_integer((json_int_t)c->reason_count[r]));
		json_object_set_new(o, "dropped_by_reason", why);
		json_object_set_new(o, "bytes_in", json_integer((json_int_t)c->bytes_in));
		json_object_set_new(o, "bytes_out", json_integer((json_int_t)c->bytes_out));
		json_object_set_new(o, "seconds", json_real(c->seconds));
		if (c->extra)
			json_object_update_missing(o, c->extra);
		json_array_append_new(stages, o);
	}
	json_object_set_new(root, "stages", stages);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (!text)
		return WN_ENOMEM;
	int st = wn_buf_adds(out, text);
	if (st >= 0)
		st = wn_buf_addc(out, '\n');
	free(text);
	return st;
}

void wn_pipeline_free(struct wn_pipeline *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct wn_stage *s = &p->stages[i];
		if (s->type && s->type->release && p->inited && p->inited[i])
			s->type->release(s);
		free(s->opts);
		free(s->files);
	}
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->stages);
	free(p->out);
	free(p->hops);
	free(p->inclusive);
	free(p->done);
	free(p->inited);
	free(p);
}

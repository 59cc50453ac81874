/*
 * pipeline.h - chains of stages, from the command line or a pipeline file.
 *
 *   winnow read a.csv then shard -o out          (argv form)
 *   winnow run job.wn                           (one stage per line)
 *
 * Both forms become the same list of stages.  When the first stage is not
 * a source, an implicit JSONL reader over that stage's FILE arguments (or
 * standard input) is put in front; when the last stage is not a sink, an
 * implicit JSONL writer to standard output is put behind.
 */
#ifndef WINNOW_PIPELINE_H
#define WINNOW_PIPELINE_H

#include "winnow/buf.h"
#include "winnow/stage.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wn_pipeline;

/* Prepare a run context: no error, threads = number of cores. */
void wn_run_init(struct wn_run *run);
void wn_run_release(struct wn_run *run);

/*
 * Build a pipeline from words: argv[0] is the first stage name, stages are
 * separated by the word "then".  The words must outlive the pipeline.
 * Usage errors (unknown stage, bad option) are WN_EUSAGE in run->err.
 */
int wn_pipeline_parse(struct wn_pipeline **p, struct wn_run *run, int argc,
                      char **argv);

/*
 * Build a pipeline from a file: one stage per line, in the same words as
 * the command line (shell-like quoting with '...' and "...", a backslash at
 * the end of a line continues it, '#' starts a comment, blank lines are
 * ignored).  Errors name the file and line.
 */
int wn_pipeline_load(struct wn_pipeline **p, struct wn_run *run,
                     const char *path);

/* The stage type whose --help was asked for, or NULL. */
const struct wn_stage_type *wn_pipeline_help(const struct wn_pipeline *p);

/* Apply run-wide settings the stages were given (--threads, --quiet,
 * --stats); settings already in run (from `winnow run` options) win. */
void wn_pipeline_settings(struct wn_pipeline *p);

/* Run to the end.  Returns WN_OK, or the first error (in run->err, with
 * run->err_stage naming the stage).  WN_EPIPE means the reader of standard
 * output went away, a normal end. */
int wn_pipeline_run(struct wn_pipeline *p);

/* The --stats JSON summary of a finished run. */
int wn_pipeline_stats(const struct wn_pipeline *p, struct wn_buf *out);

void wn_pipeline_free(struct wn_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif

/*
 * stage.h - the stage interface, declarative options, and the run context.
 *
 * A stage type is a const descriptor (struct wn_stage_type): a name, a
 * summary, a usage line, an option table, and callbacks.  The option table
 * drives argument parsing, -h/--help, and pipeline files alike.
 *
 * Life of a stage: options parsed into a zeroed options struct (defaults
 * first), init(), then process() once per record, finish() once at the end
 * of the stream, release() always (also after a failure).
 *
 * process() consumes its record: it passes it on with wn_emit() or frees it.
 * It returns WN_OK, WN_DONE (wants no more input), or a negative status after
 * recording the error in st->run->err.  Stages never print and never exit.
 */
#ifndef WINNOW_STAGE_H
#define WINNOW_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"
#include "winnow/record.h"
#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- options ---------------------------------------------------------- */

enum wn_opt_type {
	WN_OPT_END = 0,  /* terminates a table */
	WN_OPT_FLAG,     /* int, set to 1 */
	WN_OPT_STRING,   /* const char *; stays valid for the run */
	WN_OPT_UINT,     /* uint64_t */
	WN_OPT_SIZE,     /* uint64_t, with units: 64MiB, 1G, 500MB */
	WN_OPT_DOUBLE,   /* double */
	WN_OPT_CHOICE,   /* int: index into the '|'-separated choices */
	WN_OPT_CHAR,     /* char: one byte, or \t, tab, comma, ... */
	WN_OPT_LIST,     /* struct wn_opt_list: repeatable, values in order */
};

/* The values of a repeatable option (WN_OPT_LIST), borrowed like
 * WN_OPT_STRING values; more than WN_OPT_LIST_MAX is a usage error. */
#define WN_OPT_LIST_MAX 16
struct wn_opt_list {
	const char *v[WN_OPT_LIST_MAX];
	size_t n;
};

enum wn_opt_flags {
	/* Not part of the recorded pipeline: where output goes, how fast, how
	 * chatty.  The dataset a run makes does not depend on these. */
	WN_OPTF_UNRECORDED = 1u << 0,
};

struct wn_option {
	const char *name;     /* long name, without the dashes */
	char short_name;      /* or 0 */
	enum wn_opt_type type;
	size_t offset;        /* into the stage's options struct */
	const char *arg;      /* metavariable in help: "SIZE" */
	const char *def;      /* default, as text; NULL = zero / none */
	const char *choices;  /* WN_OPT_CHOICE: "stop|skip" */
	const char *help;
	unsigned flags;
};

/* ---- run context -------------------------------------------------------- */

struct wn_stage;

/* Per-stage counters, reported by --stats. */
#define WN_STATS_MAX_REASONS 64
struct wn_stage_stats {
	uint64_t records_in, records_out;
	uint64_t bytes_in, bytes_out;
	uint64_t dropped;
	double seconds;        /* time spent in this stage alone */
	/* drop reasons: parallel arrays, reasons are static strings; room
	 * for every rule of the filter stage, after which further reasons
	 * are counted together as "other" */
	const char *reasons[WN_STATS_MAX_REASONS];
	uint64_t reason_count[WN_STATS_MAX_REASONS];
	size_t nreasons;
	/* Members a stage adds to its --stats object (a JSON object, or
	 * NULL); the stage owns it and frees it in release(). */
	struct json_t *extra;
};

/* Count a dropped record under a reason ("invalid_json", ...). */
void wn_stats_drop(struct wn_stage_stats *s, const char *reason);

struct wn_run;

/* Hooks through which the library reports to the program; any may be NULL. */
struct wn_run_hooks {
	/* A warning or note that is not an error ("skipped 3 bad records"). */
	void (*message)(void *ud, const struct wn_stage *st, const char *msg);
	/* Called often during long work; the program decides whether and
	 * how to show progress.  done/total are input bytes (total 0 when
	 * unknown), records the records read so far. */
	void (*progress)(void *ud, const struct wn_stage *st, uint64_t records,
	                 uint64_t done, uint64_t total);
	void *ud;
};

struct wn_run {
	struct wn_error err;
	const struct wn_stage *err_stage; /* which stage failed, if any */
	unsigned threads;                 /* worker threads, >= 1 */
	int quiet;
	const char *stats_path;           /* --stats FILE */
	char *pipeline;                   /* the recorded pipeline text */
	struct wn_run_hooks hooks;
};

/* Report a non-fatal message through the run's hooks. */
void wn_run_message(struct wn_run *run, const struct wn_stage *st,
                    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- stages ------------------------------------------------------------- */

enum wn_stage_flags {
	WN_STAGE_SOURCE = 1u << 0,   /* produces records from files (read) */
	WN_STAGE_SINK = 1u << 1,     /* consumes records, emits none (shard) */
	WN_STAGE_PARALLEL = 1u << 2, /* pure per-record: may run on batches
	                                in worker threads */
	WN_STAGE_NOINPUT = 1u << 3,  /* a command, not a stream stage
	                                (verify): cannot be chained */
};

/* Where a stage sends records: the next stage, or a collector. */
struct wn_emitter {
	int (*emit)(struct wn_emitter *out, struct wn_record *rec);
	void *ctx;
};

/* Pass a record on; consumes it.  Returns the downstream status. */
static inline int wn_emit(struct wn_emitter *out, struct wn_record *rec)
{
	return out->emit(out, rec);
}

struct wn_stage_type {
	const char *name;
	const char *summary;            /* one line, for `winnow help` */
	const char *usage;              /* "shard -o DIR [options] [FILE|-]..." */
	const char *description;        /* paragraphs for --help; may be NULL */
	const struct wn_option *options;
	size_t opts_size;               /* sizeof the options struct */
	unsigned flags;

	int (*init)(struct wn_stage *st);
	int (*process)(struct wn_stage *st, struct wn_record *rec,
	               struct wn_emitter *out);
	int (*finish)(struct wn_stage *st, struct wn_emitter *out);
	void (*release)(struct wn_stage *st);
	/* Sources: read all input and emit it.  Returns WN_OK at the end of
	 * input, or when downstream answered WN_DONE. */
	int (*produce)(struct wn_stage *st, struct wn_emitter *out);
};

/* Options every stage accepts (wn_common_options). */
struct wn_common_opts {
	const char *text_field; /* --text-field, default "text" */
	const char *id_field;   /* --id-field, default "id" */
	uint64_t threads;       /* --threads, default: the number of cores */
	int quiet;              /* -q, --quiet */
	const char *stats;      /* --stats FILE */
	int help;               /* -h, --help */
};

struct wn_stage {
	const struct wn_stage_type *type;
	void *opts;             /* filled from the option table */
	void *state;            /* private to the stage */
	struct wn_run *run;
	char **files;           /* positional arguments */
	size_t nfiles;
	const char *text_field; /* --text-field, default "text" */
	const char *id_field;   /* --id-field, default "id" */
	struct wn_common_opts common;
	struct wn_stage_stats stats;
	/* The stage records go to next (NULL for the last), set when the
	 * pipeline is built. */
	struct wn_stage *next;
	/* A hint set by a stage's init() when it reads the token ids of
	 * records (wn_record_get_ids()) rather than their bytes, as binary
	 * token shards do: the stage before it need not prepare JSON text
	 * ahead (the bytes are still made on demand). */
	int ids_only;
};

/* Record an error for this stage and return its status. */
int wn_stage_error(struct wn_stage *st, int status, const char *file,
                   uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The registry of stage types, in the order `winnow help` lists them. */
const struct wn_stage_type *wn_stage_find(const char *name);
const struct wn_stage_type *const *wn_stage_types(size_t *n);

/* Options every stage accepts, after its own; offsets are into struct
 * wn_common_opts. */
extern const struct wn_option wn_common_options[];

/*
 * Parse options for one command from argv[0..argc) into the struct opts
 * (described by table) and, when common is not NULL, into *common (described
 * by wn_common_options).  Defaults are applied first.  Parsing stops at a
 * "then" token that is not an option value; *used receives the number of
 * arguments consumed (not counting that "then").  Positional arguments are
 * collected in order into a malloc'ed *pos (free with free(); the strings are
 * borrowed from argv).  The recorded text (arguments minus the options marked
 * WN_OPTF_UNRECORDED) is appended to rec when rec is not NULL.  Errors are
 * WN_EUSAGE with a message naming the option, recorded in err under the
 * command name `cmd`.
 */
int wn_options_parse(const char *cmd, const struct wn_option *table, void *opts,
                     struct wn_common_opts *common, int argc, char **argv,
                     int *used, char ***pos, size_t *npos, struct wn_buf *rec,
                     struct wn_error *err);

/* Write "usage: ...", the summary, description and option list. */
int wn_options_help(const char *usage, const char *summary,
                    const char *description, const struct wn_option *table,
                    int with_common, struct wn_buf *out);

/* Parse "256MiB", "1G", "500MB", "4096": binary units (KiB MiB GiB TiB, and
 * K M G T as their binary shorthands), decimal (kB MB GB TB), plain bytes. */
int wn_parse_size(const char *s, uint64_t *out);

/* Write the --help text of a stage type into out. */
int wn_stage_help(const struct wn_stage_type *t, struct wn_buf *out);

#ifdef __cplusplus
}
#endif
#endif

/*
 * main.c - the winnow program: parses arguments, prints, and exits.
 * Everything else is in libwinnow.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "winnow/winnow.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_verify(int argc, char **argv);
static int cmd_dedup_index(int argc, char **argv);
int cmd_merge(int argc, char **argv); /* merge.c */
int cmd_stats(int argc, char **argv); /* stats.c */

static const struct command commands[] = {
	{ "run", cmd_run, "run a pipeline file: one stage per line" },
	{ "verify", cmd_verify, "check a dataset's shards against its manifest" },
	{ "stats", cmd_stats, "count records, words and tokens; length histograms; fields" },
	{ "dedup-index", cmd_dedup_index, "merge or describe indexes saved by dedup --index" },
	{ "merge", cmd_merge, "join the datasets of separate ranks into one" },
	{ "help", cmd_help, "show help for winnow or a command" },
	{ "version", cmd_version, "show the version" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- output ------------------------------------------------------------ */

static int stderr_tty;

/* Progress is drawn on one stderr line that later messages overwrite. */
static int progress_shown;

static void progress_clear(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
}

static void on_message(void *ud, const struct wn_stage *st, const char *msg)
{
	const struct wn_run *run = ud;
	if (run->quiet)
		return;
	progress_clear();
	fprintf(stderr, "winnow: %s%s%s\n", st ? st->type->name : "", st ? ": " : "", msg);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double progress_start, progress_last;

static void on_progress(void *ud, const struct wn_stage *st, uint64_t records, uint64_t done,
                        uint64_t total)
{
	const struct wn_run *run = ud;
	if (run->quiet || !stderr_tty)
		return;
	double t = mono();
	if (progress_start == 0)
		progress_start = t;
	if (t - progress_last < 0.25)
		return;
	progress_last = t;
	double secs = t - progress_start;
	double rate = secs > 0 ? (double)done / secs : 0;
	fprintf(stderr, "\r\033[Kwinnow: %s: %" PRIu64 " records, %.1f MB, %.1f MB/s",
	        st->type->name, records, (double)done / 1e6, rate / 1e6);
	if (total > done && rate > 0) {
		uint64_t eta = (uint64_t)((double)(total - done) / rate);
		fprintf(stderr, ", %.0f%%, ETA %" PRIu64 ":%02" PRIu64, 100.0 * (double)done / (double)total,
		        eta / 60, eta % 60);
	}
	progress_shown = 1;
}

/* cmd names the command for errors outside any stage; NULL when the
 * message already names what failed (option errors do). */
static int report_error(const struct wn_run *run, const char *cmd, int status)
{
	progress_clear();
	const char *who = run->err_stage ? run->err_stage->type->name : cmd;
	const char *msg = run->err.status < 0 ? run->err.msg : wn_strerror(status);
	if (who)
		fprintf(stderr, "winnow: %s: %s\n", who, msg);
	else
		fprintf(stderr, "winnow: %s\n", msg);
	return wn_status_exit(status);
}

/* Flush stdout and report a failure to write it (ENOSPC on /dev/full), but
 * stay quiet when the reader went away. */
static int finish_stdout(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return code;
		fprintf(stderr, "winnow: write error: %s\n", strerror(errno));
		return code ? code : WN_EXIT_IO;
	}
	return code;
}

static int print_buf(struct wn_buf *b, FILE *f)
{
	if (b->len)
		fwrite(b->data, 1, b->len, f);
	wn_buf_release(b);
	return 0;
}

/* ---- pipelines ------------------------------------------------------------ */

static int write_stats(struct wn_pipeline *p, const char *path)
{
	struct wn_buf b = WN_BUF_INIT;
	int st = wn_pipeline_stats(p, &b);
	FILE *f = st >= 0 ? fopen(path, "w") : NULL;
	if (!f) {
		fprintf(stderr, "winnow: --stats: %s: %s\n", path, strerror(errno));
		wn_buf_release(&b);
		return WN_EXIT_IO;
	}
	fwrite(b.data, 1, b.len, f);
	wn_buf_release(&b);
	if (fclose(f) != 0) {
		fprintf(stderr, "winnow: --stats: %s: %s\n", path, strerror(errno));
		return WN_EXIT_IO;
	}
	return 0;
}

static int run_pipeline(struct wn_run *run, struct wn_pipeline *p, int st, const char *cmd)
{
	const struct wn_stage_type *help = wn_pipeline_help(p);
	if (help) {
		struct wn_buf b = WN_BUF_INIT;
		wn_stage_help(help, &b);
		print_buf(&b, stdout);
		wn_pipeline_free(p);
		return finish_stdout(0);
	}
	if (st < 0) {
		int code = report_error(run, cmd, st);
		wn_pipeline_free(p);
		return code;
	}
	wn_pipeline_settings(p);
	run->hooks.message = on_message;
	run->hooks.progress = on_progress;
	run->hooks.ud = run;
	st = wn_pipeline_run(p);
	progress_clear();
	int code = 0;
	if (st < 0 && st != WN_EPIPE)
		code = report_error(run, cmd, st);
	if (run->stats_path && st != WN_EPIPE) {
		int sc = write_stats(p, run->stats_path);
		code = code ? code : sc;
	}
	wn_pipeline_free(p);
	return code;
}

static int cmd_pipeline(int argc, char **argv)
{
	struct wn_run run;
	wn_run_init(&run);
	struct wn_pipeline *p = NULL;
	int st = wn_pipeline_parse(&p, &run, argc, argv);
	int code = run_pipeline(&run, p, st, NULL);
	wn_run_release(&run);
	return code;
}

struct run_opts {
	uint64_t threads;
	int quiet;
	const char *stats;
	int help;
};

static const struct wn_option run_options[] = {
	{ "threads", 0, WN_OPT_UINT, offsetof(struct run_opts, threads), "N", NULL, NULL,
	  "worker threads (default: the number of cores)", 0 },
	{ "stats", 0, WN_OPT_STRING, offsetof(struct run_opts, stats), "FILE", NULL, NULL,
	  "write a JSON summary of the run to FILE", 0 },
	{ "quiet", 'q', WN_OPT_FLAG, offsetof(struct run_opts, quiet), NULL, NULL, NULL,
	  "no progress or notes on stderr", 0 },
	{ "help", 'h', WN_OPT_FLAG, offsetof(struct run_opts, help), NULL, NULL, NULL,
	  "show this help", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

static const char run_usage[] = "run [options] FILE";
static const char run_summary[] = "run a pipeline file: one stage per line";
static const char run_description[] =
	"FILE holds one stage per line in the words of the command line:\n"
	"\n"
	"    # comments and blank lines are ignored\n"
	"    read data/ --format jsonl\n"
	"    shard -o out --max-size 256MiB\n"
	"\n"
	"is the same as `winnow read data/ --format jsonl then shard -o out --max-size 256MiB`.\n"
	"Quote words with spaces ('a b' or \"a b\"); end a line with \\ to continue it.\n";

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "winnow: %s: %s (see 'winnow %s --help')\n", cmd, msg, cmd);
	return WN_EXIT_USAGE;
}

/* A command with its own option table and one argument (run FILE, verify
 * DIR).  Returns -1 when the caller should go on with *arg, else the exit
 * code (after printing help or a usage error). */
struct simple_command {
	const char *name, *usage, *summary, *description, *argname;
	const struct wn_option *options;
	int *help;
};

static int parse_simple(const struct simple_command *c, void *opts, int argc, char **argv,
                        const char **arg)
{
	struct wn_error err;
	wn_error_clear(&err);
	int used;
	char **pos = NULL;
	size_t npos = 0;
	if (wn_options_parse(c->name, c->options, opts, NULL, argc - 1, argv + 1, &used, &pos,
	                     &npos, NULL, &err) < 0) {
		fprintf(stderr, "winnow: %s\n", err.msg);
		return WN_EXIT_USAGE;
	}
	if (*c->help) {
		free(pos);
		struct wn_buf b = WN_BUF_INIT;
		wn_options_help(c->usage, c->summary, c->description, c->options, 0, &b);
		print_buf(&b, stdout);
		return finish_stdout(0);
	}
	if (used != argc - 1 || npos != 1) {
		free(pos);
		char msg[128];
		snprintf(msg, sizeof(msg), "expected one %s", c->argname);
		return usage_error(c->name, msg);
	}
	*arg = pos[0];
	free(pos);
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	const struct simple_command c = { "run", run_usage, run_summary, run_description,
	                                  "pipeline FILE", run_options, &o.help };
	const char *file;
	int code = parse_simple(&c, &o, argc, argv, &file);
	if (code >= 0)
		return code;
	struct wn_run run;
	wn_run_init(&run);
	run.threads = (unsigned)(o.threads > 1024 ? 1024 : o.threads);
	run.quiet = o.quiet;
	run.stats_path = o.stats;
	struct wn_pipeline *p = NULL;
	int st = wn_pipeline_load(&p, &run, file);
	code = run_pipeline(&run, p, st, "run");
	wn_run_release(&run);
	return code;
}

/* ---- verify -------------------------------------------------------------- */

struct verify_opts {
	int deep;
	int json;
	uint64_t threads;
	int quiet;
	int help;
};

static const struct wn_option verify_options[] = {
	{ "deep", 0, WN_OPT_FLAG, offsetof(struct verify_opts, deep), NULL, NULL, NULL,
	  "also decode every shard and check record counts and content hashes", 0 },
	{ "json", 0, WN_OPT_FLAG, offsetof(struct verify_opts, json), NULL, NULL, NULL,
	  "print a machine-readable report", 0 },
	{ "threads", 0, WN_OPT_UINT, offsetof(struct verify_opts, threads), "N", NULL, NULL,
	  "check this many shards at once (default: the number of cores)", 0 },
	{ "quiet", 'q', WN_OPT_FLAG, offsetof(struct verify_opts, quiet), NULL, NULL, NULL,
	  "print problems only, no summary line", 0 },
	{ "help", 'h', WN_OPT_FLAG, offsetof(struct verify_opts, help), NULL, NULL, NULL,
	  "show this help", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

static const char verify_usage[] = "verify [--deep] [--json] DIR|MANIFEST";
static const char verify_summary[] = "check a dataset's shards against its manifest";
static const char verify_description[] =
	"Re-hashes every shard listed in DIR/manifest.json (size, SHA-256, XXH3-128)\n"
	"and reports each problem on its own line: missing, truncated or changed shards,\n"
	"extra files under data/, an unreadable manifest, paths that leave DIR.\n"
	"Exit status: 0 when everything matches, 1 when a problem was found.\n";

static void verify_print_json(const struct wn_verify_report *rep, int ok)
{
	json_t *o = json_object();
	json_object_set_new(o, "dataset", json_string(rep->dir ? rep->dir : ""));
	json_object_set_new(o, "ok", json_boolean(ok));
	json_object_set_new(o, "shards", json_integer((json_int_t)rep->shards));
	json_object_set_new(o, "bytes", json_integer((json_int_t)rep->bytes));
	json_object_set_new(o, "records", json_integer((json_int_t)rep->records));
	json_t *a = json_array();
	for (size_t i = 0; i < rep->nproblems; i++) {
		const struct wn_verify_problem *pr = &rep->problems[i];
		json_t *e = json_object();
		json_object_set_new(e, "path", json_string(pr->path ? pr->path : ""));
		json_object_set_new(e, "kind", json_string(pr->kind));
		json_object_set_new(e, "detail", json_string(pr->detail ? pr->detail : ""));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "problems", a);
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
}

static int cmd_verify(int argc, char **argv)
{
	struct verify_opts o = { 0 };
	const struct simple_command c = { "verify", verify_usage, verify_summary,
	                                  verify_description, "dataset DIR or MANIFEST",
	                                  verify_options, &o.help };
	const char *target;
	int code = parse_simple(&c, &o, argc, argv, &target);
	if (code >= 0)
		return code;
	struct wn_error err;
	wn_error_clear(&err);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct wn_verify_opts vo = {
		.deep = o.deep,
		.threads = o.threads ? (unsigned)(o.threads > 256 ? 256 : o.threads)
		                     : (unsigned)(cores > 0 ? cores : 1),
	};
	struct wn_verify_report rep;
	memset(&rep, 0, sizeof(rep));
	int st = wn_verify(target, &vo, &rep, &err);
	if (st < 0 && st != WN_EVERIFY) {
		fprintf(stderr, "winnow: verify: %s\n", err.status < 0 ? err.msg : wn_strerror(st));
		code = wn_status_exit(st);
	} else if (o.json) {
		verify_print_json(&rep, st == WN_OK);
		code = st == WN_OK ? 0 : WN_EXIT_DATA;
	} else {
		const char *dir = rep.dir ? rep.dir : ".";
		for (size_t i = 0; i < rep.nproblems; i++) {
			const struct wn_verify_problem *pr = &rep.problems[i];
			/* paths are relative to DIR, except ones the manifest made
			 * absolute, which are shown as they are */
			const char *path = pr->path ? pr->path : "";
			printf("%s%s%s: %s%s%s\n", path[0] == '/' ? "" : dir,
			       path[0] == '/' ? "" : "/", path, pr->kind,
			       pr->detail && *pr->detail ? ": " : "", pr->detail ? pr->detail : "");
		}
		if (!o.quiet) {
			if (st == WN_OK)
				printf("%s: OK: %" PRIu64 " shard%s, %.1f MB%s verified\n", dir,
				       rep.shards, rep.shards == 1 ? "" : "s", (double)rep.bytes / 1e6,
				       o.deep ? " and every record" : "");
			else
				printf("%s: FAILED: %zu problem%s in %" PRIu64 " shard%s\n", dir,
				       rep.nproblems, rep.nproblems == 1 ? "" : "s", rep.shards,
				       rep.shards == 1 ? "" : "s");
		}
		code = st == WN_OK ? 0 : WN_EXIT_DATA;
	}
	wn_verify_report_release(&rep);
	return finish_stdout(code);
}

/* ---- dedup-index ----------------------------------------------------------- */

struct dedup_index_opts {
	const char *output;
	int help;
};

static const struct wn_option dedup_index_options[] = {
	{ "output", 'o', WN_OPT_STRING, offsetof(struct dedup_index_opts, output), "FILE", NULL,
	  NULL, "merge: the index to write (written atomically; may be one of the inputs)", 0 },
	{ "help", 'h', WN_OPT_FLAG, offsetof(struct dedup_index_opts, help), NULL, NULL, NULL,
	  "show this help", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

static const char dedup_index_usage[] = "dedup-index {merge -o FILE | info} INDEX...";
static const char dedup_index_summary[] = "merge or describe indexes saved by dedup --index";
static const char dedup_index_description[] =
	"merge: write one index holding everything the INDEXes hold (made on several\n"
	"machines, or on last month's and this month's data); they must be of one kind\n"
	"and made with the same options. A run with --index on the result deduplicates\n"
	"against all of them.\n"
	"info: print each INDEX's kind, the options it was made with, its entries and\n"
	"its size; the whole file is read and its checksum checked.\n";

static int cmd_dedup_index(int argc, char **argv)
{
	struct dedup_index_opts o = { 0 };
	struct wn_error err;
	wn_error_clear(&err);
	int used;
	char **pos = NULL;
	size_t npos = 0;
	if (wn_options_parse("dedup-index", dedup_index_options, &o, NULL, argc - 1, argv + 1,
	                     &used, &pos, &npos, NULL, &err) < 0) {
		fprintf(stderr, "winnow: %s\n", err.msg);
		return WN_EXIT_USAGE;
	}
	if (o.help) {
		free(pos);
		struct wn_buf b = WN_BUF_INIT;
		wn_options_help(dedup_index_usage, dedup_index_summary, dedup_index_description,
		                dedup_index_options, 0, &b);
		print_buf(&b, stdout);
		return finish_stdout(0);
	}
	const char *sub = npos ? pos[0] : "";
	int merge = strcmp(sub, "merge") == 0, info = strcmp(sub, "info") == 0;
	const char *msg = NULL;
	if (used != argc - 1)
		msg = "'then' does not follow dedup-index";
	else if (!merge && !info)
		msg = "expected 'merge' or 'info'";
	else if (npos < 2)
		msg = "expected at least one INDEX";
	else if (merge && !o.output)
		msg = "merge needs the index to write (-o FILE)";
	else if (info && o.output)
		msg = "info writes no file (no -o)";
	if (msg) {
		free(pos);
		return usage_error("dedup-index", msg);
	}
	int st = WN_OK;
	if (merge) {
		st = wn_dedup_index_merge((const char *const *)pos + 1, npos - 1, o.output, &err);
	} else {
		for (size_t i = 1; i < npos && st >= 0; i++) {
			struct wn_buf b = WN_BUF_INIT;
			st = wn_dedup_index_info(pos[i], &b, &err);
			if (st >= 0) {
				if (i > 1)
					fputc('\n', stdout);
				print_buf(&b, stdout);
			}
			wn_buf_release(&b);
		}
	}
	free(pos);
	if (st < 0) {
		fprintf(stderr, "winnow: dedup-index: %s\n", err.status < 0 ? err.msg : wn_strerror(st));
		return finish_stdout(wn_status_exit(st));
	}
	return finish_stdout(0);
}

/* ---- help, version ------------------------------------------------------- */

static void print_overview(FILE *f)
{
	fprintf(f, "usage: winnow <command> [options] [then <stage> [options]]...\n\n"
	           "Prepare LLM training corpora: read, clean and shard text into\n"
	           "Hub-ready datasets.\n\nstages (chain them with 'then', or with pipes):\n");
	size_t n;
	const struct wn_stage_type *const *types = wn_stage_types(&n);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-10s %s\n", types[i]->name, types[i]->summary);
	fprintf(f, "\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nexamples:\n"
	           "  winnow read data.csv then shard -o out/\n"
	           "  winnow read data.jsonl.zst | winnow shard -o out/ --validation 0.01\n"
	           "  winnow verify out/\n"
	           "\n'winnow help <command>' or 'winnow <command> --help' shows its options.\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_overview(stdout);
		return finish_stdout(0);
	}
	const struct wn_stage_type *t = wn_stage_find(argv[1]);
	if (t) {
		struct wn_buf b = WN_BUF_INIT;
		wn_stage_help(t, &b);
		print_buf(&b, stdout);
		return finish_stdout(0);
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, argv[1]) == 0) {
			if (commands[i].fn == cmd_help || commands[i].fn == cmd_version) {
				printf("usage: winnow %s%s\n\n%s\n", commands[i].name,
				       commands[i].fn == cmd_help ? " [COMMAND]" : "",
				       commands[i].summary);
				return finish_stdout(0);
			}
			char *args[] = { argv[1], "--help", NULL };
			return commands[i].fn(2, args);
		}
	fprintf(stderr, "winnow: help: unknown command '%s' (see 'winnow help')\n", argv[1]);
	return WN_EXIT_USAGE;
}

static int cmd_version(int argc, char **argv)
{
	printf("winnow %s\n", wn_version());
	return finish_stdout(0);
}

int main(int argc, char **argv)
{
	/* A closed pipe downstream shows up as EPIPE from write(), which ends
	 * the run quietly, instead of killing the process. */
	signal(SIGPIPE, SIG_IGN);
#ifdef M_TRIM_THRESHOLD
	/* Batches of records are freed and allocated again at once: returning
	 * the top of the heap to the kernel after each batch (glibc's default,
	 * above 128 KiB) would fault the same pages in again.  Setting this
	 * fixes glibc's mmap threshold too, so it is set to what it would grow
	 * to for a run's large buffers. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
#endif
	stderr_tty = isatty(STDERR_FILENO);
	if (argc < 2) {
		print_overview(stderr);
		return WN_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		return cmd_help(1, argv + 1);
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
		return cmd_version(1, argv + 1);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	if (wn_stage_find(cmd))
		return finish_stdout(cmd_pipeline(argc - 1, argv + 1));
	fprintf(stderr, "winnow: unknown command '%s' (see 'winnow help')\n", cmd);
	return WN_EXIT_USAGE;
}
